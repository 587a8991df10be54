"""Builders of the events Lambda hands our handlers: HTTP API (payload 2.0), WebSocket API,
SQS, EventBridge (as an SQS body) and DynamoDB stream records.

One place for these shapes, used by the local cloud (devtools) and the tests, which product
code never imports; standard library only, so it costs no handler a cold-start import.
``tests/contract/test_lambda_shapes.py`` holds them to the real AWS samples in
``tests/fixtures/events``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
HTTP_API_ID = "local"
WEBSOCKET_API_ID = "localws"
WEBSOCKET_STAGE = "local"
# Content types API Gateway passes as text; any other body arrives base64-encoded.
TEXT_TYPES = (
    "text/",
    "application/json",
    "+json",
    "application/xml",
    "+xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
)
# The attributes Lambda puts in each SQS record (the last three only for FIFO queues).
SQS_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
)


def _request_time(now: datetime) -> str:
    return now.strftime("%d/%b/%Y:%H:%M:%S +0000")


def _is_text(content_type: str, body: bytes) -> bool:
    lowered = content_type.lower()
    if not any(marker in lowered for marker in TEXT_TYPES):
        return False
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def http_api_event(
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    protocol: str = "HTTP/1.1",
    now: datetime | None = None,
    host: str = "127.0.0.1",
    api_id: str = HTTP_API_ID,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event for one request; ``host`` when the
    request names none."""
    now = now or datetime.now(UTC)
    split = urlsplit(target)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        name = name.lower()
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    host = merged.get("host", host)
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", "http")
    merged.setdefault("x-forwarded-port", host.rpartition(":")[2] if ":" in host else "80")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": split.path or "/",
        "rawQueryString": split.query,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "http": {
                "method": method.upper(),
                "path": unquote(split.path or "/"),
                "protocol": protocol,
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": _request_time(now),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if split.query:
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    if body:
        if _is_text(merged.get("content-type", ""), body):
            event["body"] = body.decode()
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def _websocket_context(
    connection_id: str,
    route: str,
    event_type: str,
    domain: str,
    connected_at: int,
    source_ip: str,
    stage: str,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": uuid.uuid4().hex[:16],
        "requestTime": _request_time(now),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at,
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "identity": {"sourceIp": source_ip},
        "requestId": uuid.uuid4().hex[:16],
        "domainName": domain,
        "connectionId": connection_id,
        "apiId": WEBSOCKET_API_ID,
    }


def websocket_connect_event(
    connection_id: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    *,
    domain: str,
    connected_at: int,
    source_ip: str,
    stage: str = WEBSOCKET_STAGE,
) -> dict[str, Any]:
    """The ``$connect`` event of a WebSocket API for an upgrade request to ``target``."""
    split = urlsplit(target)
    merged: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        merged[name] = f"{merged[name]},{value}" if name in merged else value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    event: dict[str, Any] = {
        "headers": merged,
        "multiValueHeaders": multi_headers,
        "requestContext": _websocket_context(
            connection_id, "$connect", "CONNECT", domain, connected_at, source_ip, stage
        ),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = multi_query
    return event


def websocket_message_event(
    connection_id: str,
    route: str,
    body: str,
    *,
    domain: str,
    connected_at: int,
    source_ip: str,
    stage: str = WEBSOCKET_STAGE,
) -> dict[str, Any]:
    """A message frame routed to ``route`` (``$default`` or a route key)."""
    context = _websocket_context(
        connection_id, route, "MESSAGE", domain, connected_at, source_ip, stage
    )
    context["messageId"] = base64.b64encode(os.urandom(8)).decode()
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def websocket_disconnect_event(
    connection_id: str,
    code: int,
    reason: str,
    *,
    domain: str,
    connected_at: int,
    source_ip: str,
    stage: str = WEBSOCKET_STAGE,
) -> dict[str, Any]:
    """The ``$disconnect`` event of a closed connection."""
    context = _websocket_context(
        connection_id, "$disconnect", "DISCONNECT", domain, connected_at, source_ip, stage
    )
    context["disconnectStatusCode"] = code
    context["disconnectReason"] = reason
    return {"headers": {"Host": domain}, "requestContext": context, "isBase64Encoded": False}


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def sqs_message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API message attributes in the camel-case shape Lambda events use."""
    converted = {}
    for name, value in attributes.items():
        converted[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": _b64(value["BinaryValue"]) if "BinaryValue" in value else None,
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": [_b64(v) for v in value.get("BinaryListValues", [])],
            "dataType": value["DataType"],
        }
    return converted


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One message as ``ReceiveMessage`` returns it, as a record of a Lambda SQS event."""
    attributes = message.get("Attributes", {})
    body = message["Body"]
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {k: attributes[k] for k in SQS_RECORD_ATTRIBUTES if k in attributes},
        "messageAttributes": sqs_message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody")
        or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def queue_arn(name: str) -> str:
    """The ARN of queue ``name`` in the local (moto) account and region."""
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"


def sqs_event(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A Lambda SQS event of these records."""
    return {"Records": [dict(r) for r in records]}


def eventbridge_event(
    detail_type: str,
    detail: Mapping[str, Any],
    *,
    source: str = "redfire",
    event_id: str | None = None,
    time: str | None = None,
) -> dict[str, Any]:
    """An EventBridge event as a rule delivers it (to SQS, this is the message body)."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT_ID,
        "time": time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [],
        "detail": dict(detail),
    }


def scheduled_event(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What an EventBridge Scheduler schedule hands its function: its JSON input, as is."""
    return json.loads(json.dumps(payload))  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    """boto3 hands back datetimes and bytes; Lambda events carry epoch seconds and base64."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes | bytearray):
        return _b64(bytes(value))
    return value


def dynamodb_stream_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A ``GetRecords`` record (boto3's types) as Lambda delivers it: JSON types plus the ARN."""
    converted: dict[str, Any] = _jsonable(dict(record))
    converted["eventSource"] = "aws:dynamodb"
    converted["eventSourceARN"] = stream_arn
    return converted

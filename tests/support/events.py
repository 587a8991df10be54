"""Real AWS event shapes, loaded from tests/fixtures/events and filled in per test."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from redfire_core import lambda_shapes

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"


@cache
def _raw(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return document


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of a fixture (tests may mutate it)."""
    return copy.deepcopy(_raw(name))


def http_event(
    method: str,
    url: str,
    *,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    source_ip: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for ``method url`` (from ``source_ip``,
    as API Gateway saw the connection, when given)."""
    event = load_event("apigw_http_v2")
    parts = urlsplit(url)
    event["rawPath"] = parts.path
    event["rawQueryString"] = parts.query
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = parts.path
    if source_ip:
        event["requestContext"]["http"]["sourceIp"] = source_ip
    if parts.query:
        event["queryStringParameters"] = dict(
            pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair
        )
    if token:
        event["headers"]["authorization"] = f"Bearer {token}"
    event["headers"].update(headers or {})
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


def sqs_event(bodies: list[str], queue_arn: str | None = None) -> dict[str, Any]:
    """An SQS event with one record per body (message ids m0, m1, ...)."""
    attributes = load_event("sqs_eventbridge")["Records"][0]["attributes"]
    arn = queue_arn or lambda_shapes.queue_arn("redfire-test-risk")
    return lambda_shapes.sqs_event(
        [
            lambda_shapes.sqs_record(
                {
                    "MessageId": f"m{index}",
                    "ReceiptHandle": f"receipt-m{index}",
                    "Body": body,
                    "Attributes": attributes,
                },
                arn,
            )
            for index, body in enumerate(bodies)
        ]
    )


def eventbridge_body(envelope_json: str) -> str:
    """The SQS body an EventBridge rule delivers for an envelope."""
    detail = json.loads(envelope_json)
    return json.dumps(lambda_shapes.eventbridge_event(detail["type"], detail))


class LambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name = "redfire-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:redfire-test"
    aws_request_id = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_group_name = "/aws/lambda/redfire-test"
    log_stream_name = "2026/11/25/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000

"""Alpaca's trade_updates stream on moto: the one connection accepted without a token,
gated by `authenticate` (the `/v2` key check), closed at the 10 s deadline, and the trade
updates it receives in alpaca-py's models. The management API is a recording fake."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest
from alpaca.trading.models import TradeUpdate

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.auth import Role
from redfire_core.config import get_settings
from redfire_core.services import key_checks
from redfire_core.services.streaming import ALPACA_AUTH_SECONDS
from redfire_stream import wiring
from redfire_stream.pusher import handler as pusher
from tests.integration.conftest import call_api, call_ws, token_for
from tests.support.events import LambdaContext, load_event
from tests.support.pipeline import Pipeline
from tests.support.stream_fakes import RecordingPoster

ORDER = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "3"}
AUTHORIZED = {"stream": "authorization", "data": {"status": "authorized", "action": "authenticate"}}
UNAUTHORIZED = {
    "stream": "authorization",
    "data": {"status": "unauthorized", "action": "authenticate"},
}
LISTEN = {"action": "listen", "data": {"streams": ["trade_updates"]}}


@pytest.fixture(autouse=True)
def fresh_key_cache() -> None:
    key_checks.checked_keys().clear()


def new_key(scopes: list[str] | None = None) -> tuple[str, str]:
    status, _, body = call_api(
        "POST",
        "/v1/api-keys",
        body={"name": "bot", "scopes": scopes or ["read", "trade"]},
        token=token_for("demo", Role.ADMIN),
    )
    assert status == 201, body
    return body["key_id"], body["secret"]


def connect_alpaca(cid: str) -> dict[str, Any]:
    event = load_event("apigw_ws_connect")
    event["requestContext"]["connectionId"] = cid
    event["queryStringParameters"] = {"dialect": "alpaca"}
    event["multiValueQueryStringParameters"] = {"dialect": ["alpaca"]}
    return call_ws(event)


def send(cid: str, body: dict[str, Any], source_ip: str = "203.0.113.7") -> None:
    event = load_event("apigw_ws_message")
    event["requestContext"]["connectionId"] = cid
    event["requestContext"]["routeKey"] = "$default"
    event["requestContext"]["identity"]["sourceIp"] = source_ip
    event["body"] = json.dumps(body)
    assert call_ws(event) == {"statusCode": 200}


def authenticate(cid: str, key_id: str, secret: str, source_ip: str = "203.0.113.7") -> None:
    request = {"action": "authenticate", "data": {"key_id": key_id, "secret_key": secret}}
    send(cid, request, source_ip)


def connection_item(cid: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        boto3.client("dynamodb")
        .get_item(
            TableName=get_settings().table_name("connections"),
            Key={"pk": {"S": f"CONN#{cid}"}, "sk": {"S": "META"}},
        )
        .get("Item")
    )
    return item


def deadline_fires(cid: str) -> None:
    """What the stream queue hands the pusher 10 s after the connection was accepted."""
    body = json.dumps({"action": "close_unauthenticated", "connection_id": cid})
    record = {
        "messageId": "m-1",
        "receiptHandle": "r-1",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:stream",
        "awsRegion": "us-east-1",
    }
    assert pusher({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}


def delayed_messages() -> int:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().declaration.name("stream"))["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"])


def test_an_alpaca_connection_is_accepted_without_a_token_and_its_deadline_is_queued(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    assert connect_alpaca("a1") == {"statusCode": 200}
    item = connection_item("a1")
    assert item is not None and item["account_id"]["S"] == "" and item["dialect"]["S"] == "alpaca"
    assert delayed_messages() == 1  # the deadline, due in ALPACA_AUTH_SECONDS
    assert ALPACA_AUTH_SECONDS == 10


def test_nothing_reaches_a_connection_before_it_authenticates(
    seeded: TradingStore, poster: RecordingPoster, pipeline: Pipeline
) -> None:
    # Given an Alpaca connection that asks to listen without authenticating
    connect_alpaca("a1")
    send("a1", LISTEN)
    send("a1", {"action": "subscribe", "channels": ["orders"]})
    # When the demo account trades
    assert call_api("POST", "/v1/orders", body=ORDER, token=token_for())[0] == 201
    pipeline.run_until_quiet()
    # Then the connection received nothing at all
    assert poster.sent["a1"] == []


def test_the_deadline_closes_a_connection_that_did_not_authenticate(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    connect_alpaca("a1")
    deadline_fires("a1")
    assert poster.closed == ["a1"] and connection_item("a1") is None
    assert poster.sent["a1"] == []  # closed silently


def test_the_deadline_leaves_an_authenticated_connection_open(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    connect_alpaca("a1")
    authenticate("a1", *new_key())
    deadline_fires("a1")
    assert poster.closed == [] and connection_item("a1") is not None


def test_a_wrong_secret_is_answered_unauthorized_and_the_connection_closed(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    key_id, _ = new_key()
    connect_alpaca("a1")
    authenticate("a1", key_id, "wrong")
    assert poster.sent["a1"] == [UNAUTHORIZED]
    assert poster.closed == ["a1"] and connection_item("a1") is None


def test_wrong_secrets_are_throttled_before_hashing(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    # Given as many wrong secrets from one address as the token exchange allows per key
    key_id, secret = new_key()
    for n in range(get_settings().token_exchanges_per_key_per_minute):
        connect_alpaca(f"w{n}")
        authenticate(f"w{n}", key_id, "wrong")
    # Then the right secret from that address is refused too (no hash was computed)
    connect_alpaca("a1")
    authenticate("a1", key_id, secret)
    assert poster.sent["a1"] == [UNAUTHORIZED]
    # While the same key from another address is accepted
    connect_alpaca("a2")
    authenticate("a2", key_id, secret, source_ip="198.51.100.9")
    assert poster.sent["a2"] == [AUTHORIZED]


def test_a_revoked_key_is_refused_though_it_was_checked_before(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    key_id, secret = new_key()
    connect_alpaca("a1")
    authenticate("a1", key_id, secret)
    status, _, _ = call_api("DELETE", f"/v1/api-keys/{key_id}", token=token_for("demo", Role.ADMIN))
    assert status == 200
    wiring.api_keys.cache_clear()  # the 5 s cache of live keys has passed
    connect_alpaca("a2")
    authenticate("a2", key_id, secret)
    assert poster.sent["a2"] == [UNAUTHORIZED]


def test_listen_streams_new_and_fill_in_alpacas_models(
    seeded: TradingStore, poster: RecordingPoster, pipeline: Pipeline
) -> None:
    # Given an authenticated connection listening to trade_updates
    connect_alpaca("a1")
    authenticate("a1", *new_key())
    send("a1", LISTEN)
    assert poster.sent["a1"] == [
        AUTHORIZED,
        {"stream": "listening", "data": {"streams": ["trade_updates"]}},
    ]
    # When an order is placed on /v1 and fills
    status, _, order = call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    assert status == 201
    pipeline.run_until_quiet()

    # Then the stream carries pending_new, new and fill, each valid for alpaca-py
    updates = [m for m in poster.sent["a1"] if m.get("stream") == "trade_updates"]
    assert [u["data"]["event"] for u in updates] == ["pending_new", "new", "fill"]
    fill = TradeUpdate(**updates[-1]["data"])
    assert fill.qty == 3 and fill.price == 100 and fill.position_qty == 3
    assert fill.execution_id is not None and fill.order.status == "filled"
    assert str(fill.order.id).replace("-", "") == _uuid_hex(order["id"])
    _, _, v2 = call_api(
        "GET", f"/v2/orders/{fill.order.id}", token=token_for()
    )  # the /v2 view of the same order
    assert updates[-1]["data"]["order"] == {**v2, "hwm": None}


def _uuid_hex(ulid: str) -> str:
    from ulid import ULID

    return ULID.from_str(ulid).to_uuid().hex

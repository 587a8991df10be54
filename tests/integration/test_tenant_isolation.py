"""Every route of the OpenAPI document, called by account B with account A's identifiers:
B never sees or changes anything of A's (404 or B's own empty data, never A's)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from redfire_api.app import create_app
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.alpaca_dialect import uuid_of
from redfire_core.domain.channels import ACCOUNT_CHANNELS
from redfire_core.domain.roles import Role
from tests.integration.conftest import call_api, call_ws, token_for
from tests.support.events import load_event
from tests.support.pipeline import Pipeline
from tests.support.stream_fakes import RecordingPoster

PUBLIC = {("GET", "/health"), ("POST", "/v1/auth/token")}
# Path parameters that name no resource of an account: an instrument, a kind of activity.
SHARED_PARAMETERS = ("symbol", "symbol_or_asset_id", "activity_type")
# A body that is valid enough to reach the route's logic for each method and path.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/v1/orders/{order_id}"): {"quantity": "2"},
    ("POST", "/v1/orders"): {
        "symbol": "GOOG",
        "side": "buy",
        "type": "limit",
        "quantity": "1",
        "limit_price": "1.00",
        "time_in_force": "gtc",
    },
    ("PATCH", "/v1/account"): {"slippage_bps": "1"},
    ("POST", "/v1/api-keys"): {"name": "b", "scopes": ["read"]},
}


def operations() -> list[tuple[str, str]]:
    spec = create_app().openapi()
    return sorted(
        (method.upper(), path)
        for path, methods in spec["paths"].items()
        for method in methods
        if (method.upper(), path) not in PUBLIC
    )


@pytest.fixture
def account_a(seeded: TradingStore, pipeline: Pipeline) -> dict[str, Any]:
    """A's footprint: a filled order (trade, position, ledger), a resting order, a key."""
    admin_a = token_for("demo", Role.ADMIN)
    filled = call_api(
        "POST",
        "/v1/orders",
        token=admin_a,
        body={
            "symbol": "GOOG",
            "side": "buy",
            "type": "market",
            "quantity": "3",
            "client_order_id": "a-filled-cid",
        },
    )[2]
    resting = call_api(
        "POST",
        "/v1/orders",
        token=admin_a,
        body={
            "symbol": "GOOG",
            "side": "buy",
            "type": "limit",
            "quantity": "1",
            "limit_price": "50.00",
            "time_in_force": "gtc",
            "client_order_id": "a-secret-cid",
        },
    )[2]
    pipeline.run_until_quiet()
    key = call_api(
        "POST", "/v1/api-keys", token=admin_a, body={"name": "a-key", "scopes": ["read"]}
    )[2]
    trades = seeded.list_trades("demo").items
    assert trades and seeded.get_position("demo", "GOOG").quantity == 3
    return {
        "order_id": resting["id"],
        "filled_id": filled["id"],
        "client_order_id": "a-secret-cid",
        "key_id": key["key_id"],
        "trade_ids": [t.trade_id for t in trades],
        "snapshot": snapshot(seeded),
    }


def snapshot(store: TradingStore) -> tuple[Any, ...]:
    orders = store.list_orders("demo", 100, None).items
    position = store.get_position("demo", "GOOG")
    account = store.get_account("demo")
    return (sorted((o.id, o.status, o.version) for o in orders), position, account)


def fill_path(path: str, a: dict[str, Any]) -> str:
    alpaca = path.startswith("/v2/")  # Alpaca's surface names orders by their UUID form
    values = {
        "symbol": "GOOG",
        "symbol_or_asset_id": "GOOG",
        "activity_type": "FILL",  # where A's fills would show, if they leaked
        "order_id": uuid_of(a["order_id"]) if alpaca else a["order_id"],
        "key_id": a["key_id"],
        "client_order_id": a["client_order_id"],
    }
    filled = re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), a["order_id"])), path)
    if path == "/v2/orders:by_client_order_id":
        filled += f"?client_order_id={a['client_order_id']}"
    return filled


def secrets_of(a: dict[str, Any]) -> list[str]:
    return [
        a["order_id"],
        a["filled_id"],
        uuid_of(a["order_id"]),
        uuid_of(a["filled_id"]),
        a["client_order_id"],
        "a-filled-cid",
        a["key_id"],
        *a["trade_ids"],
    ]


def test_account_b_can_neither_read_nor_change_anything_of_account_a(
    account_a: dict[str, Any], other_account: str, seeded: TradingStore
) -> None:
    b = token_for(other_account, Role.ADMIN)
    leaks, wrong_status = [], []
    for method, path in operations():
        url = fill_path(path, account_a)
        status, _, body = call_api(method, url, token=b, body=BODIES.get((method, path)))
        text = json.dumps(body)
        # An id B sent may be echoed back ("no order 'x'"); anything else of A's is a leak.
        leaked = [s for s in secrets_of(account_a) if s in text and s not in url]
        if leaked:
            leaks.append(f"{method} {path} -> {status}: {leaked}")
        names_a = "{" in path and path.split("{")[1].split("}")[0] not in SHARED_PARAMETERS
        if names_a and status < 400:
            wrong_status.append(f"{method} {path} -> {status}")
    assert leaks == []
    assert wrong_status == []
    assert snapshot(seeded) == account_a["snapshot"]
    assert (
        call_api("GET", "/v1/api-keys", token=token_for("demo", Role.ADMIN))[2]["items"][0][
            "revoked_at"
        ]
        is None
    )


def test_the_enumeration_covers_every_account_route() -> None:
    covered = {path for _, path in operations()}
    assert {
        "/v1/orders/{order_id}",
        "/v1/api-keys/{key_id}",
        "/v1/positions/{symbol}",
        "/v1/account/activities",
        "/v1/trades",
        "/v1/audit",
        "/v2/orders/{order_id}",
        "/v2/orders:by_client_order_id",
        "/v2/positions/{symbol_or_asset_id}",
        "/v2/account",
    } <= covered


# --- GraphQL: the same isolation through POST /graphql -----------------------------------

# Every field of the schema, and how B calls it with A's identifiers. Instruments and bars
# are market data (the same for every account), so they carry nothing of A's.
MARKET_FIELDS = {"instruments", "bars"}


def graphql_calls(a: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, operation) for every account field of the schema, with A's identifiers."""
    order, filled, cid = a["order_id"], a["filled_id"], a["client_order_id"]
    return [
        ("order", f'{{ order(id: "{order}") {{ id clientOrderId status }} }}'),
        ("order", f'{{ order(id: "{filled}") {{ id clientOrderId status }} }}'),
        (
            "orders",
            '{ orders(status: [SUBMITTED, ACCEPTED, FILLED, CANCELED], symbol: "GOOG") '
            "{ items { id clientOrderId } nextCursor } }",
        ),
        ("orders", "{ orders { items { id clientOrderId } nextCursor } }"),
        (
            "trades",
            f'{{ trades(orderId: "{filled}") {{ items {{ tradeId orderId }} nextCursor }} }}',
        ),
        ("trades", "{ trades { items { tradeId orderId quantity } nextCursor } }"),
        ("positions", "{ positions { items { symbol quantity } nextCursor } }"),
        ("account", "{ account { id cash equity } }"),
        ("backtest", f'{{ backtest(id: "{order}") {{ id status }} }}'),
        ("backtests", "{ backtests { items { id status } nextCursor } }"),
        ("cancelOrder", f'mutation {{ cancelOrder(id: "{order}") {{ id status }} }}'),
        ("cancelOrder", f'mutation {{ cancelOrder(id: "{filled}") {{ id status }} }}'),
        (
            "replaceOrder",
            f'mutation {{ replaceOrder(id: "{order}", input: {{quantity: "2"}}) {{ id }} }}',
        ),
        (
            "placeOrder",
            'mutation { placeOrder(input: {symbol: "GOOG", side: BUY, type: LIMIT, '
            f'quantity: "1", limitPrice: "1.00", timeInForce: GTC, clientOrderId: "{cid}"}}) '
            "{ id clientOrderId status } }",
        ),
    ]


def test_account_b_can_neither_read_nor_change_anything_of_a_through_graphql(
    account_a: dict[str, Any], other_account: str, seeded: TradingStore
) -> None:
    b = token_for(other_account, Role.ADMIN)
    leaks, answered = [], []
    for field, operation in graphql_calls(account_a):
        status, _, body = call_api("POST", "/graphql", token=b, body={"query": operation})
        assert status == 200, (field, body)
        text = json.dumps(body)
        leaked = [s for s in secrets_of(account_a) if s in text and s not in operation]
        if leaked:
            leaks.append(f"{field}: {leaked}")
        data = (body.get("data") or {}).get(field)
        if field in ("cancelOrder", "replaceOrder"):
            # A's order does not exist for B: the REST 404 code, no data.
            codes = [e["extensions"]["code"] for e in body.get("errors", [])]
            if data is not None or codes != ["ORDER_NOT_FOUND"]:
                answered.append(f"{field} -> {data} {codes}")
        elif field in ("order", "backtest") and data is not None:
            answered.append(f"{field} -> {data}")
        elif field in ("orders", "trades", "positions", "backtests") and data["items"]:
            answered.append(f"{field} -> {data['items']}")
        elif field == "account" and data["id"] != other_account:
            answered.append(f"account -> {data}")
        elif field == "placeOrder":
            # B's own order under the same client order id: never A's order handed back.
            assert "errors" not in body, body
            assert data["id"] not in (account_a["order_id"], account_a["filled_id"])
    assert leaks == []
    assert answered == []
    assert snapshot(seeded) == account_a["snapshot"]


def test_the_graphql_enumeration_covers_every_field_of_the_schema() -> None:
    from redfire_api.graphql_schema import schema

    types = schema.introspect()["__schema"]["types"]
    fields = {
        field["name"]
        for type_ in types
        if type_["name"] in ("Query", "Mutation")
        for field in type_["fields"]
    }
    placeholders = {"order_id": "x", "filled_id": "y", "client_order_id": "z"}
    covered = {field for field, _ in graphql_calls(placeholders)}
    assert fields - MARKET_FIELDS == covered


# --- WebSocket channels ------------------------------------------------------------------


_ws = call_ws


def _connect(cid: str, token: str) -> None:
    event = load_event("apigw_ws_connect")
    event["requestContext"]["connectionId"] = cid
    event["queryStringParameters"] = {"token": token}
    event["multiValueQueryStringParameters"] = {"token": [token]}
    assert _ws(event)["statusCode"] == 200


def _subscribe(cid: str, channels: list[str]) -> None:
    event = load_event("apigw_ws_message")
    event["requestContext"]["connectionId"] = cid
    event["requestContext"]["routeKey"] = "subscribe"
    event["body"] = json.dumps({"action": "subscribe", "channels": channels})
    assert _ws(event) == {"statusCode": 200}


def test_account_b_cannot_subscribe_to_account_as_channels(
    seeded: TradingStore, other_account: str, poster: RecordingPoster
) -> None:
    _connect("b", token_for(other_account, Role.ADMIN))
    for channel in sorted(ACCOUNT_CHANNELS):
        _subscribe("b", [f"{channel}:demo"])
        reply = poster.sent["b"][-1]
        assert reply["type"] == "error" and reply["code"] == "CHANNEL_FORBIDDEN", channel
    assert not [m for m in poster.sent["b"] if m.get("type") == "subscribed"]


def test_account_b_subscribed_to_its_own_channels_never_receives_account_as_events(
    seeded: TradingStore, other_account: str, pipeline: Pipeline, poster: RecordingPoster
) -> None:
    channels = sorted(ACCOUNT_CHANNELS)
    _connect("a", token_for("demo", Role.ADMIN))
    _subscribe("a", channels)
    _connect("b", token_for(other_account, Role.ADMIN))
    _subscribe("b", channels)
    admin_a = token_for("demo", Role.ADMIN)
    market = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "2"}
    filled = call_api("POST", "/v1/orders", token=admin_a, body=market)[2]
    resting = call_api(
        "POST", "/v1/orders", token=admin_a, body={**BODIES[("POST", "/v1/orders")]}
    )[2]
    pipeline.run_until_quiet()
    call_api("DELETE", f"/v1/orders/{resting['id']}", token=admin_a)
    pipeline.run_until_quiet()

    # The control: A's own subscriber saw its orders, so events did flow.
    assert {m["data"]["id"] for m in poster.of_channel("a", "orders")} == {
        filled["id"],
        resting["id"],
    }
    assert [m for m in poster.sent["b"] if "data" in m] == []
    text = json.dumps(poster.sent["b"])
    assert filled["id"] not in text and resting["id"] not in text

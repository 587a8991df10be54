"""The API function through its real entry point, with API Gateway HTTP API events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from redfire_api.handler import handler
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.roles import Role
from tests.integration.conftest import sqs_messages, token_for
from tests.support.events import LambdaContext, http_event

MARKET_BUY = {
    "symbol": "GOOG",
    "side": "buy",
    "type": "market",
    "quantity": "10",
    "time_in_force": "day",
}


def call(method: str, url: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    response = handler(http_event(method, url, **kwargs), LambdaContext())
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], response["headers"], body


def test_health_answers_without_a_token(aws: None) -> None:
    status, _, body = call("GET", "/health")
    assert (status, body) == (200, {"status": "ok"})


@pytest.mark.parametrize("token", [None, "not-a-jwt", "Bearer"])
def test_order_routes_refuse_a_missing_or_invalid_token(
    seeded: TradingStore, token: str | None
) -> None:
    status, headers, body = call("GET", "/v1/orders", token=token)
    assert status == 401
    assert headers["content-type"] == "application/problem+json"
    assert body["code"] == "UNAUTHORIZED"
    assert set(body) >= {"type", "title", "status", "detail", "code"}


def test_placing_a_market_order_stores_it_submitted_and_answers_201(seeded: TradingStore) -> None:
    status, headers, body = call("POST", "/v1/orders", body=MARKET_BUY, token=token_for())
    assert status == 201
    assert body["status"] == "submitted"
    assert body["quantity"] == "10" and body["filled_quantity"] == "0"
    assert headers["location"] == f"/v1/orders/{body['id']}"
    stored = seeded.get_order("demo", body["id"])
    assert stored is not None and stored.status == "submitted"


def test_order_and_its_submitted_event_are_written_together(seeded: TradingStore) -> None:
    _, _, body = call("POST", "/v1/orders", body=MARKET_BUY, token=token_for())
    from redfire_core.adapters import models
    from redfire_core.adapters.trading_store import events_of_item

    # The order item carries its OrderSubmitted (the stream is the outbox): no outbox row.
    item = models.OrderItem.get("demo", f"ORDER#{body['id']}")
    assert [event.type for event in events_of_item(item)] == ["OrderSubmitted"]
    assert list(models.OutboxItem.query("demo", models.OutboxItem.sk.startswith("OUTBOX#"))) == []


def test_reading_an_order_shows_its_fields(seeded: TradingStore) -> None:
    _, _, placed = call("POST", "/v1/orders", body=MARKET_BUY, token=token_for())
    status, _, body = call("GET", f"/v1/orders/{placed['id']}", token=token_for())
    assert status == 200
    assert body == placed


def test_another_accounts_order_is_not_found(seeded: TradingStore, other_account: str) -> None:
    _, _, placed = call("POST", "/v1/orders", body=MARKET_BUY, token=token_for())
    status, _, body = call("GET", f"/v1/orders/{placed['id']}", token=token_for(other_account))
    assert status == 404 and body["code"] == "ORDER_NOT_FOUND"
    status, _, listing = call("GET", "/v1/orders", token=token_for(other_account))
    assert listing["items"] == []


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"symbol": "NOPE"}, "ORDER_UNKNOWN_SYMBOL", "symbol"),
        ({"quantity": "1.5"}, "ORDER_QTY_LOT", "quantity"),
        ({"type": "limit"}, "ORDER_PRICE_REQUIRED", "limit_price"),
        ({"type": "limit", "limit_price": "100.001"}, "ORDER_PRICE_TICK", "limit_price"),
        ({"side": "sideways"}, "ORDER_INVALID", "side"),
        ({"quantity": 10}, "ORDER_INVALID", "quantity"),
        ({"colour": "red"}, "ORDER_INVALID", "colour"),
    ],
)
def test_bad_orders_are_refused_with_a_stable_code_and_nothing_is_stored(
    seeded: TradingStore, change: dict[str, Any], code: str, field: str
) -> None:
    status, headers, body = call(
        "POST", "/v1/orders", body={**MARKET_BUY, **change}, token=token_for()
    )
    assert status == 422
    assert headers["content-type"] == "application/problem+json"
    assert body["code"] == code
    assert body["errors"][0]["field"] == field
    assert seeded.list_orders("demo", 10, None).items == []


def test_malformed_json_is_a_422_problem(seeded: TradingStore) -> None:
    status, _, body = call("POST", "/v1/orders", body="{not json", token=token_for())
    assert status == 422 and body["code"] == "ORDER_INVALID"


def test_unknown_route_is_a_404_problem(seeded: TradingStore) -> None:
    status, headers, body = call("GET", "/v1/nothing-here", token=token_for())
    assert status == 404 and headers["content-type"] == "application/problem+json"
    assert body["code"] == "NOT_FOUND"


def test_the_same_client_order_id_again_returns_the_first_order(seeded: TradingStore) -> None:
    request = {**MARKET_BUY, "client_order_id": "my-1"}
    first = call("POST", "/v1/orders", body=request, token=token_for())
    again = call("POST", "/v1/orders", body=request, token=token_for())
    assert (first[0], again[0]) == (201, 200)
    assert again[2]["id"] == first[2]["id"]
    assert len(seeded.list_orders("demo", 10, None).items) == 1


def test_a_reused_client_order_id_with_another_payload_is_a_conflict(seeded: TradingStore) -> None:
    call("POST", "/v1/orders", body={**MARKET_BUY, "client_order_id": "my-1"}, token=token_for())
    status, _, body = call(
        "POST",
        "/v1/orders",
        body={**MARKET_BUY, "quantity": "11", "client_order_id": "my-1"},
        token=token_for(),
    )
    assert status == 409 and body["code"] == "ORDER_ID_CONFLICT"


def test_a_viewer_can_read_but_not_trade(seeded: TradingStore) -> None:
    viewer = token_for(role=Role.VIEWER)
    assert call("GET", "/v1/orders", token=viewer)[0] == 200
    status, _, body = call("POST", "/v1/orders", body=MARKET_BUY, token=viewer)
    assert status == 403 and body["code"] == "FORBIDDEN"


def test_orders_list_pages_with_an_opaque_cursor(seeded: TradingStore) -> None:
    ids = [
        call("POST", "/v1/orders", body=MARKET_BUY, token=token_for())[2]["id"] for _ in range(3)
    ]
    _, _, first = call("GET", "/v1/orders?limit=2", token=token_for())
    _, _, second = call(
        "GET", f"/v1/orders?limit=2&cursor={first['next_cursor']}", token=token_for()
    )
    seen = [o["id"] for o in first["items"] + second["items"]]
    assert seen == list(reversed(ids))
    assert (
        call("GET", "/v1/orders?cursor=garbage", token=token_for())[2]["code"] == "REQUEST_INVALID"
    )


def test_account_shows_cash_and_equity_as_decimal_strings(seeded: TradingStore) -> None:
    status, _, body = call("GET", "/v1/account", token=token_for())
    assert status == 200
    assert body["id"] == "demo" and body["cash"] == "100000" and body["equity"] == "100000"


def test_nothing_reaches_the_queues_before_the_relay_runs(seeded: TradingStore) -> None:
    call("POST", "/v1/orders", body=MARKET_BUY, token=token_for())
    assert sqs_messages("risk") == []

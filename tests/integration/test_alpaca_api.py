"""Alpaca's Trading API v2 over moto: key headers, the decision in the call, Alpaca's
filters and shapes, and Alpaca's error dialect (problem+json stays on /v1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from unittest.mock import patch

import pytest
from alpaca.trading.models import TradeActivity

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.auth import Role
from redfire_core.config import get_settings
from redfire_core.domain.keys import hash_secret
from redfire_core.services import awaiting, key_checks
from redfire_core.services import keys as key_service
from tests.integration.conftest import call_api, token_for
from tests.support.pipeline import Pipeline

STALE_BUY = {  # no fresh AAPL price is seeded: risk denies it with RISK_STALE_PRICE
    "symbol": "AAPL",
    "qty": 1,
    "side": "buy",
    "type": "market",
    "time_in_force": "day",
}
MARKET_BUY = {"symbol": "GOOG", "qty": "2", "side": "buy", "type": "market", "time_in_force": "day"}


def new_key(scopes: list[str]) -> dict[str, str]:
    status, _, body = call_api(
        "POST",
        "/v1/api-keys",
        body={"name": "bot", "scopes": scopes},
        token=token_for("demo", Role.ADMIN),
    )
    assert status == 201, body
    return {"APCA-API-KEY-ID": body["key_id"], "APCA-API-SECRET-KEY": body["secret"]}


def alpaca(
    method: str, url: str, headers: dict[str, str], body: Any = None, ip: str = "198.51.100.7"
) -> tuple[int, dict[str, str], Any]:
    return call_api(method, url, body=body, headers=headers, source_ip=ip)


@pytest.fixture
def decide_while_waiting(monkeypatch: pytest.MonkeyPatch, pipeline: Pipeline) -> None:
    """Where the API would sleep waiting for the decision, the pipeline runs instead."""
    monkeypatch.setattr(awaiting, "pause", lambda seconds: pipeline.run_until_quiet())


@pytest.fixture(autouse=True)
def fresh_key_cache() -> None:
    key_checks.checked_keys().clear()


def test_key_headers_hash_once_per_key_and_secret(seeded: TradingStore) -> None:
    trader = new_key(["read", "trade"])
    with patch.object(key_service, "hash_secret", wraps=hash_secret) as hashed:
        answers = [alpaca("GET", "/v2/account", trader)[0] for _ in range(3)]
    assert answers == [200, 200, 200] and hashed.call_count == 1
    wrong = {**trader, "APCA-API-SECRET-KEY": "not-the-secret"}
    status, _, body = alpaca("GET", "/v2/account", wrong)
    assert (status, body["code"]) == (401, 40110000)


def test_a_revoked_key_is_refused_at_once_though_it_was_checked(seeded: TradingStore) -> None:
    trader = new_key(["read", "trade"])
    assert alpaca("GET", "/v2/account", trader)[0] == 200
    revoked = call_api(
        "DELETE",
        f"/v1/api-keys/{trader['APCA-API-KEY-ID']}",
        token=token_for("demo", Role.ADMIN),
    )
    assert revoked[0] == 200
    status, _, body = alpaca("GET", "/v2/account", trader)
    assert (status, body) == (
        401,
        {"code": 40110000, "message": "a valid bearer token is required"},
    )


def test_wrong_secrets_are_throttled_before_hashing(seeded: TradingStore) -> None:
    trader = new_key(["read"])
    wrong = {**trader, "APCA-API-SECRET-KEY": "guess"}
    with (
        patch.object(key_checks.attempt_limiters()[0], "limit", 2),
        patch.object(key_service, "hash_secret", wraps=hash_secret) as hashed,
    ):
        statuses = [alpaca("GET", "/v2/account", wrong, ip="203.0.113.9")[0] for _ in range(4)]
    assert statuses == [401, 401, 429, 429] and hashed.call_count == 2


def test_the_account_in_alpacas_shape(seeded: TradingStore) -> None:
    status, _, account = alpaca("GET", "/v2/account", new_key(["read"]))
    assert status == 200
    assert account["account_number"] == "demo" and account["status"] == "ACTIVE"
    assert account["cash"] == account["equity"] == account["portfolio_value"]
    assert isinstance(account["buying_power"], str)


def test_a_denied_order_is_a_403_in_the_same_call(
    seeded: TradingStore, decide_while_waiting: None
) -> None:
    status, _, body = alpaca("POST", "/v2/orders", new_key(["read", "trade"]), STALE_BUY)
    assert status == 403
    assert body["code"] == 40310000 and "price" in body["message"]


def test_an_accepted_order_comes_back_new_or_filled_with_every_field(
    seeded: TradingStore, decide_while_waiting: None
) -> None:
    status, _, order = alpaca("POST", "/v2/orders", new_key(["read", "trade"]), MARKET_BUY)
    assert status == 200 and order["status"] in ("new", "filled")
    assert order["qty"] == "2" and order["order_class"] == "simple"
    assert order["client_order_id"] and order["submitted_at"] and order["asset_id"]
    assert order["extended_hours"] is False


def test_an_undecided_order_comes_back_pending_new(
    seeded: TradingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(awaiting, "pause", lambda seconds: None)
    monkeypatch.setattr(awaiting.time, "monotonic", iter(range(0, 1000, 5)).__next__)
    status, _, order = alpaca("POST", "/v2/orders", new_key(["read", "trade"]), MARKET_BUY)
    assert (status, order["status"]) == (200, "pending_new")


def test_the_decision_wait_is_the_stages_setting(
    seeded: TradingStore, decide_while_waiting: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stage whose bound is 0 s (the decision would come at the first pause)
    monkeypatch.setenv("REDFIRE_ALPACA_DECISION_WAIT_SECONDS", "0")
    get_settings.cache_clear()
    try:
        status, _, order = alpaca("POST", "/v2/orders", new_key(["read", "trade"]), MARKET_BUY)
    finally:
        get_settings.cache_clear()
    # Then the order is answered undecided, without waiting
    assert (status, order["status"]) == (200, "pending_new")


def test_bad_input_is_a_422_in_alpacas_dialect_and_v1_keeps_problem_json(
    seeded: TradingStore,
) -> None:
    trader = new_key(["read", "trade"])
    status, headers, body = alpaca("POST", "/v2/orders", trader, {**MARKET_BUY, "qty": "abc"})
    assert status == 422 and body["code"] == 42210000 and "qty" in body["message"]
    assert headers["content-type"] == "application/json"
    v1 = call_api("POST", "/v1/orders", body={"symbol": "GOOG"}, token=token_for())
    assert v1[0] == 422 and v1[1]["content-type"] == "application/problem+json"


def test_a_read_only_key_cannot_trade(seeded: TradingStore) -> None:
    status, _, body = alpaca("POST", "/v2/orders", new_key(["read"]), MARKET_BUY)
    assert (status, body["code"]) == (403, 40310000)


def test_orders_filter_like_alpaca(seeded: TradingStore, decide_while_waiting: None) -> None:
    trader = new_key(["read", "trade"])
    placed = [
        alpaca("POST", "/v2/orders", trader, {**MARKET_BUY, "client_order_id": f"c{n}"})[2]
        for n in range(3)
    ]
    closed = alpaca("GET", "/v2/orders?status=closed&direction=asc&limit=2", trader)[2]
    assert [o["client_order_id"] for o in closed] == ["c0", "c1"]
    assert alpaca("GET", "/v2/orders?status=all&side=sell", trader)[2] == []
    assert len(alpaca("GET", "/v2/orders?status=all&symbols=GOOG,AAPL", trader)[2]) == 3
    assert alpaca("GET", "/v2/orders", trader)[2] == []  # open is the default
    one = alpaca("GET", "/v2/orders:by_client_order_id?client_order_id=c2", trader)[2]
    assert one["id"] == placed[2]["id"]
    assert alpaca("GET", "/v2/orders?limit=501", trader)[2]["code"] == 42210000


def test_close_part_of_a_position_by_percentage(
    seeded: TradingStore, decide_while_waiting: None
) -> None:
    trader = new_key(["read", "trade"])
    alpaca("POST", "/v2/orders", trader, {**MARKET_BUY, "qty": "4"})
    status, _, order = alpaca("DELETE", "/v2/positions/GOOG?percentage=50", trader)
    assert status == 200 and order["side"] == "sell" and order["qty"] == "2"
    position = alpaca("GET", "/v2/positions/GOOG", trader)[2]
    assert position["qty"] == "2" and position["side"] == "long"
    assert alpaca("DELETE", "/v2/positions/GOOG?qty=5", trader)[2]["code"] == 42210000


def test_cancel_is_204_and_a_final_order_is_not_cancelable(
    seeded: TradingStore, decide_while_waiting: None
) -> None:
    trader = new_key(["read", "trade"])
    filled = alpaca("POST", "/v2/orders", trader, MARKET_BUY)[2]
    status, _, body = alpaca("DELETE", f"/v2/orders/{filled['id']}", trader)
    assert (status, body["code"]) == (422, 42210000)
    bid = (Decimal(filled["filled_avg_price"]) * Decimal("0.98")).quantize(Decimal("0.01"))
    resting = alpaca(
        "POST",
        "/v2/orders",
        trader,
        {**MARKET_BUY, "type": "limit", "limit_price": float(bid), "time_in_force": "gtc"},
    )[2]
    assert resting["status"] == "new" and Decimal(resting["limit_price"]) == bid
    assert alpaca("DELETE", f"/v2/orders/{resting['id']}", trader)[0] == 204
    assert alpaca("GET", f"/v2/orders/{resting['id']}", trader)[2]["status"] in (
        "pending_cancel",
        "canceled",
    )
    assert alpaca("DELETE", "/v2/orders/not-a-uuid", trader)[2]["code"] == 40410000


def test_fills_are_alpacas_fill_activities(
    seeded: TradingStore, decide_while_waiting: None
) -> None:
    trader = new_key(["read", "trade"])
    order = alpaca("POST", "/v2/orders", trader, MARKET_BUY)[2]
    status, _, activities = alpaca("GET", "/v2/account/activities/FILL", trader)
    assert status == 200 and len(activities) == 1
    fill = TradeActivity(**activities[0])  # alpaca-py's own model
    assert str(fill.order_id) == order["id"] and fill.cum_qty == 2 and fill.leaves_qty == 0
    assert fill.type == "fill" and fill.order_status == "filled"
    assert alpaca("GET", "/v2/account/activities/DIV", trader)[2] == []


BRACKET_BUY = {
    **MARKET_BUY,
    "time_in_force": "gtc",
    "order_class": "bracket",
    "take_profit": {"limit_price": 110},  # alpaca-py sends its prices as JSON numbers
    "stop_loss": {"stop_price": "95", "limit_price": 94.5},
}


def test_a_bracket_comes_back_with_its_legs_as_alpaca_py_reads_them(
    seeded: TradingStore, decide_while_waiting: None
) -> None:
    from alpaca.trading.enums import OrderClass, OrderStatus
    from alpaca.trading.models import Order

    key = new_key(["read", "trade"])
    status, _, body = alpaca("POST", "/v2/orders", key, BRACKET_BUY)
    assert status == 200, body
    order = Order.model_validate(body)
    assert order.order_class is OrderClass.BRACKET and order.status is OrderStatus.FILLED
    assert order.legs is not None
    assert [(leg.type, leg.side, leg.status) for leg in order.legs] == [
        ("limit", "sell", OrderStatus.NEW),
        ("stop_limit", "sell", OrderStatus.NEW),
    ]
    assert [leg.qty for leg in order.legs] == ["2", "2"]
    # nested: the legs inside the parent, not beside it; flat: beside it, without legs
    _, _, nested = alpaca("GET", "/v2/orders?status=all&nested=true", key)
    assert [o["id"] for o in nested] == [body["id"]] and len(nested[0]["legs"]) == 2
    _, _, flat = alpaca("GET", "/v2/orders?status=all", key)
    assert len(flat) == 3 and all(o["legs"] is None for o in flat)


def test_a_notional_order_shows_its_notional_and_the_filled_quantity(
    seeded: TradingStore, decide_while_waiting: None
) -> None:
    from alpaca.trading.models import Order

    body = {k: v for k, v in MARKET_BUY.items() if k != "qty"} | {"notional": 250}
    status, _, shown = alpaca("POST", "/v2/orders", new_key(["read", "trade"]), body)
    assert status == 200, shown
    order = Order.model_validate(shown)
    assert (order.notional, order.qty, order.filled_qty) == ("250", "2", "2")


@pytest.mark.parametrize(
    "changes",
    [
        {"stop_loss": None},
        {"order_class": "ladder"},
        {"take_profit": {"limit_price": 90}},
        {"take_profit": {"limit_price": 110, "trail": 1}},
    ],
)
def test_an_invalid_bracket_is_a_422_in_alpacas_dialect(
    seeded: TradingStore, changes: dict[str, Any]
) -> None:
    body = {k: v for k, v in {**BRACKET_BUY, **changes}.items() if v is not None}
    status, _, answer = alpaca("POST", "/v2/orders", new_key(["read", "trade"]), body)
    assert status == 422 and answer["code"] == 42210000, answer

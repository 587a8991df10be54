"""Trading over HTTP, end to end inside moto: list, cancel, replace, close, account, ledger.

Each test calls the API function's Lambda entry point and drives the risk and orders
functions with the pipeline, then reads the outcome back through the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from redfire_core.adapters import models
from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.roles import Role
from tests.integration.conftest import call_api, token_for
from tests.support.pipeline import Pipeline

MARKET_BUY = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10"}
RESTING_BUY = {
    "symbol": "GOOG",
    "side": "buy",
    "type": "limit",
    "quantity": "5",
    "limit_price": "90.00",
    "time_in_force": "gtc",
}


def place(body: dict[str, Any], account: str = "demo") -> dict[str, Any]:
    status, _, order = call_api("POST", "/v1/orders", body=body, token=token_for(account))
    assert status == 201, order
    return order


def read(path: str, account: str = "demo", role: Role = Role.TRADER) -> Any:
    status, _, body = call_api("GET", path, token=token_for(account, role))
    assert status == 200, body
    return body


def order_ids(path: str) -> list[str]:
    return [o["id"] for o in read(path)["items"]]


def set_price(symbol: str, price: str) -> None:
    DynamoDbMarketDataStore().advance_latest(symbol, Decimal(price), datetime.now(UTC))


# --- listing and finding orders -----------------------------------------------------------


def test_orders_are_filtered_by_status_and_symbol(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given a filled GOOG buy and an AAPL buy denied for want of a price
    filled = place(MARKET_BUY)["id"]
    denied = place(MARKET_BUY | {"symbol": "AAPL"})["id"]
    pipeline.run_until_quiet()

    # Then each filter keeps only what it names
    assert order_ids("/v1/orders?status=filled") == [filled]
    assert order_ids("/v1/orders?status=filled,denied") == [denied, filled]
    assert order_ids("/v1/orders?symbol=AAPL") == [denied]
    assert order_ids("/v1/orders?status=filled&symbol=AAPL") == []


def test_an_unknown_status_filter_is_refused_naming_status(seeded: TradingStore) -> None:
    status, _, body = call_api("GET", "/v1/orders?status=filled,done", token=token_for())
    assert status == 422 and body["code"] == "REQUEST_INVALID"
    assert body["errors"][0]["field"] == "status" and "done" in body["errors"][0]["message"]


def test_orders_are_filtered_by_creation_time(seeded: TradingStore) -> None:
    # Given an order placed now
    before = datetime.now(UTC) - timedelta(seconds=5)
    order = place(MARKET_BUY)["id"]
    after = datetime.now(UTC) + timedelta(seconds=5)

    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    # Then a window around it finds it and windows beside it do not
    assert order_ids(f"/v1/orders?start={stamp(before)}&end={stamp(after)}") == [order]
    assert order_ids(f"/v1/orders?start={stamp(after)}") == []
    assert order_ids(f"/v1/orders?end={stamp(before)}") == []
    assert order_ids("/v1/orders?start=1900-01-01T00:00:00Z") == [order]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=yesterday", "start"),
        ("end=2026-13-01", "end"),
        ("start=2026-02-01&end=2026-01-01", "start"),
    ],
)
def test_a_bad_time_window_is_refused(seeded: TradingStore, query: str, field: str) -> None:
    status, _, body = call_api("GET", f"/v1/orders?{query}", token=token_for())
    assert status == 422 and body["code"] == "REQUEST_INVALID"
    assert body["errors"][0]["field"] == field


def test_an_order_is_found_by_its_client_order_id(seeded: TradingStore, other_account: str) -> None:
    order = place(MARKET_BUY | {"client_order_id": "mine-1"})
    assert read("/v1/orders/by-client-id/mine-1") == order
    for account, client_id in (("demo", "nope"), (other_account, "mine-1")):
        status, _, body = call_api(
            "GET", f"/v1/orders/by-client-id/{client_id}", token=token_for(account)
        )
        assert status == 404 and body["code"] == "ORDER_NOT_FOUND"


# --- cancel -------------------------------------------------------------------------------


def test_a_canceled_order_releases_its_reservation(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a resting limit buy that holds cash
    order = place(RESTING_BUY)
    pipeline.run_until_quiet()
    assert read(f"/v1/orders/{order['id']}")["status"] == "accepted"
    assert read("/v1/account")["reserved"] == "450.00"

    # When it is canceled
    status, _, pending = call_api("DELETE", f"/v1/orders/{order['id']}", token=token_for())
    assert status == 202 and pending["status"] == "pending_cancel"
    pipeline.run_until_quiet()

    # Then it ends canceled and the account holds nothing for it
    assert read(f"/v1/orders/{order['id']}")["status"] == "canceled"
    account = read("/v1/account")
    assert Decimal(account["reserved"]) == 0
    assert Decimal(account["buying_power"]) == Decimal("100000")


def test_canceling_a_filled_order_is_a_conflict(seeded: TradingStore, pipeline: Pipeline) -> None:
    order = place(MARKET_BUY)
    pipeline.run_until_quiet()
    status, _, body = call_api("DELETE", f"/v1/orders/{order['id']}", token=token_for())
    assert status == 409 and body["code"] == "ORDER_NOT_CANCELABLE"
    assert read(f"/v1/orders/{order['id']}")["status"] == "filled"


def test_canceling_an_unknown_order_is_not_found(seeded: TradingStore) -> None:
    status, _, body = call_api("DELETE", "/v1/orders/01NOSUCHORDER", token=token_for())
    assert status == 404 and body["code"] == "ORDER_NOT_FOUND"


def test_cancel_all_asks_to_cancel_every_open_order(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given two resting orders and a filled one
    resting = {place(RESTING_BUY)["id"], place(RESTING_BUY | {"limit_price": "80.00"})["id"]}
    filled = place(MARKET_BUY)["id"]
    pipeline.run_until_quiet()

    # When every order is canceled
    status, _, body = call_api("DELETE", "/v1/orders", token=token_for())

    # Then the open ones are pending cancel, then canceled; the filled one is untouched
    assert status == 202 and body["next_cursor"] is None
    assert {o["id"] for o in body["items"]} == resting
    assert {o["status"] for o in body["items"]} == {"pending_cancel"}
    pipeline.run_until_quiet()
    assert set(order_ids("/v1/orders?status=canceled")) == resting
    assert read(f"/v1/orders/{filled}")["status"] == "filled"
    assert Decimal(read("/v1/account")["reserved"]) == 0


# --- replace ------------------------------------------------------------------------------


def test_a_replaced_order_points_to_its_accepted_replacement(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a resting limit buy
    original = place(RESTING_BUY)
    pipeline.run_until_quiet()

    # When its price and quantity are changed
    status, headers, new = call_api(
        "PATCH",
        f"/v1/orders/{original['id']}",
        body={"limit_price": "95.00", "quantity": "4"},
        token=token_for(),
    )

    # Then a new order replaces it, and once risk accepts it the original is replaced
    assert status == 201 and headers["location"] == f"/v1/orders/{new['id']}"
    assert (new["replaces"], new["limit_price"], new["quantity"]) == (
        original["id"],
        "95.00",
        "4",
    )
    pipeline.run_until_quiet()
    old = read(f"/v1/orders/{original['id']}")
    assert (old["status"], old["replaced_by"]) == ("replaced", new["id"])
    assert read(f"/v1/orders/{new['id']}")["status"] == "accepted"
    assert read("/v1/account")["reserved"] == "380.00"


def test_replacing_a_filled_order_is_a_conflict(seeded: TradingStore, pipeline: Pipeline) -> None:
    order = place(MARKET_BUY)
    pipeline.run_until_quiet()
    status, _, body = call_api(
        "PATCH", f"/v1/orders/{order['id']}", body={"quantity": "20"}, token=token_for()
    )
    assert status == 409 and body["code"] == "ORDER_NOT_REPLACEABLE"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"limit_price": "95.001"}, "ORDER_PRICE_TICK", "limit_price"),
        ({"quantity": "ten"}, "ORDER_INVALID", "quantity"),
        ({"symbol": "AAPL"}, "ORDER_INVALID", "symbol"),
        ({"stop_price": "95.00"}, "ORDER_INVALID", "stop_price"),
        ({}, "ORDER_INVALID", "body"),
    ],
)
def test_a_bad_replace_is_refused_and_the_original_keeps_working(
    seeded: TradingStore, pipeline: Pipeline, change: dict[str, Any], code: str, field: str
) -> None:
    original = place(RESTING_BUY)
    pipeline.run_until_quiet()
    status, _, body = call_api(
        "PATCH", f"/v1/orders/{original['id']}", body=change, token=token_for()
    )
    assert status == 422 and (body["code"], body["errors"][0]["field"]) == (code, field)
    assert read(f"/v1/orders/{original['id']}")["status"] == "accepted"
    assert len(read("/v1/orders")["items"]) == 1


def test_a_replace_may_not_take_a_client_order_id_in_use(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    place(MARKET_BUY | {"client_order_id": "taken"})
    original = place(RESTING_BUY)
    pipeline.run_until_quiet()
    status, _, body = call_api(
        "PATCH",
        f"/v1/orders/{original['id']}",
        body={"client_order_id": "taken"},
        token=token_for(),
    )
    assert status == 409 and body["code"] == "ORDER_ID_CONFLICT"
    assert read(f"/v1/orders/{original['id']}")["status"] == "accepted"


# --- trades and positions -----------------------------------------------------------------


def test_trades_are_listed_and_filtered(seeded: TradingStore, pipeline: Pipeline) -> None:
    first = place(MARKET_BUY)["id"]
    set_price("AAPL", "200.00")
    second = place(MARKET_BUY | {"symbol": "AAPL", "quantity": "2"})["id"]
    pipeline.run_until_quiet()

    trades = read("/v1/trades")["items"]
    assert [(t["order_id"], t["quantity"], t["price"]) for t in trades] == [
        (first, "10", "100.00"),
        (second, "2", "200.00"),
    ]
    assert [t["order_id"] for t in read("/v1/trades?symbol=AAPL")["items"]] == [second]
    assert [t["symbol"] for t in read(f"/v1/trades?order_id={first}")["items"]] == ["GOOG"]
    page = read("/v1/trades?limit=1")
    assert len(page["items"]) == 1 and page["next_cursor"]


def test_positions_are_marked_to_the_latest_price(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given 10 GOOG bought at 100.00, and then a price of 110.00
    place(MARKET_BUY)
    pipeline.run_until_quiet()
    set_price("GOOG", "110.00")

    # Then the position is valued at 110.00
    expected = {
        "symbol": "GOOG",
        "quantity": "10",
        "average_cost": "100.00",
        "cost_basis": "1000.00",
        "realized_pnl": "0",
        "market_price": "110.00",
        "market_value": "1100.00",
        "unrealized_pnl": "100.00",
    }
    assert read("/v1/positions") == {"items": [expected], "next_cursor": None}
    assert read("/v1/positions/GOOG") == expected
    account = read("/v1/account")
    assert (account["equity"], account["unrealized_pnl"]) == ("100100.00", "100.00")
    # Margin account, leverage 1: equity x 1 less the 1,100 held in GOOG
    assert Decimal(account["buying_power"]) == Decimal("99000")


def test_a_flat_or_unknown_position_is_not_found(seeded: TradingStore, pipeline: Pipeline) -> None:
    place(MARKET_BUY)
    place(MARKET_BUY | {"side": "sell"})
    pipeline.run_until_quiet()
    assert read("/v1/positions")["items"] == []
    for symbol in ("GOOG", "NOPE"):
        status, _, body = call_api("GET", f"/v1/positions/{symbol}", token=token_for())
        assert status == 404 and body["code"] == "POSITION_NOT_FOUND"


def test_closing_a_position_twice_places_one_order_and_ends_flat(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a long position of 10 GOOG
    place(MARKET_BUY)
    pipeline.run_until_quiet()

    # When it is closed twice before the close fills
    first = call_api("DELETE", "/v1/positions/GOOG", token=token_for())
    second = call_api("DELETE", "/v1/positions/GOOG", token=token_for())

    # Then one market sell of 10 is placed, and the second call answers with it
    assert first[0] == 201 and second[0] == 200
    assert second[2]["id"] == first[2]["id"]
    assert first[1]["location"] == f"/v1/orders/{first[2]['id']}"
    assert (first[2]["side"], first[2]["type"], first[2]["quantity"]) == ("sell", "market", "10")
    pipeline.run_until_quiet()
    assert seeded.get_position("demo", "GOOG").quantity == 0
    assert read("/v1/positions")["items"] == []
    status, _, body = call_api("DELETE", "/v1/positions/GOOG", token=token_for())
    assert status == 404 and body["code"] == "POSITION_NOT_FOUND"


def test_closing_again_after_a_close_was_canceled_places_a_new_order(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a long position whose first close was canceled before it filled
    place(MARKET_BUY)
    pipeline.run_until_quiet()
    first = call_api("DELETE", "/v1/positions/GOOG", token=token_for())[2]
    call_api("DELETE", f"/v1/orders/{first['id']}", token=token_for())
    pipeline.run_until_quiet()
    assert read(f"/v1/orders/{first['id']}")["status"] == "canceled"

    # When it is closed again
    status, _, second = call_api("DELETE", "/v1/positions/GOOG", token=token_for())

    # Then a new closing order is placed, and it flattens the position
    assert status == 201 and second["id"] != first["id"]
    pipeline.run_until_quiet()
    assert read(f"/v1/orders/{second['id']}")["status"] == "filled"
    assert seeded.get_position("demo", "GOOG").quantity == 0


# --- account and ledger -------------------------------------------------------------------


def test_the_account_shows_reservations_and_execution_settings(seeded: TradingStore) -> None:
    account = read("/v1/account")
    assert account["reserved"] == "0" and account["buying_power"] == "100000"
    assert account["execution"] == {
        "commission_rate": "0",
        "commission_per_unit": "0",
        "commission_minimum": "0",
        "slippage_bps": "0",
        "max_volume_share": "0",
    }


def test_an_admin_changes_the_paper_costs_and_fills_pay_them(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # When an admin sets a 10 bps commission with a 2.00 minimum
    status, _, account = call_api(
        "PATCH",
        "/v1/account",
        body={"commission_rate": "0.001", "commission_minimum": "2"},
        token=token_for(role=Role.ADMIN),
    )

    # Then the account shows it, the change is audited, and the next fill pays it
    assert status == 200
    assert (account["execution"]["commission_rate"], account["execution"]["slippage_bps"]) == (
        "0.001",
        "0",
    )
    audit = [item for item in models.AuditItem.query("demo")]
    changed = [item for item in audit if item.action == "account.execution_changed"]
    assert len(changed) == 1 and changed[0].actor == "user-demo"
    place(MARKET_BUY)
    pipeline.run_until_quiet()
    assert read("/v1/trades")["items"][0]["commission"] == "2.00000000"
    assert read("/v1/account")["commissions"] == "2.00000000"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.TRADER, Role.OPERATOR])
def test_only_an_admin_changes_the_paper_costs(seeded: TradingStore, role: Role) -> None:
    status, _, body = call_api(
        "PATCH", "/v1/account", body={"slippage_bps": "5"}, token=token_for(role=role)
    )
    assert status == 403 and body["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_volume_share": "1.5"}, "max_volume_share"),
        ({"commission_rate": "-0.001"}, "commission_rate"),
        ({"slippage_bps": 5}, "slippage_bps"),
        ({"leverage": "2"}, "leverage"),
        ({"commission_minimum": None}, "body"),
        ({}, "body"),
    ],
)
def test_bad_paper_costs_are_refused(
    seeded: TradingStore, change: dict[str, Any], field: str
) -> None:
    status, _, body = call_api(
        "PATCH", "/v1/account", body=change, token=token_for(role=Role.ADMIN)
    )
    assert status == 422 and body["code"] == "REQUEST_INVALID"
    assert body["errors"][0]["field"] == field
    assert read("/v1/account")["execution"]["max_volume_share"] == "0"


def test_the_ledger_lines_sum_to_the_cash(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given a commission and a few fills, buying and selling
    call_api(
        "PATCH",
        "/v1/account",
        body={"commission_per_unit": "0.01"},
        token=token_for(role=Role.ADMIN),
    )
    place(MARKET_BUY)
    pipeline.run_until_quiet()
    set_price("GOOG", "105.00")
    place(MARKET_BUY | {"side": "sell", "quantity": "4"})
    place(MARKET_BUY | {"quantity": "1"})
    pipeline.run_until_quiet()

    # When the ledger is read a page at a time
    lines: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = read(f"/v1/account/activities?limit=2{cursor}")
        lines += page["items"]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"

    # Then it opens with the deposit, has a fill and a commission per trade, and sums to cash
    assert lines[0]["type"] == "deposit" and lines[0]["amount"] == "100000"
    assert [line["type"] for line in lines[1:]].count("fill") == 3
    assert [line["type"] for line in lines[1:]].count("commission") == 3
    assert sum(Decimal(line["amount"]) for line in lines) == Decimal(read("/v1/account")["cash"])
    fill = next(line for line in lines if line["type"] == "fill")
    assert set(fill) == {
        "id",
        "type",
        "amount",
        "at",
        "symbol",
        "order_id",
        "trade_id",
        "description",
    }
    assert fill["symbol"] == "GOOG" and fill["trade_id"]


# --- accounts are isolated ----------------------------------------------------------------


def test_another_account_sees_none_of_this_accounts_trading(
    seeded: TradingStore, pipeline: Pipeline, other_account: str
) -> None:
    # Given account demo with a fill, a position, a resting order and ledger lines
    filled = place(MARKET_BUY | {"client_order_id": "a-1"})
    resting = place(RESTING_BUY)
    pipeline.run_until_quiet()

    # Then the other account finds none of it, and cannot touch it
    other = token_for(other_account)
    for path in ("/v1/orders", "/v1/trades", "/v1/positions"):
        assert read(path, other_account)["items"] == [], path
    ledger = read("/v1/account/activities", other_account)["items"]
    assert [line["type"] for line in ledger] == ["deposit"]
    for method, path in (
        ("GET", f"/v1/orders/{filled['id']}"),
        ("GET", "/v1/orders/by-client-id/a-1"),
        ("DELETE", f"/v1/orders/{resting['id']}"),
        ("PATCH", f"/v1/orders/{resting['id']}"),
        ("GET", "/v1/positions/GOOG"),
        ("DELETE", "/v1/positions/GOOG"),
    ):
        body = {"quantity": "1"} if method == "PATCH" else None
        status, _, problem = call_api(method, path, token=other, body=body)
        assert status == 404, (method, path, problem)
    status, _, cancel_all = call_api("DELETE", "/v1/orders", token=other)
    assert cancel_all["items"] == []
    pipeline.run_until_quiet()
    assert read(f"/v1/orders/{resting['id']}")["status"] == "accepted"
    assert seeded.get_position("demo", "GOOG").quantity == 10

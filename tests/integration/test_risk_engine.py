"""The risk engine on moto through the real handlers and API: codes with their numbers,
limits as data, the buying-power race, counters under redelivery, the kill switch,
post-trade monitoring, the dry run and RISK_TIMEOUT."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from redfire_core.adapters import models
from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.adapters.risk_store import RiskStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.positions import Position
from redfire_core.domain.roles import Role
from redfire_core.events import (
    Envelope,
    MarketDataUpdated,
    OrderCancelRequested,
    OrderSubmitted,
)
from redfire_core.services.accounts import open_account
from redfire_core.services.execution import on_cancel_requested
from redfire_core.services.placing import place_order
from redfire_core.services.risk_review import review_order
from redfire_core.views import order_view
from tests.integration.conftest import call_api, token_for
from tests.support.events import LambdaContext, eventbridge_body, sqs_event
from tests.support.pipeline import Pipeline, handler_of
from tests.support.serialised_moto import serialised_aws_calls

ADMIN = Role.ADMIN


def put_limits(body: dict[str, Any], account: str = "demo") -> tuple[int, Any]:
    status, _, answer = call_api(
        "PUT", "/v1/risk/limits", body=body, token=token_for(account, ADMIN)
    )
    return status, answer


def place(body: dict[str, Any], account: str = "demo") -> dict[str, Any]:
    order = {"symbol": "GOOG", "side": "buy", "type": "limit", "time_in_force": "gtc", **body}
    status, _, created = call_api("POST", "/v1/orders", body=order, token=token_for(account))
    assert status == 201, created
    return created  # type: ignore[no-any-return]


def order_now(order_id: str, account: str = "demo") -> dict[str, Any]:
    status, _, order = call_api("GET", f"/v1/orders/{order_id}", token=token_for(account))
    assert status == 200
    return order  # type: ignore[no-any-return]


def placed_and_reviewed(pipeline: Pipeline, body: dict[str, Any]) -> dict[str, Any]:
    created = place(body)
    pipeline.run_until_quiet()
    return order_now(created["id"])


def reasons(order: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(r["code"], r["limit"], r["actual"]) for r in order["reject_reasons"]]


@pytest.mark.parametrize(
    ("limits", "order", "expected"),
    [
        (
            {"max_order_qty": "5"},
            {"quantity": "6", "limit_price": "100.00"},
            ("RISK_MAX_ORDER_QTY", "5", "6"),
        ),
        (
            {"max_order_notional": "500"},
            {"quantity": "6", "limit_price": "100.00"},
            ("RISK_MAX_NOTIONAL", "500", "600.00"),
        ),
        (
            {"price_band_pct": "2"},
            {"quantity": "1", "limit_price": "103.00"},
            ("RISK_PRICE_BAND", "2", "3.00"),
        ),
        (
            {"max_position_qty": "5"},
            {"quantity": "6", "limit_price": "100.00"},
            ("RISK_MAX_POSITION", "5", "6"),
        ),
        (
            {"max_gross_exposure": "500"},
            {"quantity": "6", "limit_price": "100.00"},
            ("RISK_MAX_GROSS_EXPOSURE", "500", "600.00"),
        ),
        (
            {"max_daily_orders": "0"},
            {"quantity": "1", "limit_price": "90.00"},
            ("RISK_DAILY_ORDER_LIMIT", "0", "1"),
        ),
        (
            {"max_active_orders": "0"},
            {"quantity": "1", "limit_price": "90.00"},
            ("RISK_MAX_ACTIVE_ORDERS", "0", "1"),
        ),
        (
            {"max_orders_per_second": "0"},
            {"quantity": "1", "limit_price": "90.00"},
            ("RISK_ORDER_RATE", "0", "1"),
        ),
        (
            {"max_daily_trades": "0"},
            {"quantity": "1", "limit_price": "90.00"},
            ("RISK_DAILY_TRADE_LIMIT", "0", "0"),
        ),
    ],
)
def test_a_broken_limit_denies_the_order_with_its_numbers(
    seeded: TradingStore,
    pipeline: Pipeline,
    limits: dict[str, str],
    order: dict[str, str],
    expected: tuple[str, str, str],
) -> None:
    # Given an account limit set over the API
    assert put_limits({"account": limits})[0] == 200

    # When an order breaks it
    reviewed = placed_and_reviewed(pipeline, order)

    # Then it is denied, headline and list carrying the code with limit and actual
    assert reviewed["status"] == "denied"
    assert expected in reasons(reviewed)
    assert reviewed["reject_reason"]["code"] == reasons(reviewed)[0][0]


def test_a_symbol_override_applies_only_to_that_symbol(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    assert put_limits({"symbols": {"GOOG": {"max_order_qty": "2"}}})[0] == 200
    reviewed = placed_and_reviewed(pipeline, {"quantity": "3", "limit_price": "90.00"})
    assert reasons(reviewed) == [("RISK_MAX_ORDER_QTY", "2", "3")]


def test_a_duplicate_within_the_window_is_denied(seeded: TradingStore, pipeline: Pipeline) -> None:
    assert put_limits({"account": {"duplicate_window_seconds": "60"}})[0] == 200
    first = placed_and_reviewed(pipeline, {"quantity": "1", "limit_price": "90.00"})
    second = placed_and_reviewed(pipeline, {"quantity": "1", "limit_price": "90.00"})
    assert first["status"] == "accepted"
    assert reasons(second) == [("RISK_DUPLICATE_ORDER", "60", first["id"])]


def test_an_order_crossing_the_accounts_own_resting_order_is_a_self_trade(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    resting = placed_and_reviewed(
        pipeline, {"side": "buy", "quantity": "1", "limit_price": "99.00"}
    )
    assert resting["status"] == "accepted"
    crossing = placed_and_reviewed(
        pipeline, {"side": "sell", "quantity": "1", "limit_price": "98.00"}
    )
    assert ("RISK_SELF_TRADE", None, resting["id"]) in reasons(crossing)


def test_a_market_order_with_a_stale_price_is_denied(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    DynamoDbMarketDataStore().advance_latest(
        "AAPL", Decimal("200"), datetime.now(UTC) - timedelta(seconds=900)
    )
    reviewed = placed_and_reviewed(pipeline, {"symbol": "AAPL", "type": "market", "quantity": "1"})
    assert reasons(reviewed)[0][:2] == ("RISK_STALE_PRICE", "300")
    assert int(str(reasons(reviewed)[0][2])) >= 900


def test_a_cash_account_cannot_sell_short(seeded: TradingStore, pipeline: Pipeline) -> None:
    open_account(
        seeded, AuditLog(), "cashy", actor="test", now=datetime.now(UTC), margin_enabled=False
    )
    created = place({"side": "sell", "quantity": "2", "limit_price": "100.00"}, account="cashy")
    pipeline.run_until_quiet()
    assert reasons(order_now(created["id"], "cashy")) == [("RISK_SHORT_NOT_ALLOWED", "0", "2")]


def test_a_buy_beyond_buying_power_is_denied(seeded: TradingStore, pipeline: Pipeline) -> None:
    reviewed = placed_and_reviewed(pipeline, {"quantity": "1001", "limit_price": "100.00"})
    assert reasons(reviewed) == [("RISK_BUYING_POWER", "100000", "100100.00")]


# --- limits as data --------------------------------------------------------------------


def test_every_role_reads_the_limits_and_only_an_admin_changes_them(seeded: TradingStore) -> None:
    for role in (Role.VIEWER, Role.TRADER, Role.ADMIN):
        status, _, body = call_api("GET", "/v1/risk/limits", token=token_for("demo", role))
        assert status == 200 and body["effective"]["max_active_orders"] == "50"
    for role in (Role.VIEWER, Role.TRADER):
        status, _, _ = call_api(
            "PUT",
            "/v1/risk/limits",
            body={"account": {"max_order_qty": "1"}},
            token=token_for("demo", role),
        )
        assert status == 403


@pytest.mark.parametrize(
    "body",
    [
        {"account": {"max_orders": "1"}},
        {"account": {"max_order_qty": "-1"}},
        {"account": {"max_order_qty": 5}},
        {"account": {"max_active_orders": "1.5"}},
        {"account": {"breach_action": "panic"}},
        {"symbols": {"GOOG": {"price_band_pct": "abc"}}},
        {"limits": {}},
    ],
)
def test_bad_limits_are_422_problems_and_change_nothing(
    seeded: TradingStore, body: dict[str, Any]
) -> None:
    status, headers, problem = call_api(
        "PUT", "/v1/risk/limits", body=body, token=token_for("demo", ADMIN)
    )
    assert status == 422 and headers["content-type"].startswith("application/problem+json")
    assert problem["errors"][0]["code"] == "RISK_LIMIT_INVALID"
    assert RiskStore().get_overrides("demo").account == {}


def test_null_removes_an_override(seeded: TradingStore) -> None:
    put_limits(
        {
            "account": {"max_order_qty": "7", "breach_action": "halted"},
            "symbols": {"GOOG": {"max_order_qty": "3"}},
        }
    )
    status, body = put_limits({"account": {"max_order_qty": None}, "symbols": {"GOOG": None}})
    assert status == 200
    assert body["account"] == {"breach_action": "halted"} and body["symbols"] == {}
    assert body["effective"]["max_order_qty"] == "1000000"


# --- races and counters ----------------------------------------------------------------


def submitted_event(store: TradingStore, quantity: str, price: str) -> Envelope:
    body = {
        "symbol": "GOOG",
        "side": "buy",
        "type": "limit",
        "quantity": quantity,
        "limit_price": price,
    }
    order = place_order(store, "demo", body, correlation_id="c", now=datetime.now(UTC)).order
    return Envelope.wrap(
        OrderSubmitted(order=order_view(order)),
        account_id="demo",
        correlation_id="c",
        occurred_at=datetime.now(UTC),
    )


@pytest.mark.parametrize("racers", [2, 6])
def test_orders_racing_for_the_last_buying_power_cannot_all_pass(
    seeded: TradingStore, racers: int
) -> None:
    # Given 100,000 of buying power and orders of 60,000 each, submitted at once
    events = [submitted_event(seeded, "600", "100.00") for _ in range(racers)]

    # When each is reviewed by its own handler invocation, concurrently
    with serialised_aws_calls(), ThreadPoolExecutor(max_workers=racers) as pool:
        outcomes = list(pool.map(lambda e: review_order(seeded, e, datetime.now(UTC)), events))

    # Then exactly one passes and the reservation is exactly its 60,000
    assert sorted(outcomes) == ["accepted"] + ["denied"] * (racers - 1)
    account = seeded.get_account("demo")
    assert account is not None and account.reserved == Decimal("60000.00")


def test_orders_racing_for_the_last_daily_order_cannot_both_pass(seeded: TradingStore) -> None:
    put_limits({"account": {"max_daily_orders": "1"}})
    events = [submitted_event(seeded, "1", "90.00") for _ in range(4)]
    with serialised_aws_calls(), ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda e: review_order(seeded, e, datetime.now(UTC)), events))
    assert sorted(outcomes) == ["accepted", "denied", "denied", "denied"]
    book = seeded.get_account("demo")
    assert book is not None and book.counters.at(datetime.now(UTC)).orders == 1


def test_a_redelivered_cancel_is_counted_once(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given a resting order whose cancel was requested
    resting = placed_and_reviewed(pipeline, {"quantity": "1", "limit_price": "90.00"})
    call_api("DELETE", f"/v1/orders/{resting['id']}", token=token_for())
    pending = seeded.get_order("demo", resting["id"])
    assert pending is not None and pending.status.value == "pending_cancel"
    request = Envelope.wrap(
        OrderCancelRequested(order=order_view(pending)),
        account_id="demo",
        correlation_id="c",
        occurred_at=datetime.now(UTC),
    )
    # When the orders function gets the request three times (at-least-once delivery)
    for _ in range(3):
        on_cancel_requested(seeded, request, datetime.now(UTC))
    # Then the order is canceled once, and the book counted one cancel, in the same write
    assert order_now(resting["id"])["status"] == "canceled"
    book = seeded.get_account("demo")
    assert book is not None
    counters = book.counters.at(datetime.now(UTC))
    assert (counters.cancels, dict(counters.symbol_cancels)) == (1, {"GOOG": 1})


def test_the_cancel_limit_denies_new_orders_once_reached(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    put_limits({"account": {"max_daily_cancels": "1"}})
    resting = placed_and_reviewed(pipeline, {"quantity": "1", "limit_price": "90.00"})
    call_api("DELETE", f"/v1/orders/{resting['id']}", token=token_for())
    pipeline.run_until_quiet()
    assert order_now(resting["id"])["status"] == "canceled"
    reviewed = placed_and_reviewed(pipeline, {"quantity": "1", "limit_price": "91.00"})
    assert ("RISK_DAILY_CANCEL_LIMIT", "1", "1") in reasons(reviewed)


# --- trading state, kill switch --------------------------------------------------------


def test_halting_cancels_open_orders_denies_new_ones_and_is_audited(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    resting = placed_and_reviewed(pipeline, {"quantity": "1", "limit_price": "90.00"})
    assert resting["status"] == "accepted"

    status, _, state = call_api(
        "PUT",
        "/v1/risk/state",
        body={"state": "halted", "reason": "runaway strategy"},
        token=token_for("demo", ADMIN),
    )
    pipeline.run_until_quiet()

    assert (
        status == 200 and state["state"] == "halted" and state["canceled_orders"] == [resting["id"]]
    )
    assert order_now(resting["id"])["status"] == "canceled"
    denied = placed_and_reviewed(pipeline, {"quantity": "1", "limit_price": "90.00"})
    assert reasons(denied)[0] == ("RISK_TRADING_HALTED", "active", "halted")
    audit = [i for i in models.AuditItem.query("demo") if i.action == "risk.state_changed"]
    assert len(audit) == 1 and "runaway strategy" in audit[0].detail


def test_only_an_admin_sets_the_account_state(seeded: TradingStore) -> None:
    status, _, _ = call_api(
        "PUT", "/v1/risk/state", body={"state": "halted", "reason": "x"}, token=token_for()
    )
    assert status == 403


def test_reducing_lets_only_orders_that_shrink_a_position_through(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    bought = placed_and_reviewed(pipeline, {"type": "market", "quantity": "5"})
    assert bought["status"] == "filled"
    call_api(
        "PUT",
        "/v1/risk/state",
        body={"state": "reducing", "reason": "r"},
        token=token_for("demo", ADMIN),
    )
    grow = placed_and_reviewed(pipeline, {"quantity": "1", "limit_price": "90.00"})
    shrink = placed_and_reviewed(
        pipeline, {"side": "sell", "quantity": "2", "limit_price": "110.00"}
    )
    assert reasons(grow)[0] == ("RISK_REDUCE_ONLY", "5", "1")
    assert shrink["status"] == "accepted"


def test_the_global_state_is_for_operators_and_halts_every_account(
    seeded: TradingStore, pipeline: Pipeline, other_account: str
) -> None:
    resting = place({"quantity": "1", "limit_price": "90.00"}, account=other_account)
    pipeline.run_until_quiet()
    body = {"state": "halted", "reason": "exchange outage"}
    assert (
        call_api("PUT", "/v1/risk/global-state", body=body, token=token_for("demo", ADMIN))[0]
        == 403
    )
    status, _, state = call_api(
        "PUT", "/v1/risk/global-state", body=body, token=token_for("ops", Role.OPERATOR)
    )
    pipeline.run_until_quiet()
    assert status == 200 and state["state"] == "halted"
    assert order_now(resting["id"], other_account)["status"] == "canceled"
    _, _, read = call_api("GET", "/v1/risk/state", token=token_for())
    assert read["global"]["state"] == "halted"


# --- post-trade monitoring -------------------------------------------------------------


def test_a_position_bleeding_past_the_daily_loss_switches_the_account_to_reducing(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a long of 100 GOOG bought at about 100 and a daily loss limit of 500
    placed_and_reviewed(pipeline, {"type": "market", "quantity": "100"})
    put_limits({"account": {"max_daily_loss": "500"}})

    # When the price falls 10 and a MarketDataUpdated reaches the risk function
    now = datetime.now(UTC)
    DynamoDbMarketDataStore().advance_latest("GOOG", Decimal("90.00"), now)
    update = Envelope.wrap(
        MarketDataUpdated(
            symbol="GOOG",
            interval="1m",
            first_start="2026-11-25T10:00:00Z",
            last_end="2026-11-25T10:01:00Z",
            open="90",
            high="90",
            low="90",
            close="90",
            volume="1",
            bar_count=1,
        ),
        account_id=None,
        correlation_id="md",
        occurred_at=now,
    )
    body = eventbridge_body(update.model_dump_json())
    risk = handler_of("risk")
    for _ in range(2):  # a replay publishes nothing more
        assert risk(sqs_event([body]), LambdaContext()) == {"batchItemFailures": []}

    # Then the account is reducing and one RiskLimitBreached waits in the outbox
    _, _, state = call_api("GET", "/v1/risk/state", token=token_for())
    assert state["state"] == "reducing" and "RISK_MAX_DAILY_LOSS" in state["reason"]
    breached = [r for r in models.OutboxItem.query("demo") if r.event_type == "RiskLimitBreached"]
    assert len(breached) == 1


class _NoScans:
    """A DynamoDB client that refuses Scan: the request and event paths must query."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def scan(self, **_: Any) -> None:
        raise AssertionError("a Scan on an event path")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_the_holders_of_a_symbol_are_found_by_index_without_a_scan(
    seeded: TradingStore,
) -> None:
    # Given two accounts long GOOG, one that went flat again and one long AAPL only
    def opened(account: str, symbol: str, quantity: str) -> Position:
        before = Position(account, symbol)
        after = replace(before, quantity=Decimal(quantity), cost_basis=Decimal(quantity), version=1)
        seeded.write(positions_changed=[(before, after)])
        return after

    opened("acct-a", "GOOG", "10")
    opened("acct-b", "GOOG", "-3")
    flat = opened("acct-c", "GOOG", "5")
    seeded.write(positions_changed=[(flat, replace(flat, quantity=Decimal(0), version=2))])
    opened("acct-d", "AAPL", "1")
    risk = RiskStore()
    risk._client = _NoScans(boto3.client("dynamodb"))

    # When the risk function looks for the holders of GOOG, then it finds the open ones
    assert risk.holders("GOOG") == ["acct-a", "acct-b"]
    assert risk.holders("MSFT") == []


# --- dry run and timeout ---------------------------------------------------------------


def table_contents() -> dict[str, list[dict[str, Any]]]:
    client = boto3.client("dynamodb")
    declaration = get_settings().declaration
    return {
        name: sorted(client.scan(TableName=declaration.name(name))["Items"], key=repr)
        # (not "idempotency": the API's per-caller request-rate limiter counts every request)
        for name in ("orders", "accounts", "limits", "positions", "trades", "audit")
    }


def test_the_dry_run_answers_every_rule_and_writes_nothing(seeded: TradingStore) -> None:
    put_limits({"account": {"max_order_qty": "5"}})
    before = table_contents()
    body = {
        "symbol": "GOOG",
        "side": "buy",
        "type": "limit",
        "quantity": "6",
        "limit_price": "100.00",
    }
    status, _, answer = call_api("POST", "/v1/risk/check", body=body, token=token_for())
    assert status == 200
    assert answer["passed"] is False and answer["reject_reason"]["code"] == "RISK_MAX_ORDER_QTY"
    rules = {(r["code"], r["passed"]) for r in answer["rules"]}
    assert ("RISK_MAX_ORDER_QTY", False) in rules and ("RISK_BUYING_POWER", True) in rules
    assert answer["reservation"] == "600.00" and answer["buying_power"] == "100000"
    assert table_contents() == before


def test_a_passing_dry_run_says_so(seeded: TradingStore) -> None:
    body = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"}
    status, _, answer = call_api(
        "POST", "/v1/risk/check", body=body, token=token_for("demo", Role.VIEWER)
    )
    assert status == 200 and answer["passed"] is True and answer["reject_reasons"] == []


def test_an_order_left_submitted_too_long_is_denied_by_the_schedule(seeded: TradingStore) -> None:
    old = datetime.now(UTC) - timedelta(seconds=get_settings().risk_timeout_seconds + 5)
    body = {"symbol": "GOOG", "side": "buy", "type": "limit", "quantity": "1", "limit_price": "90"}
    order = place_order(seeded, "demo", body, correlation_id="c", now=old).order
    result = handler_of("risk")({"action": "deny_timed_out"}, LambdaContext())
    after = seeded.get_order("demo", order.id)
    assert result == {"denied": 1}
    assert after is not None and after.status == "denied"
    assert after.reject_reason is not None and after.reject_reason["code"] == "RISK_TIMEOUT"


def test_an_equity_mark_that_changes_nothing_writes_nothing(seeded: TradingStore) -> None:
    # Post-trade monitoring marks equity on every fill and every price update of a held
    # symbol; a write costs ten times the read that shows it is not needed.
    risk = RiskStore()
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    assert risk.mark_equity("demo", Decimal(100), now) == (Decimal(100), Decimal(100))
    writes: list[str] = []
    risk.client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: writes.append(model.name)
    )

    assert risk.mark_equity("demo", Decimal(95), now) == (Decimal(100), Decimal(100))
    assert risk.mark_equity("demo", Decimal(100), now) == (Decimal(100), Decimal(100))
    assert writes == ["GetItem", "GetItem"]

    assert risk.mark_equity("demo", Decimal(101), now) == (Decimal(100), Decimal(101))
    assert writes[2:] == ["GetItem", "UpdateItem"]

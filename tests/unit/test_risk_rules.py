"""The full rule set: each code with its numbers, limits parsing, counters, post-trade
limits, and properties of buying power and reservations."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redfire_core.domain.counters import RiskCounters
from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import Order, OrderStatus, OrderType, Side
from redfire_core.domain.positions import Position
from redfire_core.domain.risk import (
    BreachAction,
    DayMarks,
    LatestPrice,
    RiskContext,
    RiskLimits,
    TradingState,
    check_order,
    evaluate,
    limits_from,
    parse_limits,
    post_trade_breaches,
    reservation,
    stricter,
    timed_out,
    timeout_denial,
)
from tests.unit.factories import T0, a_position, an_account, an_order

FRESH = LatestPrice("AAPL", Decimal("100.00"), T0 - timedelta(seconds=10))


def ctx(**changes: Any) -> RiskContext:
    base = RiskContext(
        account=an_account("100000"),
        position=a_position(),
        latest=FRESH,
        limits=RiskLimits(),
        now=T0,
    )
    return replace(base, **changes)


def failures(order: Order, context: RiskContext) -> list[tuple[str, str | None, str | None]]:
    return [(d.code, d.limit, d.actual) for d in check_order(order, context)]


def resting(order_id: str, side: Side, price: str, quantity: str = "1") -> Order:
    order = replace(an_order(side=side, quantity=quantity, limit_price=price), id=order_id)
    return order.accept(T0)


def test_halted_denies_everything_with_the_state() -> None:
    assert failures(an_order(), ctx(state=TradingState.HALTED))[0] == (
        "RISK_TRADING_HALTED",
        "active",
        "halted",
    )


def test_a_global_halt_denies_every_account() -> None:
    assert (
        failures(an_order(), ctx(global_state=TradingState.HALTED))[0][0] == "RISK_TRADING_HALTED"
    )


def test_reducing_passes_only_orders_that_shrink_the_position() -> None:
    long5 = ctx(state=TradingState.REDUCING, position=a_position("5", "90"))
    assert failures(an_order(side=Side.SELL, quantity="5"), long5) == []
    assert failures(an_order(side=Side.SELL, quantity="6"), long5)[0] == (
        "RISK_REDUCE_ONLY",
        "5",
        "6",
    )
    assert failures(an_order(side=Side.BUY, quantity="1"), long5)[0][0] == "RISK_REDUCE_ONLY"


def test_the_price_band_stops_a_fat_finger_but_not_a_passive_limit() -> None:
    band = ctx(limits=RiskLimits(price_band_pct=Decimal(5)))
    assert failures(an_order(limit_price="106.00"), band) == [("RISK_PRICE_BAND", "5", "6.00")]
    assert failures(an_order(limit_price="50.00"), band) == []  # far below: passive
    sell = an_order(side=Side.SELL, quantity="1", limit_price="90.00")
    assert failures(sell, replace(band, position=a_position("1", "80"))) == [
        ("RISK_PRICE_BAND", "5", "10.00")
    ]


def test_the_position_limit_counts_open_orders_on_the_same_side() -> None:
    open_buy = resting("01JD0000000000000000000009", Side.BUY, "90.00", "4")
    context = ctx(
        limits=RiskLimits(max_position_qty=Decimal(10)),
        position=a_position("5", "90"),
        open_orders=[open_buy],
    )
    assert failures(an_order(quantity="2", limit_price="90.00"), context) == [
        ("RISK_MAX_POSITION", "10", "11")
    ]


def test_gross_exposure_counts_every_position_at_its_latest_price() -> None:
    others = [Position("acct-1", "MSFT", Decimal("10"), Decimal("1000"))]
    context = ctx(
        limits=RiskLimits(max_gross_exposure=Decimal(3000)),
        positions=others,
        prices={"MSFT": Decimal("200")},
    )
    assert failures(an_order(quantity="11", limit_price="100.00"), context) == [
        ("RISK_MAX_GROSS_EXPOSURE", "3000", "3100.00")
    ]


def test_active_orders_daily_counts_and_rates_report_their_numbers() -> None:
    counters = RiskCounters().record_order("AAPL", T0).record_order("AAPL", T0)
    counters = counters.record_cancel("AAPL", T0).record_trade("AAPL", T0)
    limits = RiskLimits(
        max_active_orders=1,
        max_daily_orders=2,
        max_daily_cancels=1,
        max_daily_trades=1,
        max_orders_per_second=2,
        max_orders_per_minute=2,
    )
    open_order = resting("01JD0000000000000000000009", Side.BUY, "10.00")
    got = failures(
        an_order(limit_price="90.00"),
        ctx(limits=limits, counters=counters, open_orders=[open_order]),
    )
    assert got == [
        ("RISK_MAX_ACTIVE_ORDERS", "1", "2"),
        ("RISK_DAILY_ORDER_LIMIT", "2", "3"),
        ("RISK_DAILY_ORDER_LIMIT", "2", "3"),
        ("RISK_DAILY_CANCEL_LIMIT", "1", "1"),
        ("RISK_DAILY_CANCEL_LIMIT", "1", "1"),
        ("RISK_DAILY_TRADE_LIMIT", "1", "1"),
        ("RISK_DAILY_TRADE_LIMIT", "1", "1"),
        ("RISK_ORDER_RATE", "2", "3"),
        ("RISK_ORDER_RATE", "2", "3"),
    ]


def test_counters_reset_by_themselves_at_the_boundaries() -> None:
    counters = RiskCounters().record_order("AAPL", T0)
    assert counters.at(T0 + timedelta(seconds=1)).orders_this_second == 0
    assert counters.at(T0 + timedelta(seconds=1)).orders_this_minute == 1
    assert counters.at(T0 + timedelta(days=1)).orders == 0


def test_a_duplicate_within_the_window_is_denied_and_outside_it_passes() -> None:
    twin = replace(an_order(limit_price="90.00"), id="01JD0000000000000000000009")
    limits = RiskLimits(duplicate_window_seconds=5)
    assert failures(an_order(limit_price="90.00"), ctx(limits=limits, recent_orders=[twin])) == [
        ("RISK_DUPLICATE_ORDER", "5", twin.id)
    ]
    old = replace(twin, created_at=T0 - timedelta(seconds=6))
    assert failures(an_order(limit_price="90.00"), ctx(limits=limits, recent_orders=[old])) == []
    assert failures(an_order(limit_price="90.00"), ctx(recent_orders=[twin])) == []  # off at 0


def test_crossing_the_accounts_own_resting_order_is_a_self_trade() -> None:
    own_sell = resting("01JD0000000000000000000009", Side.SELL, "99.00")
    got = failures(an_order(limit_price="99.50"), ctx(open_orders=[own_sell]))
    assert ("RISK_SELF_TRADE", None, own_sell.id) in got
    assert failures(an_order(limit_price="98.00"), ctx(open_orders=[own_sell])) == []


def test_an_unknown_instrument_is_denied_never_passed() -> None:
    assert failures(an_order(), ctx(instrument_known=False))[0] == (
        "RISK_UNKNOWN_INSTRUMENT",
        None,
        "AAPL",
    )


def test_a_margin_short_holds_buying_power_for_its_short_part() -> None:
    account = an_account("1000", margin_enabled=True)
    # Given 1,000 cash and long 5 at 100: equity 1,500 less 500 gross is 1,000 of power
    sell = an_order(side=Side.SELL, quantity="16", limit_price="100.00")
    assert reservation(sell, FRESH, account, a_position("5", "90")) == Decimal("1100.00")
    got = failures(sell, ctx(account=account, position=a_position("5", "90")))
    assert got == [("RISK_BUYING_POWER", "1000.00", "1100.00")]


def test_evaluate_gives_every_rule_a_verdict_with_numbers() -> None:
    verdicts = evaluate(an_order(limit_price="100.00"), ctx())
    assert all(v.passed for v in verdicts)
    codes = {v.code for v in verdicts}
    assert {
        "RISK_MAX_ORDER_QTY",
        "RISK_BUYING_POWER",
        "RISK_ORDER_RATE",
        "RISK_SELF_TRADE",
    } <= codes
    assert verdicts[0].as_dict()["passed"] is True


# --- limits as data ----------------------------------------------------------------------


def test_limits_layer_defaults_account_then_symbol() -> None:
    limits = limits_from({"max_order_qty": "10"}, {"max_order_qty": "5"}, {"price_band_pct": "2"})
    assert (limits.max_order_qty, limits.price_band_pct) == (Decimal(5), Decimal(2))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_orders", "1"),
        ("max_order_qty", "-1"),
        ("max_order_qty", 5),
        ("max_order_qty", "NaN"),
        ("max_active_orders", "1.5"),
        ("price_band_pct", "101"),
        ("breach_action", "panic"),
    ],
)
def test_bad_limits_are_refused(key: str, value: object) -> None:
    with pytest.raises(DomainError) as raised:
        parse_limits({key: value})
    assert raised.value.code == "RISK_LIMIT_INVALID" and raised.value.field == key


def test_null_is_kept_to_remove_an_override() -> None:
    assert parse_limits({"max_order_qty": None, "breach_action": "halted"}) == {
        "max_order_qty": None,
        "breach_action": BreachAction.HALTED,
    }


# --- post-trade ---------------------------------------------------------------------------


def test_daily_loss_and_drawdown_report_their_numbers() -> None:
    limits = RiskLimits(max_daily_loss=Decimal(500), max_drawdown_pct=Decimal(5))
    breaches = post_trade_breaches(
        Decimal("94000"), DayMarks(Decimal("95000"), Decimal("100000")), limits
    )
    assert [(b.code, b.limit, b.actual) for b in breaches] == [
        ("RISK_MAX_DAILY_LOSS", "500", "1000"),
        ("RISK_MAX_DRAWDOWN", "5", "6.00"),
    ]


def test_a_breach_only_tightens_the_state() -> None:
    assert stricter(TradingState.ACTIVE, TradingState.REDUCING) is TradingState.REDUCING
    assert stricter(TradingState.HALTED, TradingState.REDUCING) is TradingState.HALTED


def test_an_order_submitted_too_long_ago_times_out() -> None:
    order = an_order()
    later = T0 + timedelta(seconds=121)
    assert timed_out(order, later, 120) and not timed_out(order, T0 + timedelta(seconds=60), 120)
    assert timeout_denial(order, later, 120).as_dict()["code"] == "RISK_TIMEOUT"
    assert not timed_out(order.accept(T0), later, 120)
    assert order.accept(T0).status is OrderStatus.ACCEPTED


# --- properties ---------------------------------------------------------------------------

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
quantity = st.integers(min_value=1, max_value=10_000).map(Decimal)


@given(cash=money, reserved=money, qty=quantity, price=money)
def test_a_cash_buy_passes_exactly_when_its_reservation_fits(
    cash: Decimal, reserved: Decimal, qty: Decimal, price: Decimal
) -> None:
    account = an_account(str(cash), reserved=str(min(reserved, cash)))
    order = an_order(quantity=str(qty), limit_price=str(price))
    held = reservation(order, FRESH, account)
    denied = "RISK_BUYING_POWER" in {
        d.code for d in check_order(order, ctx(account=account, limits=_open()))
    }
    assert denied == (held > account.cash - account.reserved)


@given(
    cash=money,
    leverage=st.sampled_from([Decimal(1), Decimal(2), Decimal(4)]),
    held=st.integers(min_value=-500, max_value=500).map(Decimal),
    mark=money,
    qty=quantity,
)
def test_margin_buying_power_is_equity_times_leverage_less_gross_and_reservations(
    cash: Decimal, leverage: Decimal, held: Decimal, mark: Decimal, qty: Decimal
) -> None:
    account = an_account(str(cash), margin_enabled=True, leverage=str(leverage))
    position = Position("acct-1", "AAPL", held, held * mark)
    latest = LatestPrice("AAPL", mark, T0)
    order = an_order(quantity=str(qty), limit_price=str(mark))
    context = ctx(account=account, position=position, latest=latest, limits=_open())
    verdict = next(v for v in evaluate(order, context) if v.code == "RISK_BUYING_POWER")
    equity = cash + held * mark
    assert verdict.limit == equity * leverage - abs(held * mark) - account.reserved
    assert verdict.passed == (qty * mark <= verdict.limit)


@given(qty=quantity, price=money, fills=st.lists(quantity, max_size=5))
def test_fills_release_exactly_the_reservation_held(
    qty: Decimal, price: Decimal, fills: list[Decimal]
) -> None:
    account = an_account("1000000000")
    order = an_order(quantity=str(qty), limit_price=str(price))
    held = reservation(order, FRESH, account)
    working = order.accept(T0, reserved=held)
    released = Decimal(0)
    for fill in fills:
        part = min(fill, working.remaining_quantity)
        if part <= 0:
            break
        released += working.reservation_released_by(part)
        working = working.fill(part, price, T0)
    released += working.reserved  # a cancel releases the rest
    assert released == held and working.reserved >= 0


def _open() -> RiskLimits:
    """Limits that only buying power can break."""
    big = Decimal("1e15")
    return RiskLimits(
        max_order_qty=big,
        max_order_notional=big,
        max_position_qty=big,
        max_gross_exposure=big,
        price_band_pct=Decimal(100),
    )


def test_a_market_order_needs_a_fresh_price_to_be_valued() -> None:
    order = an_order(type=OrderType.MARKET, limit_price=None)
    assert failures(order, ctx(latest=None))[0] == ("RISK_STALE_PRICE", "300", "none")

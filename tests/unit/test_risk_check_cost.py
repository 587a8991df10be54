"""The per-order check's cost (issue 14 goal 5) without timing it: what an order holds
equals the plain reading it was flattened from, digits included, and a passing check on a
kept book runs the rules and little else (Python-level calls are what it pays for on
3.11; ``benchmarks/risk_check.py`` measures the time)."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from types import FrameType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from redfire_core.domain.counters import RiskCounters
from redfire_core.domain.orders import (
    ExecutionModel,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from redfire_core.domain.positions import Account, Position
from redfire_core.domain.risk import (
    PRE_TRADE_RULES,
    AccountBook,
    LatestPrice,
    RiskContext,
    RiskLimits,
    book_of_context,
    check_order,
    evaluate,
    reservation,
)
from tests.unit.factories import T0, an_order
from tests.unit.old_reservation import old_reservation


def decimals(low: int, high: int, places: int = 2) -> st.SearchStrategy[Decimal]:
    """Decimals with varied exponents (``5``, ``5.0``, ``5.00``): digits matter."""
    return st.builds(
        lambda n, p: Decimal(n).scaleb(-p), st.integers(low, high), st.integers(0, places)
    )


OPEN = [OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED]
maybe_price = st.one_of(st.none(), decimals(0, 20000))


@st.composite
def holdings(draw: st.DrawFn) -> tuple[Order, LatestPrice | None, Account, Position | None]:
    quantity = draw(decimals(0, 3000))
    order = Order(
        id="o1",
        account_id="a",
        symbol="AAPL",
        side=draw(st.sampled_from(list(Side))),
        type=draw(st.sampled_from(list(OrderType))),
        quantity=quantity,
        time_in_force=TimeInForce.GTC,
        status=draw(st.sampled_from(OPEN)),
        created_at=T0,
        updated_at=T0,
        limit_price=draw(maybe_price),
        stop_price=draw(maybe_price),
        filled_quantity=draw(st.sampled_from([Decimal(0), Decimal("0.00"), quantity / 2])),
        notional=draw(st.one_of(st.none(), decimals(1, 100_000))),
    )
    account = Account(
        id="a",
        currency="USD",
        cash=Decimal(100_000),
        created_at=T0,
        margin_enabled=draw(st.booleans()),
        execution=ExecutionModel(
            commission_rate=draw(
                st.sampled_from([Decimal(0), Decimal("0.0005"), Decimal("0.001")])
            ),
            commission_per_unit=draw(st.sampled_from([Decimal(0), Decimal("0.005")])),
            commission_minimum=draw(st.sampled_from([Decimal(0), Decimal(1), Decimal("0.35")])),
            slippage_bps=draw(st.sampled_from([Decimal(0), Decimal(5), Decimal("2.5")])),
        ),
    )
    # The market sometimes at the order's own price in other digits (5.0 against 5.00):
    # which of two equal prices is kept shows in the reservation's digits.
    own = [p * 10 for p in (order.limit_price, order.stop_price) if p is not None]
    mark = draw(st.one_of(st.none(), decimals(0, 20000), st.sampled_from(own or [None])))
    latest = (
        None if mark is None else LatestPrice("AAPL", mark.scaleb(-1) if mark in own else mark, T0)
    )
    position = draw(
        st.one_of(st.none(), st.builds(lambda q: Position("a", "AAPL", q), decimals(-3000, 3000)))
    )
    return order, latest, account, position


# A margin short limit sell with the market at its limit in other digits, no commission:
# of two equal prices the limit is the one held (its digits show).
SHORT_AT_THE_MARKET = (
    an_order(side=Side.SELL, limit_price="5.00"),
    LatestPrice("AAPL", Decimal("5.0"), T0),
    Account("a", "USD", Decimal(100_000), T0, margin_enabled=True),
    None,
)


@settings(max_examples=500, deadline=None)
@given(holdings(), decimals(0, 1000), st.sampled_from([Decimal(0), Decimal("0.01"), Decimal(1)]))
@example(SHORT_AT_THE_MARKET, Decimal(5), Decimal(0))
def test_what_an_order_holds_is_the_plain_reading_to_the_digit(
    case: tuple[Order, LatestPrice | None, Account, Position | None],
    band: Decimal,
    tick: Decimal,
) -> None:
    order, latest, account, position = case
    expected = old_reservation(order, latest, account, position, band, tick)

    held = reservation(order, latest, account, position, band, tick)

    assert (held, str(held)) == (expected, str(expected))


# --- a kept book checked at a later moment ----------------------------------------------

RULES = {rule.__code__ for rule in PRE_TRADE_RULES}
# What a passing limit buy's rules call besides themselves (each a step of its own rule's
# meaning). Not listed, on purpose: copies of the book or its counters (``replace``,
# ``__init__``), property reads, ``Verdict._make``.
HELPERS = {
    "check_order",
    "evaluate",
    "_verdicts",
    "<listcomp>",
    "_state",
    "reference_price",
    "_pending_same_side",
    "reservation",
    "commission_of",
}


def kept_book() -> tuple[Order, RiskContext, AccountBook]:
    """A margin account with positions, open orders (one resting sell), today's counters
    and a recent order, its book kept since T0, and a limit buy that passes every rule."""
    account = Account(
        id="a",
        currency="USD",
        cash=Decimal(100_000),
        created_at=T0,
        margin_enabled=True,
        leverage=Decimal(2),
        execution=ExecutionModel(commission_rate=Decimal("0.0005")),
    )
    positions = [
        Position("a", "AAPL", Decimal(20), Decimal(1800)),
        Position("a", "GOOG", Decimal(5)),
    ]

    def limit(order_id: str, side: Side, price: str, quantity: str = "5") -> Order:
        order = replace(an_order(side=side, quantity=quantity, limit_price=price), id=order_id)
        return order.accept(T0)

    open_orders = [limit("o1", Side.BUY, "95.00"), limit("o2", Side.SELL, "120.00")]
    counters = RiskCounters()
    for _ in range(3):
        counters = counters.record_order("AAPL", T0).record_cancel("AAPL", T0)
    context = RiskContext(
        account=account,
        position=positions[0],
        latest=LatestPrice("AAPL", Decimal(101), T0 - timedelta(seconds=2)),
        limits=RiskLimits(duplicate_window_seconds=5),
        now=T0,
        positions=positions,
        prices={"GOOG": Decimal(150)},
        open_orders=open_orders,
        recent_orders=open_orders[:1],
        counters=counters,
    )
    order = replace(an_order(quantity="10", limit_price="100.50"), id="o9")
    return order, context, book_of_context(context)


LATER = [
    timedelta(0),
    timedelta(milliseconds=500),
    timedelta(seconds=1),
    timedelta(seconds=61),
    timedelta(days=1),
]


def python_calls(run: Any, *args: Any) -> Counter[str]:
    """The Python functions ``run(*args)`` calls, by name (the rules left out)."""
    called: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code not in RULES:
            called[frame.f_code.co_name] += 1

    sys.setprofile(profile)
    try:
        run(*args)
    finally:
        sys.setprofile(None)
    return called


@pytest.mark.parametrize("later", LATER, ids=str)
@pytest.mark.parametrize("check", [check_order, evaluate], ids=lambda f: f.__name__)
def test_a_kept_book_checked_later_is_read_in_place_by_the_rules_and_their_helpers(
    check: Any, later: timedelta
) -> None:
    order, context, book = kept_book()
    at_later = replace(context, now=T0 + later)
    assert check_order(order, at_later, book) == []

    called = python_calls(check, order, at_later, book)

    assert set(called) <= HELPERS, set(called) - HELPERS


@pytest.mark.parametrize("later", LATER, ids=str)
def test_a_kept_book_checked_later_counts_as_a_book_built_then(later: timedelta) -> None:
    order, context, book = kept_book()
    tight = RiskLimits(
        max_daily_orders=3,
        max_daily_cancels=3,
        max_orders_per_second=3,
        max_orders_per_minute=3,
        duplicate_window_seconds=5,
    )
    at_later = replace(context, now=T0 + later, limits=tight)

    kept = [v.as_dict() for v in evaluate(order, at_later, book)]

    assert kept == [v.as_dict() for v in evaluate(order, at_later)]  # the book built then
    failed = {v["code"] for v in kept if not v["passed"]}
    assert ("RISK_DAILY_ORDER_LIMIT" in failed) == (later < timedelta(days=1))
    assert ("RISK_ORDER_RATE" in failed) == (later < timedelta(seconds=61))

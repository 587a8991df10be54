"""The backtest engine fills as the paper gateway's rules (``domain/matching.py``) do: the
same bar and the same price for market, limit, stop and stop-limit orders (floats in the
engine, Decimal in the domain)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from hypothesis import given, settings
from hypothesis import strategies as st

from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import BacktestSettings, run_backtest
from redfire_core.domain.bars import Bar as StoredBar
from redfire_core.domain.instruments import DEMO_INSTRUMENTS
from redfire_core.domain.matching import on_bar
from redfire_core.domain.orders import ExecutionModel, OrderType, Side, TimeInForce
from redfire_core.strategies import Bar, Strategy
from tests.unit.factories import T0, an_order

AAPL = next(i for i in DEMO_INSTRUMENTS if i.symbol == "AAPL")  # tick 0.01
MINUTE = timedelta(minutes=1)


@st.composite
def a_bar(draw: Any) -> tuple[int, int, int, int]:
    """Open, high, low, close in cents."""
    open_, close = draw(st.integers(9000, 11000)), draw(st.integers(9000, 11000))
    high = max(open_, close) + draw(st.integers(0, 300))
    low = min(open_, close) - draw(st.integers(0, 300))
    return open_, high, low, close


def domain_fill(
    kind: OrderType, side: Side, limit: int | None, stop: int | None, bars: list[Any]
) -> tuple[int, Decimal] | None:
    """Bar index and price at which the domain fills the order, accepted at bar 0's end."""
    order = an_order(
        side=side,
        type=kind,
        time_in_force=TimeInForce.GTC,
        limit_price=None if limit is None else Decimal(limit) / 100,
        stop_price=None if stop is None else Decimal(stop) / 100,
    ).accept(T0 + MINUTE)
    for k, (o, h, lo, c) in enumerate(bars, start=1):
        start = T0 + MINUTE * k
        bar = StoredBar("AAPL", "1m", start, *(Decimal(x) / 100 for x in (o, h, lo, c, 0)))
        decision = on_bar(order, bar, ExecutionModel(), AAPL)
        if decision.fills:
            return k, decision.fill_price  # type: ignore[return-value]
        if decision.changes:
            order = replace(order, **decision.changes)
    return None


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT]),
    buy=st.booleans(),
    limit=st.integers(9000, 11000),
    stop=st.integers(9000, 11000),
    bars=st.lists(a_bar(), min_size=1, max_size=4),
)
def test_engine_fills_where_and_as_the_domain_does(
    kind: OrderType, buy: bool, limit: int, stop: int, bars: list[Any]
) -> None:
    use_limit = limit if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
    use_stop = stop if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None
    expected = domain_fill(kind, Side.BUY if buy else Side.SELL, use_limit, use_stop, bars)

    class Place(Strategy):
        name: ClassVar[str] = "place"

        def on_bar(self, bar: Bar) -> None:
            if bar.index == 1:
                place = self.buy if buy else self.sell
                place(
                    1,
                    limit=None if use_limit is None else use_limit / 100,
                    stop=None if use_stop is None else use_stop / 100,
                )

    flat = (100.0, 100.0, 100.0, 100.0)
    rows = [flat, flat, *[tuple(x / 100 for x in b) for b in bars]]
    times = [T0 + MINUTE * (k - 1) for k in range(len(rows))]
    data = BarData(times, *([r[j] for r in rows] for j in range(4)))
    result = run_backtest(Place, data, settings=BacktestSettings(1e9, 0.0))
    fills = [(t.entry_bar - 1, t.entry_price) for t in result.trades]
    if expected is None:
        assert not fills
    else:
        assert fills, expected
        bar_index, price = fills[0]
        assert (bar_index, round(Decimal(price), 2)) == (expected[0], expected[1])

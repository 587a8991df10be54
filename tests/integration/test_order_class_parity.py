"""Parity: one recorded bar stream through the paper gateway's path (the orders function
in moto, bar by bar) and through the backtester gives the same orders, fills and final
position for a bracket, whichever of its exits fills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import pytest

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import BacktestSettings, run_backtest
from redfire_core.events import Envelope, MarketDataUpdated
from redfire_core.services.execution import on_market_data
from redfire_core.services.placing import place_order
from redfire_core.strategies import Bar, Strategy
from redfire_core.strategies.base import Fill, StrategyOrder
from tests.support.pipeline import Pipeline

MINUTE = timedelta(minutes=1)
FLAT = (100.0, 100.0, 100.0, 100.0)
ENTRY = (100.0, 100.5, 98.5, 99.5)  # reaches the 99 limit entry
QUIET = (99.5, 100.5, 99.0, 100.0)  # reaches neither exit
TO_TAKE_PROFIT = (100.0, 111.0, 99.8, 110.5)
TO_STOP = (99.0, 99.5, 94.0, 94.5)
RECORDED = {
    "take_profit": [ENTRY, QUIET, TO_TAKE_PROFIT, FLAT],
    "stop_loss": [ENTRY, QUIET, TO_STOP, FLAT],
}
Outcome = tuple[list[tuple[int, str, str]], list[tuple[int, Decimal, Decimal]], Decimal]


def paper(store: TradingStore, pipeline: Pipeline, bars: list[tuple[float, ...]]) -> Outcome:
    """The bracket placed and decided, then each bar through ``on_market_data`` at its end."""
    body = {
        "symbol": "GOOG",
        "side": "buy",
        "type": "limit",
        "limit_price": "99.00",
        "quantity": "10",
        "time_in_force": "gtc",
        "order_class": "bracket",
        "take_profit": {"limit_price": "110.00"},
        "stop_loss": {"stop_price": "95.00"},
    }
    placed = place_order(store, "demo", body, correlation_id="parity", now=datetime.now(UTC))
    pipeline.run_until_quiet()
    first = datetime.now(UTC).replace(second=0, microsecond=0) + MINUTE
    ends = {}
    for k, (o, h, lo, c) in enumerate(bars, start=1):
        start = first + MINUTE * (k - 1)
        ends[start + MINUTE] = k
        update = MarketDataUpdated(
            symbol="GOOG",
            interval="1m",
            bar_count=1,
            first_start=start.isoformat(),
            last_end=(start + MINUTE).isoformat(),
            open=f"{o:.2f}",
            high=f"{h:.2f}",
            low=f"{lo:.2f}",
            close=f"{c:.2f}",
            volume="1000",
        )
        event = Envelope.wrap(update, account_id=None, correlation_id="parity", occurred_at=start)
        on_market_data(store, event, start + MINUTE)
    group = [placed.order.id, *placed.order.leg_ids]
    orders = [store.get_order("demo", order_id) for order_id in group]
    statuses = sorted(
        (0 if o.parent_order_id is None else 1, o.type.value, o.status.value)
        for o in orders
        if o is not None
    )
    fills = sorted(
        (ends[t.executed_at], t.quantity if t.side == "buy" else -t.quantity, t.price)
        for t in store.list_trades("demo").items
    )
    return statuses, fills, store.get_position("demo", "GOOG").quantity


def backtest(bars: list[tuple[float, ...]]) -> Outcome:
    """The same bracket placed by a strategy on the bar before the stream (bar 1 of the
    data: bars are numbered here as on paper, the stream's first being 1)."""
    fills: list[Fill] = []
    ended: list[StrategyOrder] = []

    class Bracket(Strategy):
        name: ClassVar[str] = "bracket"

        def on_bar(self, bar: Bar) -> None:
            if bar.index == 1:  # the engine's first bar handed to on_bar
                self.bracket("buy", 10, limit=99.0, take_profit=110.0, stop_loss=95.0)

        def on_fill(self, fill: Fill) -> None:
            fills.append(fill)

        def on_order(self, order: StrategyOrder) -> None:
            ended.append(order)

    rows = [FLAT, FLAT, *bars]
    first = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    data = BarData([first + MINUTE * k for k in range(len(rows))], *zip(*rows, strict=True))
    run_backtest(Bracket, data, settings=BacktestSettings(1e9, 0.0))
    statuses = sorted((0 if o.parent is None else 1, o.type, o.status) for o in ended)
    cent = Decimal("0.01")
    made = sorted(
        (f.bar - 1, Decimal(str(f.quantity)), Decimal(str(round(f.price, 2))).quantize(cent))
        for f in fills
    )
    position = sum((q for _, q, _ in made), Decimal(0))
    return statuses, made, position


@pytest.mark.parametrize("exit_filled", sorted(RECORDED))
def test_a_bracket_fills_the_same_on_paper_and_in_the_backtester(
    seeded: TradingStore, pipeline: Pipeline, exit_filled: str
) -> None:
    # Given one recorded bar stream
    bars = RECORDED[exit_filled]

    # When the bracket goes through the paper gateway and through the backtester
    on_paper = paper(seeded, pipeline, bars)
    backtested = backtest(bars)

    # Then the orders end the same, with the same fills on the same bars, and flat
    assert on_paper == backtested
    statuses, fills, position = on_paper
    filled_exit = "limit" if exit_filled == "take_profit" else "stop"
    assert (1, filled_exit, "filled") in statuses and position == 0
    assert [bar for bar, _, _ in fills] == [1, 3]
    assert pipeline.failures == []

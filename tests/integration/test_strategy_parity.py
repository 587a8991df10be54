"""Live = backtest: one recorded bar stream replayed through the live runner (the paper
gateway matching each bar, the order path in between) and through the backtester gives
the same orders, fills and final position, for a strategy with an expiring limit entry,
a protective stop placed in ``on_fill`` and a trailing stop moved bar by bar."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.adapters.strategy_instances import StrategyInstanceStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import run_backtest
from redfire_core.domain.bars import Bar as StoredBar
from redfire_core.events import Envelope, MarketDataUpdated, iso
from redfire_core.services import execution
from redfire_core.services import strategy_instances as service
from redfire_core.strategies import Bar, Fill, Strategy, StrategyOrder
from redfire_core.strategies.builtin import BUILT_IN
from tests.support.pipeline import Pipeline

MINUTE = timedelta(minutes=1)
SIZE = 10


class TrailingPullback(Strategy):
    """Above its SMA, bid under the close (0.9, then 0.3) for two bars, then the entry
    expires; once filled, a stop 1.5 under the fill (placed in ``on_fill``) trails the
    close."""

    name: ClassVar[str] = "parity_test"

    def on_start(self) -> None:
        self.average = self.sma(3)
        self.entry: StrategyOrder | None = None
        self.entry_age = 0
        self.attempts = 0
        self.stop_order: StrategyOrder | None = None

    def on_bar(self, bar: Bar) -> None:
        if self.entry is not None and self.entry in self.orders:
            self.entry_age += 1
            if self.entry_age >= 2:
                self.cancel(self.entry)
                self.entry = None
        elif self.position == 0 and self.stop_order is None and bar.close > self.average.value:
            depth = 0.9 if self.attempts % 2 == 0 else 0.3  # every other bid is deep
            self.entry = self.buy(SIZE, limit=round(bar.close - depth, 2))
            self.entry_age = 0
            self.attempts += 1
        stop = self.stop_order
        if stop is not None and stop in self.orders and stop.stop is not None:
            wanted = round(bar.close - 1.5, 2)
            if wanted >= stop.stop + 0.2:
                self.cancel(stop)
                self.stop_order = self.sell(SIZE, stop=wanted)

    def on_fill(self, fill: Fill) -> None:
        if self.entry is not None and fill.order_id == self.entry.id:
            self.entry = None
            self.stop_order = self.sell(SIZE, stop=round(fill.price - 1.5, 2))
        elif self.stop_order is not None and fill.order_id == self.stop_order.id:
            self.stop_order = None


def recorded_stream(origin: datetime, n: int = 48) -> list[StoredBar]:
    """Each bar opens at the previous close; two waves up and down."""
    bars = []
    previous = 100.0
    for i in range(n):
        close = round(100 + 4 * math.sin(i / 4) + 0.03 * i, 2)
        high = round(max(previous, close) + 0.4, 2)
        low = round(min(previous, close) - 0.4, 2)
        bars.append(
            StoredBar("GOOG", "1m", origin + i * MINUTE, Decimal(str(previous)),
                      Decimal(str(high)), Decimal(str(low)), Decimal(str(close)), Decimal(100))
        )  # fmt: skip
        previous = close
    return bars


def update_event(bar: StoredBar) -> Envelope:
    return Envelope.wrap(
        MarketDataUpdated(
            symbol="GOOG",
            interval="1m",
            first_start=iso(bar.start),
            last_end=iso(bar.end),
            open=str(bar.open),
            high=str(bar.high),
            low=str(bar.low),
            close=str(bar.close),
            volume=str(bar.volume),
            bar_count=1,
        ),
        account_id=None,
        correlation_id="corr-parity",
        occurred_at=bar.end,
    )


@pytest.fixture
def parity_strategy() -> Iterator[None]:
    BUILT_IN[TrailingPullback.name] = TrailingPullback
    yield
    BUILT_IN.pop(TrailingPullback.name, None)


def backtest_outcome(stream: list[StoredBar]) -> dict[str, Any]:
    data = BarData(
        [b.start for b in stream],
        [float(b.open) for b in stream],
        [float(b.high) for b in stream],
        [float(b.low) for b in stream],
        [float(b.close) for b in stream],
        [float(b.volume) for b in stream],
    )
    result = run_backtest(TrailingPullback, data)
    fills = [(o.id, o.side * o.filled_quantity, o.fill_price) for o in result.orders
             if o.status == "filled"]  # fmt: skip
    # Ended orders (the one still working at the end is left out on both sides).
    orders = sorted((o.id, o.side, o.quantity, o.limit, o.stop, o.status) for o in result.orders)
    return {"orders": orders, "fills": sorted(fills), "position": sum(q for _, q, _ in fills)}


def test_a_replayed_stream_gives_the_backtests_orders_fills_and_position(
    seeded: TradingStore, pipeline: Pipeline, parity_strategy: None
) -> None:
    # The stream lies just ahead of the clock, so orders rest before the bars they meet.
    origin = datetime.now(UTC).replace(second=0, microsecond=0) + 2 * MINUTE
    stream = recorded_stream(origin)
    warmup = 3  # the backtest first calls on_bar on bar 3 (SMA(3) ready on bar 2)
    market = DynamoDbMarketDataStore()
    market.write_bars(stream[:warmup])
    instance = service.start_instance(
        StrategyInstanceStore(), TradingStore(), market, "demo", strategy="parity_test",
        params={}, symbol="GOOG", interval="1m", now=origin + warmup * MINUTE,
    )  # fmt: skip
    for bar in stream[warmup:]:
        market.write_bars([bar])
        market.advance_latest("GOOG", bar.close, bar.end)
        event = update_event(bar)
        execution.on_market_data(seeded, event, bar.end)  # the paper gateway meets the bar
        pipeline.run_until_quiet()  # fills reach the strategy (on_fill) first
        service.on_market_data(
            StrategyInstanceStore(), seeded, market, event, bar.end
        )  # then on_bar
        pipeline.run_until_quiet()  # what it placed or canceled goes through the order path

    live_orders = []
    live_fills = []
    for order in seeded.list_orders("demo", 100, None).items:
        parsed = service.parse_client_order_id(order.client_order_id)
        assert parsed is not None and parsed[0] == instance.id
        side = 1 if order.side.value == "buy" else -1
        status = {"filled": "filled", "canceled": "canceled"}.get(order.status.value, "working")
        limit = float(order.limit_price) if order.limit_price else None
        stop = float(order.stop_price) if order.stop_price else None
        live_orders.append((parsed[1], side, float(order.quantity), limit, stop, status))
        if order.filled_quantity:
            live_fills.append((parsed[1], side * float(order.filled_quantity),
                               float(order.average_fill_price or 0)))  # fmt: skip

    expected = backtest_outcome(stream)
    finished = [o for o in sorted(live_orders) if o[5] != "working"]
    assert finished == expected["orders"]
    assert sorted(live_fills) == expected["fills"]
    assert sum(q for _, q, _ in live_fills) == expected["position"]
    kinds = {(o[3] is not None, o[4] is not None) for o in finished}
    assert kinds >= {(True, False), (False, True)}  # limit entries and stops both ran
    assert any(o[5] == "canceled" and o[3] is not None for o in finished)  # an entry expired
    assert any(o[5] == "canceled" and o[4] is not None for o in finished)  # a stop trailed

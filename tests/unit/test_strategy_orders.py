"""``self.orders`` and ``cancel`` by handle or id work the same in a backtest; what a live
instance keeps between invocations (strategies/snapshot.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import run_backtest
from redfire_core.strategies import Bar, Strategy, StrategyError, StrategyOrder
from redfire_core.strategies.snapshot import restore, snapshot

START = datetime(2025, 1, 1, tzinfo=UTC)


def _data(n: int = 10) -> BarData:
    closes = [100.0] * n
    return BarData(
        [START + timedelta(days=i) for i in range(n)],
        closes,
        [101.0] * n,
        [99.0] * n,
        closes,
        [1.0] * n,
    )


class Expiring(Strategy):
    """A limit entry far below the market, listed in ``self.orders`` and canceled by id
    on the next bar."""

    name: ClassVar[str] = "expiring_unit"
    parameters: ClassVar[dict[str, Any]] = {"by_id": True}

    def on_start(self) -> None:
        self.entry: StrategyOrder | None = None
        self.seen: list[list[int]] = []
        self.ended: list[str] = []

    def on_bar(self, bar: Bar) -> None:
        self.seen.append([o.id for o in self.orders])
        if self.entry is None:
            self.entry = self.buy(1, limit=50)
        elif self.entry in self.orders:
            self.cancel(self.entry.id if self.params["by_id"] else self.entry)

    def on_order(self, order: StrategyOrder) -> None:
        self.ended.append(order.status)


@pytest.mark.parametrize("by_id", [True, False])
def test_a_backtest_lists_working_orders_and_cancels_by_handle_or_id(by_id: bool) -> None:
    result = run_backtest(Expiring, _data(4), {"by_id": by_id})
    assert [o.status for o in result.orders] == ["canceled"]
    assert result.orders[0].reason == "canceled by the strategy"
    assert not result.trades


def test_attributes_and_order_handles_survive_a_snapshot() -> None:
    first = Expiring(_NoBroker(), {})
    first.on_start()
    first.entry = StrategyOrder(3, 1, 1.0, limit=50.0)
    first.seen = [[], [3]]
    kept = snapshot(first)

    again = Expiring(_NoBroker(), {})
    again.on_start()
    working = [StrategyOrder(3, 1, 1.0, limit=50.0)]
    restore(again, kept, working)

    assert again.entry is working[0]
    assert again.seen == [[], [3]]


def test_an_attribute_a_live_instance_cannot_keep_is_an_error_naming_it() -> None:
    strategy = Expiring(_NoBroker(), {})
    strategy.on_start()
    strategy.seen = {1, 2}  # type: ignore[assignment]
    with pytest.raises(StrategyError) as refused:
        snapshot(strategy)
    assert refused.value.code == "STRATEGY_STATE_UNSUPPORTED"
    assert "'seen'" in str(refused.value)


class _NoBroker:
    position = 0.0
    equity = 0.0
    bar_index = 0
    orders: ClassVar[list[StrategyOrder]] = []

    def submit(self, order: StrategyOrder) -> StrategyOrder:
        return order

    def cancel(self, order: StrategyOrder) -> None:
        """Nothing to cancel."""


class Holder(Strategy):
    """Buys 10 on its first bar, then notes its average price and unrealized P&L."""

    name: ClassVar[str] = "holder_unit"

    def on_start(self) -> None:
        self.noted: list[tuple[float, float, float]] = []

    def on_bar(self, bar: Bar) -> None:
        if not self.noted and self.position == 0:
            self.buy(10)
        self.noted.append((self.position, self.position_price, self.position_pnl))


def test_a_backtest_shows_the_positions_average_price_and_unrealized_pnl() -> None:
    closes = [100.0, 101.0, 103.0, 106.0]
    data = BarData(
        [START + timedelta(days=i) for i in range(4)],
        [99.0, 100.5, 102.0, 105.0],  # opens: the buy placed on bar 1 fills at 102.0
        [c + 1 for c in closes],
        [c - 2 for c in closes],
        closes,
        [1.0] * 4,
    )
    strategy: list[Holder] = []

    class Watched(Holder):
        def on_start(self) -> None:
            super().on_start()
            strategy.append(self)

    run_backtest(Watched, data)

    flat, *held = strategy[0].noted
    assert flat[0] == 0 and flat[2] == 0.0
    assert held == [(10, 102.0, 10 * (103.0 - 102.0)), (10, 102.0, 10 * (106.0 - 102.0))]


class Looking(Strategy):
    """Notes what ``self.data`` holds on each bar, and tries to read the next bar."""

    name: ClassVar[str] = "looking_unit"
    seen: ClassVar[list[tuple[int, list[float], float]]] = []

    def on_bar(self, bar: Bar) -> None:
        with pytest.raises(IndexError):
            self.data.close[bar.index + 1]
        Looking.seen.append((len(self.data), self.data.close[-3:], self.data.high[-1]))


def test_self_data_holds_the_bars_up_to_the_current_one() -> None:
    data = _data(5)
    data.close[:] = [1.0, 2.0, 3.0, 4.0, 5.0]
    Looking.seen.clear()

    run_backtest(Looking, data)

    assert Looking.seen == [
        (2, [1.0, 2.0], 101.0),
        (3, [1.0, 2.0, 3.0], 101.0),
        (4, [2.0, 3.0, 4.0], 101.0),
        (5, [3.0, 4.0, 5.0], 101.0),
    ]

"""The signal-bar path (``Strategy.signal_bars``) against the general bar-by-bar loop:
the same trades, orders, equity curve and warm-up on any data, including runs that lose
everything and stop."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import BacktestResult, BacktestSettings, run_backtest
from redfire_core.strategies import Bar, Fill, Strategy, StrategyFailed, StrategyOrder
from redfire_core.strategies.builtin import SmaCross
from redfire_core.strategies.indicators import SMA, crossing_bars, crossover


class EveryBar(SmaCross):
    """sma_cross with ``on_bar`` overridden alone: the engine must run it on every bar."""

    def on_bar(self, bar: Bar) -> None:
        self.state["calls"] = self.state.get("calls", 0) + 1
        super().on_bar(bar)


class LimitCross(Strategy):
    """Acts on crossings with limit orders that may stay working for many bars."""

    name: ClassVar[str] = "limit_cross"
    parameters: ClassVar[dict[str, Any]] = {"fast": 3, "slow": 8}

    def on_start(self) -> None:
        self.fast = self.sma(self.params["fast"])
        self.slow = self.sma(self.params["slow"])

    def signal_bars(self) -> list[int] | None:
        a, b = self.fast.history, self.slow.history
        return None if a is None or b is None else crossing_bars(a, b)

    def on_bar(self, bar: Bar) -> None:
        if crossover(self.fast, self.slow):
            self.close()
            self.buy(size=3, limit=bar.close * 0.99)
        elif crossover(self.slow, self.fast):
            self.close()
            self.sell(size=2, stop=bar.close * 0.995)


class LimitCrossEveryBar(LimitCross):
    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)


def walk(moves: list[float]) -> BarData:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    times, o, h, lo, c = [], [], [], [], []
    price = 100.0
    for i, move in enumerate(moves):
        opened = price
        closed = round(max(0.01, price * (1 + move)), 2)
        times.append(start + timedelta(minutes=i))
        o.append(opened)
        c.append(closed)
        h.append(max(opened, closed) * 1.002)
        lo.append(min(opened, closed) * 0.998)
        price = closed
    return BarData(times, o, h, lo, c)


def same(a: BacktestResult, b: BacktestResult) -> None:
    assert a.warmup == b.warmup
    assert a.equity == b.equity
    assert [vars_of(t) for t in a.trades] == [vars_of(t) for t in b.trades]
    assert [vars_of(o) for o in a.orders] == [vars_of(o) for o in b.orders]


def vars_of(item: Any) -> tuple[Any, ...]:
    return tuple(getattr(item, name) for name in type(item).__slots__)


def _seeded(seed: int, n: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(-0.03, 0.03) for _ in range(n)]


moves = st.one_of(
    st.lists(
        st.one_of(
            st.floats(min_value=-0.03, max_value=0.03),
            st.sampled_from([0.0, 0.0, 1.5, 3.0, -0.6]),  # flat bars, jumps that ruin a short
        ),
        min_size=1,
        max_size=300,
    ),
    st.builds(_seeded, st.integers(0, 2**32), st.integers(1, 400)),  # long random walks
)


@settings(max_examples=150, deadline=None)
@given(
    moves=moves,
    fast=st.integers(1, 6),
    slow=st.integers(2, 20),
    cash=st.sampled_from([50.0, 1_000.0, 100_000.0]),
    commission=st.sampled_from([0.0, 0.002, 0.05]),
)
def test_sma_cross_on_its_signal_bars_equals_every_bar(
    moves: list[float], fast: int, slow: int, cash: float, commission: float
) -> None:
    data = walk(moves)
    params = {"fast": fast, "slow": slow}
    run = BacktestSettings(cash, commission)
    if len(data) < max(fast, slow):
        return
    signal = run_backtest(SmaCross, data, params, run)
    general = run_backtest(EveryBar, data, params, run)
    same(signal, general)


@settings(max_examples=100, deadline=None)
@given(moves=moves, slippage=st.sampled_from([0.0, 5.0]))
def test_working_orders_are_handled_on_every_bar_until_they_end(
    moves: list[float], slippage: float
) -> None:
    data = walk(moves)
    if len(data) < 8:
        return
    run = BacktestSettings(10_000.0, 0.001, slippage)
    same(run_backtest(LimitCross, data, {}, run), run_backtest(LimitCrossEveryBar, data, {}, run))


def test_a_subclass_overriding_on_bar_alone_is_called_on_every_bar_after_warm_up() -> None:
    data = walk([0.01, -0.02, 0.03] * 20)
    result = run_backtest(EveryBar, data, {"fast": 2, "slow": 5})
    assert result.state["calls"] == len(data) - 1 - result.warmup


def test_crossing_bars_are_where_crossover_holds() -> None:
    closes = walk([0.01, -0.02, 0.03, 0.0, -0.01] * 30).close
    fast, slow = SMA(3), SMA(7)
    expected = []
    for i, close in enumerate(closes):
        fast.update(close)
        slow.update(close)
        if crossover(fast, slow) or crossover(slow, fast):
            expected.append(i)
    assert crossing_bars(SMA(3).series(closes), SMA(7).series(closes)) == expected
    assert expected


def test_a_short_ruined_between_signals_stops_where_the_general_loop_stops() -> None:
    # fast 5 over slow 2: it sells short as prices rise, and a steady rise crosses nothing.
    data = walk([0.0] * 6 + [-0.05] * 3 + [0.08] * 40)
    params = {"fast": 5, "slow": 2}
    run = BacktestSettings(10_000.0, 0.001)
    signal = run_backtest(SmaCross, data, params, run)
    same(signal, run_backtest(EveryBar, data, params, run))
    ruined = signal.equity.index(0.0)
    assert ruined < len(data) - 1 and ruined not in crossing_bars(
        SMA(5).series(data.close), SMA(2).series(data.close)
    )


class Watching(LimitCross):
    """Records in its state what its fill and order hooks see (the indicators too)."""

    def on_fill(self, fill: Fill) -> None:
        seen = (vars_of(fill), self.fast.value, self.fast.previous, self.slow.value)
        self.state.setdefault("seen", []).append(seen)

    def on_order(self, order: StrategyOrder) -> None:
        seen = (order.id, order.status, self.fast.value, self.slow.previous)
        self.state.setdefault("seen", []).append(seen)


class WatchingEveryBar(Watching):
    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)


@settings(max_examples=60, deadline=None)
@given(moves=moves)
def test_fill_and_order_hooks_see_what_they_see_bar_by_bar(moves: list[float]) -> None:
    data = walk(moves)
    if len(data) < 8:
        return
    run = BacktestSettings(10_000.0, 0.001)
    signal = run_backtest(Watching, data, {}, run)
    general = run_backtest(WatchingEveryBar, data, {}, run)
    same(signal, general)
    assert signal.state == general.state


class Inspecting(LimitCross):
    """Reads what issue 21 gave a strategy (``self.data``, ``self.orders``, the position's
    price and P&L) in every hook: the signal-bar path must show what the general loop shows."""

    def _look(self, hook: str) -> None:
        seen = (
            hook,
            len(self.data),
            self.data.close[-1],
            [o.id for o in self.orders],
            self.position,
            self.position_price,
            self.position_pnl,
        )
        self.state.setdefault("seen", []).append(seen)

    def on_bar(self, bar: Bar) -> None:
        self._look("on_bar")
        if len(self.orders) > 1:
            self.cancel(self.orders[0])
        super().on_bar(bar)

    def on_fill(self, fill: Fill) -> None:
        self._look("on_fill")

    def on_order(self, order: StrategyOrder) -> None:
        self._look("on_order")


class InspectingEveryBar(Inspecting):
    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)


@settings(max_examples=60, deadline=None)
@given(moves=moves)
def test_history_orders_and_position_read_the_same_on_signal_bars(moves: list[float]) -> None:
    data = walk(moves)
    if len(data) < 8:
        return
    run = BacktestSettings(10_000.0, 0.001)
    signal = run_backtest(Inspecting, data, {}, run)
    general = run_backtest(InspectingEveryBar, data, {}, run)
    same(signal, general)
    assert signal.state == general.state


class FailsOnThirdSignal(LimitCross):
    """Raises in the hook ``self.params['hook']`` names, on its third call."""

    parameters: ClassVar[dict[str, Any]] = {"fast": 3, "slow": 8, "hook": "on_bar"}

    def signal_bars(self) -> list[int] | None:
        if self.params["hook"] == "signal_bars":
            raise ValueError("no signals today")
        return super().signal_bars()

    def _count(self, hook: str) -> None:
        if self.params["hook"] == hook:
            self.state[hook] = self.state.get(hook, 0) + 1
            if self.state[hook] == 3:
                raise ZeroDivisionError("third time")

    def on_bar(self, bar: Bar) -> None:
        self._count("on_bar")
        super().on_bar(bar)

    def on_fill(self, fill: Fill) -> None:
        self._count("on_fill")

    def on_order(self, order: StrategyOrder) -> None:
        self._count("on_order")


class FailsOnThirdCall(FailsOnThirdSignal):
    def on_bar(self, bar: Bar) -> None:
        self._count("on_bar_every")
        super().on_bar(bar)


def _failure(strategy: type[Strategy], data: BarData, hook: str) -> StrategyFailed:
    with pytest.raises(StrategyFailed) as raised:
        run_backtest(strategy, data, {"hook": hook}, BacktestSettings(10_000.0, 0.001))
    return raised.value


@pytest.mark.parametrize("hook", ["on_bar", "on_fill", "on_order"])
def test_a_hook_raising_on_the_signal_bar_path_is_strategy_failed_naming_its_bar(
    hook: str,
) -> None:
    data = walk(_seeded(5, 400))
    failed = _failure(FailsOnThirdSignal, data, hook)
    assert failed.hook == hook and failed.code == "STRATEGY_ERROR"
    assert f"ZeroDivisionError in {hook}: third time" in str(failed)
    if hook != "on_bar":  # the general loop reaches the same fill or order on the same bar
        assert failed.bar_time == _failure(FailsOnThirdCall, data, hook).bar_time
    else:  # the third crossing bar
        fast, slow = SMA(3).series(data.close), SMA(8).series(data.close)
        assert failed.bar_time == data.times[crossing_bars(fast, slow)[2]]


def test_signal_bars_raising_is_strategy_failed_before_any_bar() -> None:
    failed = _failure(FailsOnThirdSignal, walk(_seeded(5, 100)), "signal_bars")
    assert failed.hook == "signal_bars" and failed.bar_time is None
    assert "ValueError in signal_bars: no signals today" in str(failed)

"""Backtest engine semantics on tiny hand-made data sets (docs/backtesting.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from redfire_core.backtest.data import BarData, DataError, read_rows
from redfire_core.backtest.engine import BacktestSettings, run_backtest
from redfire_core.strategies import Bar, Fill, Strategy, StrategyError, StrategyOrder


def bars(rows: list[tuple[float, float, float, float]]) -> BarData:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    times = [start + timedelta(days=i) for i in range(len(rows))]
    return BarData(
        times,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )


class Script(Strategy):
    """Places the orders listed for each bar index: (method, kwargs)."""

    name: ClassVar[str] = "script"
    plan: ClassVar[dict[int, list[tuple[str, dict[str, Any]]]]] = {}

    def on_start(self) -> None:
        self.fills: list[Fill] = []
        self.ended: list[StrategyOrder] = []

    def on_bar(self, bar: Bar) -> None:
        for method, kwargs in self.plan.get(bar.index, []):
            getattr(self, method)(**kwargs)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def on_order(self, order: StrategyOrder) -> None:
        self.ended.append(order)


def script(plan: dict[int, list[tuple[str, dict[str, Any]]]]) -> type[Script]:
    return type("Planned", (Script,), {"plan": plan})


FLAT = [(10.0, 11.0, 9.0, 10.0)] * 2


def test_market_order_fills_at_the_next_bars_open() -> None:
    data = bars([*FLAT, (12.0, 13.0, 11.0, 12.5), (13.0, 14.0, 12.0, 13.0)])
    result = run_backtest(script({1: [("buy", {"size": 10})]}), data)
    trade = result.trades[0]
    assert (trade.entry_bar, trade.entry_price, trade.size) == (2, 12.0, 10)


def test_all_equity_buys_the_largest_whole_number_that_fits_with_commission() -> None:
    # 1000 cash, open 9.9, commission 1%: 9.9 * 1.01 = 9.999 per unit -> 100 units fit
    # (999.9); at 0% it would be 101.
    data = bars([*FLAT, (9.9, 10.0, 9.8, 9.9), (9.9, 10.0, 9.8, 9.9)])
    with_fee = run_backtest(
        script({1: [("buy", {})]}), data, settings=BacktestSettings(1000.0, 0.01)
    )
    free = run_backtest(script({1: [("buy", {})]}), data, settings=BacktestSettings(1000.0, 0.0))
    assert with_fee.trades[0].size == 100
    assert free.trades[0].size == 101


def test_commission_is_charged_on_every_fill_at_rate_times_notional() -> None:
    data = bars([*FLAT, (10.0, 11.0, 9.0, 10.0), (20.0, 21.0, 19.0, 20.0), (20.0, 21.0, 19.0, 20)])
    result = run_backtest(
        script({1: [("buy", {"size": 10})], 2: [("close", {})]}),
        data,
        settings=BacktestSettings(1000.0, 0.01),
    )
    trade = result.trades[0]
    assert trade.commission == pytest.approx(0.01 * 10 * 10 + 0.01 * 10 * 20)
    assert trade.pnl == pytest.approx(10 * (20 - 10) - 3.0)
    assert result.equity[-1] == pytest.approx(1000 + 100 - 3)


def test_an_open_position_is_closed_at_the_last_bars_open_and_counted() -> None:
    data = bars([*FLAT, (10.0, 11.0, 9.0, 10.0), (15.0, 16.0, 14.0, 16.0)])
    result = run_backtest(script({1: [("buy", {"size": 1})]}), data)
    assert len(result.trades) == 1
    trade = result.trades[0]
    assert (trade.exit_bar, trade.exit_price) == (3, 15.0)
    assert result.equity[-1] == pytest.approx(10_000 + 5)


def test_close_then_sell_all_equity_reverses_the_position() -> None:
    data = bars([*FLAT, (10.0, 10, 10, 10), (20.0, 20, 20, 20), (20.0, 20, 20, 20)])
    result = run_backtest(
        script({1: [("buy", {})], 2: [("close", {}), ("sell", {})]}),
        data,
        settings=BacktestSettings(100.0, 0.0),
    )
    first, second = result.trades
    assert (first.size, first.entry_price, first.exit_price) == (10, 10.0, 20.0)
    assert (second.size, second.entry_price) == (-10, 20.0)  # 200 equity / 20


def test_limit_buy_fills_at_its_price_or_at_a_better_gap_open() -> None:
    data = bars([*FLAT, (10.0, 10.5, 9.5, 10.0), (8.0, 8.5, 7.5, 8.0), (8.0, 8.0, 8.0, 8.0)])
    touched = run_backtest(script({1: [("buy", {"size": 1, "limit": 9.6})]}), data)
    gapped = run_backtest(script({1: [("buy", {"size": 1, "limit": 9.0})]}), data)
    assert (touched.trades[0].entry_bar, touched.trades[0].entry_price) == (2, 9.6)
    assert (gapped.trades[0].entry_bar, gapped.trades[0].entry_price) == (3, 8.0)


def test_stop_buy_triggers_at_its_level_or_at_a_gap_open() -> None:
    data = bars([*FLAT, (10.0, 10.8, 9.5, 10.5), (12.0, 12.5, 11.5, 12.0), (12.0, 12, 12, 12)])
    touched = run_backtest(script({1: [("buy", {"size": 1, "stop": 10.5})]}), data)
    gapped = run_backtest(script({1: [("buy", {"size": 1, "stop": 11.0})]}), data)
    assert (touched.trades[0].entry_bar, touched.trades[0].entry_price) == (2, 10.5)
    assert (gapped.trades[0].entry_bar, gapped.trades[0].entry_price) == (3, 12.0)


def test_an_order_the_equity_cannot_pay_for_is_rejected() -> None:
    data = bars([*FLAT, (10.0, 10, 10, 10), (10.0, 10, 10, 10)])
    planned = script({1: [("buy", {"size": 1000})]})
    result = run_backtest(planned, data, settings=BacktestSettings(100.0, 0.0))
    assert result.trades == []
    assert [o.status for o in result.orders] == ["rejected"]


def test_hooks_see_fills_and_finished_orders() -> None:
    data = bars([*FLAT, (10.0, 10, 10, 10), (11.0, 11, 11, 11)])
    seen: dict[str, Any] = {}

    class Recording(Script):
        plan: ClassVar[dict[int, list[tuple[str, dict[str, Any]]]]] = {1: [("buy", {"size": 2})]}

        def on_order(self, order: StrategyOrder) -> None:
            seen["order"] = (order.status, order.filled_quantity, order.fill_price)

        def on_fill(self, fill: Fill) -> None:
            seen["fill"] = (fill.quantity, fill.price, fill.bar)

    run_backtest(Recording, data)
    assert seen == {"order": ("filled", 2.0, 10.0), "fill": (2.0, 10.0, 2)}


def test_on_bar_starts_after_the_indicators_are_ready() -> None:
    calls: list[int] = []

    class Watching(Strategy):
        name: ClassVar[str] = "watching"

        def on_start(self) -> None:
            self.sma(3)

        def on_bar(self, bar: Bar) -> None:
            calls.append(bar.index)

    run_backtest(Watching, bars([(10.0, 10, 10, 10)] * 5))
    assert calls == [3, 4]


def test_fewer_bars_than_the_indicators_need_is_an_error() -> None:
    from redfire_core.strategies import strategy_named

    with pytest.raises(DataError, match="too few bars"):
        run_backtest(strategy_named("sma_cross"), bars(FLAT * 5), {"fast": 3, "slow": 20})


def test_unknown_and_badly_typed_parameters_are_named() -> None:
    from redfire_core.strategies import strategy_named

    sma_cross = strategy_named("sma_cross")
    with pytest.raises(StrategyError, match="unknown parameter 'fats'"):
        sma_cross.resolve_parameters({"fats": "3"})
    with pytest.raises(StrategyError, match="'slow' must be int"):
        sma_cross.resolve_parameters({"slow": "x"})
    assert sma_cross.resolve_parameters({"fast": "5"}) == {"fast": 5, "slow": 20}


def test_the_bundled_strategies_run() -> None:
    from redfire_core.strategies import strategy_named

    rows = [(100 + 10 * ((i // 7) % 2) + i % 7, 0.0, 0.0, 0.0) for i in range(80)]
    data = bars([(o, o + 1, o - 1, o + 0.5) for o, *_ in rows])
    for name in ("sma_cross", "rsi_reversion", "breakout"):
        params = {"period": 5} if name == "rsi_reversion" else {}
        if name == "sma_cross":
            params = {"fast": 3, "slow": 8}
        if name == "breakout":
            params = {"lookback": 5, "exit_lookback": 3}
        result = run_backtest(strategy_named(name), data, params)
        assert result.trades, name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (",Open,High,Low\n2026-01-01,1,2,0.5\n", "no Close column"),
        (",Open,High,Low,Close\n2026-01-02,1,2,0.5,1\n2026-01-01,1,2,0.5,1\n", "unsorted"),
        (",Open,High,Low,Close\n2026-01-01,1,2,0.5,1\n2026-01-01,1,2,0.5,1\n", "duplicate"),
        (",Open,High,Low,Close\n2026-01-01,1,2,x,1\n", "line 2"),
        ("", "empty"),
    ],
)
def test_bad_csv_input_names_the_problem(text: str, message: str) -> None:
    import csv
    import io

    with pytest.raises(DataError, match=message):
        read_rows(csv.reader(io.StringIO(text)))


def test_csv_headers_are_case_insensitive_and_the_first_header_may_be_empty() -> None:
    import csv
    import io

    text = ",OPEN,high,Low,close,VOLUME\n2026-01-01,1,2,0.5,1.5,7\n2026-01-02 10:00:00,2,3,1,2,8\n"
    data = read_rows(csv.reader(io.StringIO(text)))
    assert data.close == [1.5, 2.0]
    assert data.volume == [7.0, 8.0]
    assert data.times[1] == datetime(2026, 1, 2, 10, tzinfo=UTC)


def test_reproducibility_hash_changes_with_params_and_not_between_runs() -> None:
    from redfire_core.strategies import strategy_named

    data = bars([(100.0 + (i % 9), 110.0, 90.0, 100.0 + (i % 5)) for i in range(60)])
    sma_cross = strategy_named("sma_cross")
    one = run_backtest(sma_cross, data, {"fast": 3, "slow": 8}).reproducibility_hash
    again = run_backtest(sma_cross, data, {"fast": 3, "slow": 8}).reproducibility_hash
    other = run_backtest(sma_cross, data, {"fast": 4, "slow": 8}).reproducibility_hash
    assert one == again != other


def test_strategy_state_persists_between_bars_and_can_be_resumed() -> None:
    class Counting(Strategy):
        name: ClassVar[str] = "counting"

        def on_bar(self, bar: Bar) -> None:
            self.state["bars"] = self.state.get("bars", 0) + 1

    data = bars([(10.0, 10, 10, 10)] * 4)
    first = run_backtest(Counting, data)
    assert first.state == {"bars": 3}
    resumed = run_backtest(Counting, data, state={"bars": 10})
    assert resumed.state == {"bars": 13}


def test_an_order_too_big_to_reverse_closes_the_position_and_is_rejected_for_the_rest() -> None:
    data = bars([*FLAT, (10.0, 10, 10, 10), (10.0, 10, 10, 10), (10.0, 10, 10, 10)])
    fills: list[float] = []

    class Reversing(Script):
        plan: ClassVar[dict[int, list[tuple[str, dict[str, Any]]]]] = {
            1: [("buy", {"size": 10})],
            2: [("sell", {"size": 30})],
        }

        def on_fill(self, fill: Fill) -> None:
            fills.append(fill.quantity)

    result = run_backtest(Reversing, data, settings=BacktestSettings(100.0, 0.0))
    assert fills == [10.0, -10.0]
    assert [o.status for o in result.orders] == ["filled", "rejected"]
    assert len(result.trades) == 1 and result.trades[0].exit_bar == 3


def test_slippage_moves_market_and_stop_fills_against_the_trader_but_not_limits() -> None:
    data = bars([*FLAT, (12.0, 13.0, 11.0, 12.5), (13.0, 14.0, 12.0, 13.0), (13.0, 14, 12, 13)])
    plan = {
        1: [("buy", {"size": 10}), ("sell", {"size": 5, "limit": 12.8})],
        2: [("sell", {"size": 5, "stop": 12.5})],
    }
    result = run_backtest(script(plan), data, settings=BacktestSettings(slippage_bps=50))
    prices = sorted(order.fill_price for order in result.orders if order.status == "filled")
    # buy at the open 12 + 0.5%; the limit sell at its 12.8; the stop sell at 12.5 - 0.5%
    assert prices == pytest.approx([12.0 * 1.005, 12.5 * 0.995, 12.8])


def test_slippage_is_part_of_the_reproducibility_hash_and_bounded() -> None:
    data = bars([*FLAT, (12.0, 13.0, 11.0, 12.5)])
    without = run_backtest(script({}), data).reproducibility_hash
    with_slippage = run_backtest(script({}), data, settings=BacktestSettings(slippage_bps=5))
    assert with_slippage.reproducibility_hash != without
    with pytest.raises(DataError) as refused:
        BacktestSettings(slippage_bps=-1)
    assert refused.value.code == "BACKTEST_INVALID_SLIPPAGE"

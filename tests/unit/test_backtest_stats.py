"""Statistics formulas on hand-made equity curves and trades."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest

from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import BacktestResult, BacktestSettings, Trade
from redfire_core.backtest.stats import compute_statistics, format_duration, geometric_mean


def result(equity: list[float], trades: list[Trade], closes: list[float] | None = None):
    n = len(equity)
    start = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
    times = [start + timedelta(days=i) for i in range(n)]
    closes = closes or [100.0] * n
    data = BarData(times, closes, closes, closes, closes)
    return BacktestResult("t", {}, BacktestSettings(equity[0]), data, equity, trades, 0, "h")


def closed(size: float, entry: float, exit: float, entry_bar: int, exit_bar: int, fee=0.0):
    trade = Trade(size, entry, entry_bar)
    trade.exit_price, trade.exit_bar, trade.commission = exit, exit_bar, fee
    return trade


def test_drawdown_is_measured_from_the_running_peak() -> None:
    stats = compute_statistics(result([100, 120, 90, 130, 117, 117], []))
    assert stats.max_drawdown_pct == pytest.approx(-25.0)
    assert stats.avg_drawdown_pct == pytest.approx(-(25.0 + 10.0) / 2)
    assert stats.max_drawdown_duration == timedelta(days=2)
    assert stats.equity_peak == 130
    assert stats.return_pct == pytest.approx(17.0)
    # as backtesting.py: a drawdown is counted between two zeros more than a bar apart,
    # the last bar closing the last one


def test_trade_figures() -> None:
    trades = [
        closed(10, 100, 110, 0, 2, fee=2.0),  # pnl 98, return 0.1 - 0.002
        closed(-5, 100, 104, 2, 4),  # pnl -20, return -0.04
        closed(1, 50, 60, 4, 5),  # pnl 10, return 0.2
    ]
    stats = compute_statistics(result([1000.0] * 6, trades))
    returns = [0.098, -0.04, 0.2]
    pnls = [98.0, -20.0, 10.0]
    assert stats.trades == 3
    assert stats.win_rate_pct == pytest.approx(200 / 3)
    assert stats.best_trade_pct == pytest.approx(20.0)
    assert stats.worst_trade_pct == pytest.approx(-4.0)
    assert stats.profit_factor == pytest.approx((0.098 + 0.2) / 0.04)
    assert stats.expectancy_pct == pytest.approx(sum(returns) / 3 * 100)
    assert stats.avg_trade_pct == pytest.approx(geometric_mean(returns) * 100)
    mean = sum(pnls) / 3
    std = math.sqrt(sum((p - mean) ** 2 for p in pnls) / 2)
    assert stats.sqn == pytest.approx(math.sqrt(3) * mean / std)
    win = 2 / 3
    assert stats.kelly_criterion == pytest.approx(win - (1 - win) / (54.0 / 20.0))
    assert stats.commissions == pytest.approx(2.0)
    assert stats.exposure_time_pct == pytest.approx(100.0)
    assert stats.max_trade_duration == timedelta(days=2)


def test_without_trades_the_trade_figures_are_undefined() -> None:
    stats = compute_statistics(result([100.0, 100.0, 100.0], []))
    assert stats.trades == 0
    assert math.isnan(stats.win_rate_pct) and math.isnan(stats.sqn)
    assert stats.as_json()["win_rate_pct"] is None


def test_buy_and_hold_starts_at_the_warmup_bar() -> None:
    res = result([100.0] * 4, [], closes=[10.0, 20.0, 30.0, 40.0])
    res.warmup = 1
    assert compute_statistics(res).buy_and_hold_return_pct == pytest.approx(100.0)


def test_daily_returns_annualise_with_252_days_and_sharpe_divides_them() -> None:
    equity = [100.0, 101.0, 100.5, 102.0, 101.0]  # weekdays only
    stats = compute_statistics(result(equity, []))
    daily = [b / a - 1 for a, b in itertools.pairwise(equity)]
    g = geometric_mean(daily)
    assert stats.return_ann_pct == pytest.approx(((1 + g) ** 252 - 1) * 100)
    assert stats.sharpe_ratio == pytest.approx(stats.return_ann_pct / stats.volatility_ann_pct)


def test_durations_format_like_pandas() -> None:
    assert format_duration(timedelta(days=3116)) == "3116 days 00:00:00"
    assert format_duration(timedelta(hours=26, minutes=5)) == "1 days 02:05:00"

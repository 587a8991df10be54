"""Our engine and statistics against backtesting.py 0.6.6 (a dev dependency) on the same
data and semantics: its SmaCross example against our ``sma_cross``."""

from __future__ import annotations

import math
import random
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

backtesting = pytest.importorskip("backtesting")

from backtesting import Backtest  # noqa: E402
from backtesting import Strategy as ReferenceStrategy  # noqa: E402
from backtesting.lib import crossover as reference_crossover  # noqa: E402
from backtesting.test import SMA  # noqa: E402

from redfire_core.backtest.data import BarData, load_csv  # noqa: E402
from redfire_core.backtest.engine import BacktestSettings, run_backtest  # noqa: E402
from redfire_core.backtest.stats import compute_statistics  # noqa: E402
from redfire_core.strategies import strategy_named  # noqa: E402

DATA = Path(backtesting.__file__).parent / "test"


class SmaCross(ReferenceStrategy):  # backtesting.py's example, with the 10 / 20
    fast = 10
    slow = 20

    def init(self) -> None:
        self.sma1 = self.I(SMA, self.data.Close, self.fast)
        self.sma2 = self.I(SMA, self.data.Close, self.slow)

    def next(self) -> None:
        if reference_crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif reference_crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell()


def _frame(data: BarData) -> Any:
    import pandas as pd

    index = pd.DatetimeIndex([t.replace(tzinfo=None) for t in data.times])
    return pd.DataFrame(
        {
            "Open": data.open,
            "High": data.high,
            "Low": data.low,
            "Close": data.close,
            "Volume": data.volume,
        },
        index=index,
    )


def compare(data: BarData, fast: int, slow: int, cash: float, commission: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = Backtest(
            _frame(data), SmaCross, cash=cash, commission=commission, finalize_trades=True
        ).run(fast=fast, slow=slow)
    ours = compute_statistics(
        run_backtest(
            strategy_named("sma_cross"),
            data,
            {"fast": fast, "slow": slow},
            BacktestSettings(cash, commission),
        )
    )
    assert ours.trades == reference["# Trades"]
    for key, mine, tolerance in (
        ("Return [%]", ours.return_pct, 0.5),
        ("Max. Drawdown [%]", ours.max_drawdown_pct, 0.5),
        ("Win Rate [%]", ours.win_rate_pct, 0.5),
        ("Sharpe Ratio", ours.sharpe_ratio, 0.02),
        ("Buy & Hold Return [%]", ours.buy_and_hold_return_pct, 1e-6),
        ("Exposure Time [%]", ours.exposure_time_pct, 1e-6),
        ("Sortino Ratio", ours.sortino_ratio, 0.02),
        ("Calmar Ratio", ours.calmar_ratio, 0.02),
        ("SQN", ours.sqn, 0.02),
        ("Profit Factor", ours.profit_factor, 0.02),
    ):
        theirs = float(reference[key])
        if math.isnan(theirs):
            assert math.isnan(mine), key
        else:
            assert mine == pytest.approx(theirs, abs=tolerance), key
    assert ours.equity_final == pytest.approx(reference["Equity Final [$]"], rel=1e-9)
    assert ours.commissions == pytest.approx(reference.get("Commissions [$]", 0.0), rel=1e-9)


def test_goog_sma_cross_10_20_agrees_with_backtesting_py() -> None:
    compare(load_csv(DATA / "GOOG.csv"), 10, 20, 10_000, 0.002)


@pytest.mark.parametrize(
    ("name", "fast", "slow", "cash", "commission"),
    [
        ("GOOG", 5, 30, 10_000, 0.0),
        ("GOOG", 20, 60, 1_000, 0.01),
        ("EURUSD", 10, 20, 10_000, 0.0002),
        ("EURUSD", 7, 50, 100_000, 0.001),
        ("BTCUSD", 3, 6, 10_000, 0.002),
    ],
)
def test_other_bundled_data_sets_agree(
    name: str, fast: int, slow: int, cash: float, commission: float
) -> None:
    compare(load_csv(DATA / f"{name}.csv"), fast, slow, cash, commission)


def _random_walk(n: int, step: timedelta, seed: int) -> BarData:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    price = 100.0
    times, o, h, lo, c = [], [], [], [], []
    for i in range(n):
        opened = round(price * (1 + rng.gauss(0, 0.002)), 2)
        closed = round(opened * (1 + rng.gauss(0, 0.01)), 2)
        times.append(start + step * i)
        o.append(opened)
        c.append(closed)
        h.append(max(opened, closed) + 0.05)
        lo.append(min(opened, closed) - 0.05)
        price = closed
    return BarData(times, o, h, lo, c)


@pytest.mark.parametrize(
    ("step", "fast", "slow", "seed"),
    [
        (timedelta(days=1), 5, 15, 1),
        (timedelta(minutes=1), 12, 40, 2),
        (timedelta(hours=4), 3, 9, 3),
    ],
)
def test_random_walks_agree(step: timedelta, fast: int, slow: int, seed: int) -> None:
    compare(_random_walk(3000, step, seed), fast, slow, 25_000, 0.001)

"""Parameter sweeps: the grid, the constraint, ranking, and workers agreeing with one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import BacktestSettings
from redfire_core.backtest.sweep import grid, run_sweep
from redfire_core.domain.orders import ExecutionModel


def _data() -> BarData:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    closes = [100 + 10 * ((i // 9) % 2) + (i % 9) * 0.5 for i in range(150)]
    times = [start + timedelta(hours=i) for i in range(150)]
    return BarData(times, closes, [c + 1 for c in closes], [c - 1 for c in closes], closes)


def test_grid_expands_every_combination_that_passes_the_constraint() -> None:
    combos = grid({"fast": [2, 3, 5], "slow": [3, 8]}, lambda c: c["fast"] < c["slow"])
    assert combos == [
        {"fast": 2, "slow": 3},
        {"fast": 2, "slow": 8},
        {"fast": 3, "slow": 8},
        {"fast": 5, "slow": 8},
    ]


def test_a_sweep_ranks_by_the_statistic_and_workers_agree_with_one_process() -> None:
    combos = grid({"fast": [2, 3, 4], "slow": [6, 10]})
    settings = BacktestSettings(10_000, 0.001)
    alone = run_sweep("sma_cross", _data(), combos, settings, "return_pct", workers=1)
    pooled = run_sweep("sma_cross", _data(), combos, settings, "return_pct", workers=2)
    assert len(alone) == 6
    returns = [stats["return_pct"] for _, stats in alone]
    assert returns == sorted(returns, reverse=True)
    assert alone == pooled


def test_settings_come_from_the_paper_gateways_cost_model() -> None:
    settings = BacktestSettings.from_model(
        Decimal("5000"), ExecutionModel(commission_rate=Decimal("0.002"))
    )
    assert (settings.cash, settings.commission) == (5000.0, 0.002)

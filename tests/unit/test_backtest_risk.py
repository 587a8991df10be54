"""A backtest with risk limits: the same rule engine denies what the account's limits
forbid, as each order is placed; without limits nothing changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from redfire_core.backtest.data import load_csv
from redfire_core.backtest.engine import BacktestSettings, run_backtest
from redfire_core.domain.risk import RiskLimits
from redfire_core.strategies import strategy_named
from tests.unit.test_backtest_engine import FLAT, bars, script

STEADY = [*FLAT, *[(10.0, 11.0, 9.0, 10.0)] * 4]


def outcomes(plan: dict[int, list[tuple[str, dict[str, Any]]]], limits: RiskLimits) -> list[str]:
    result = run_backtest(script(plan), bars(STEADY), settings=BacktestSettings(risk_limits=limits))
    return [f"{o.status} {o.reason.split(':')[0]}".strip() for o in result.orders]


def test_an_order_above_the_accounts_quantity_limit_is_rejected_with_the_code() -> None:
    limits = RiskLimits(max_order_qty=5)
    plan = {1: [("buy", {"size": 10})], 2: [("buy", {"size": 5})]}
    assert outcomes(plan, limits) == ["rejected RISK_MAX_ORDER_QTY", "filled"]


def test_position_and_notional_limits_count_the_position_and_working_orders() -> None:
    limits = RiskLimits(max_position_qty=8)
    plan = {1: [("buy", {"size": 5})], 2: [("buy", {"size": 4})], 3: [("sell", {"size": 5})]}
    assert outcomes(plan, limits) == ["filled", "rejected RISK_MAX_POSITION", "filled"]
    notional = RiskLimits(max_order_notional=45)  # 5 x 10 = 50 > 45
    assert outcomes({1: [("buy", {"size": 5})]}, notional) == ["rejected RISK_MAX_NOTIONAL"]


def test_daily_order_counts_run_in_bar_time() -> None:
    limits = RiskLimits(max_daily_orders=1)
    plan = {1: [("buy", {"size": 1}), ("buy", {"size": 1})], 2: [("buy", {"size": 1})]}
    # Daily bars: the third order is placed on the next day.
    assert outcomes(plan, limits) == ["rejected RISK_DAILY_ORDER_LIMIT", "filled", "filled"]


def test_generous_limits_change_nothing_on_goog() -> None:
    backtesting = pytest.importorskip("backtesting")
    data = load_csv(Path(backtesting.__file__).parent / "test" / "GOOG.csv")
    strategy = strategy_named("sma_cross")
    plain = run_backtest(strategy, data, {}, BacktestSettings(10_000, 0.002))
    limited = run_backtest(
        strategy, data, {}, BacktestSettings(10_000, 0.002, risk_limits=RiskLimits())
    )
    assert [t.pnl for t in limited.trades] == [t.pnl for t in plain.trades]
    assert limited.reproducibility_hash != plain.reproducibility_hash

"""The engine and statistics against golden files recorded before the speed work of issue
15 (goal 5): trades and orders identical, every statistic within a relative 1e-9.

The bars are the benchmark's (``benchmarks/backtest_speed.write_bars``): 200,000
one-minute bars of a seeded random walk for the benchmark's configurations, read through
``load_csv`` as the CLI reads them, and 20,000 bars for the other strategies and
settings, whose trades are stored in full. Re-record (only when a change of results is
intended) with ``python -m tests.unit.test_backtest_goldens``.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from benchmarks.backtest_speed import write_bars
from redfire_core.backtest.data import BarData, load_csv
from redfire_core.backtest.engine import BacktestResult, BacktestSettings, run_backtest
from redfire_core.backtest.stats import compute_statistics
from redfire_core.backtest.sweep import grid, run_sweep
from redfire_core.strategies import strategy_named

GOLDENS = Path(__file__).parents[1] / "fixtures" / "backtest" / "goldens.json"
RELATIVE = 1e-9
EQUITY_SAMPLES = 64
BIG = 200_000

# name -> (bars, seed, strategy, params, cash, commission, slippage_bps, full trades)
CASES: dict[str, tuple[int, int, str, dict[str, Any], float, float, float, bool]] = {
    "bench_10_20_100k_0.001": (BIG, 7, "sma_cross", {"fast": 10, "slow": 20}, 1e5, 0.001, 0, False),
    "bench_10_20_1m_0.0002": (BIG, 7, "sma_cross", {"fast": 10, "slow": 20}, 1e6, 0.0002, 0, False),
    "bench_10_40_1m_0.0002": (BIG, 7, "sma_cross", {"fast": 10, "slow": 40}, 1e6, 0.0002, 0, False),
    "sma_cross_5_200": (20_000, 11, "sma_cross", {"fast": 5, "slow": 200}, 100_000, 0.001, 0, True),
    "sma_cross_slippage": (20_000, 11, "sma_cross", {"fast": 10, "slow": 40}, 5e4, 0.0005, 3, True),
    "sma_cross_small_cash": (20_000, 11, "sma_cross", {"fast": 3, "slow": 9}, 100, 0.002, 0, True),
    "rsi_reversion": (20_000, 11, "rsi_reversion", {}, 100_000, 0.001, 0, True),
    "breakout": (20_000, 11, "breakout", {}, 100_000, 0.001, 2, True),
}  # fmt: skip
SWEEP = {"fast": (5, 10, 20), "slow": (40, 80, 150)}


@cache
def bars(n: int, seed: int, scratch: Path) -> BarData:
    path = scratch / f"bars-{n}-{seed}.csv"
    write_bars(path, n, seed=seed)
    return load_csv(path)


def _digest(rows: list[list[Any]]) -> str:
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def observe(result: BacktestResult, full: bool) -> dict[str, Any]:
    """What a golden holds for one run: statistics, trades, orders, sampled equity."""
    trades = [
        [t.entry_bar, t.exit_bar, t.size, t.entry_price, t.exit_price, t.commission]
        for t in result.trades
    ]
    orders = [
        [o.id, o.side, o.quantity, o.closes, o.placed_bar, o.status, o.filled_quantity,
         o.fill_price, o.reason]
        for o in result.orders
    ]  # fmt: skip
    equity = result.equity
    step = max(1, len(equity) // EQUITY_SAMPLES)
    observed: dict[str, Any] = {
        "statistics": compute_statistics(result).as_json(),
        "warmup": result.warmup,
        "trades_sha256": _digest(trades),
        "orders_sha256": _digest(orders),
        "equity": {str(i): equity[i] for i in [*range(0, len(equity), step), len(equity) - 1]},
    }
    if full:
        observed["trades"] = trades
    return observed


def run_case(name: str, scratch: Path) -> dict[str, Any]:
    n, seed, strategy, params, cash, commission, slippage, full = CASES[name]
    settings = BacktestSettings(cash, commission, slippage)
    return observe(
        run_backtest(strategy_named(strategy), bars(n, seed, scratch), params, settings), full
    )


def run_small_sweep(scratch: Path) -> list[list[Any]]:
    ranked = run_sweep(
        "sma_cross", bars(20_000, 11, scratch), grid(SWEEP), BacktestSettings(100_000, 0.001),
        maximize="sqn", workers=1,
    )  # fmt: skip
    return [[p["fast"], p["slow"], s["trades"], s["sqn"], s["return_pct"]] for p, s in ranked]


def close_enough(mine: Any, golden: Any) -> bool:
    if isinstance(golden, float) and isinstance(mine, float):
        if math.isnan(golden) or math.isinf(golden):
            return mine == golden or (math.isnan(mine) and math.isnan(golden))
        return math.isclose(mine, golden, rel_tol=RELATIVE, abs_tol=0.0) or mine == golden
    return bool(mine == golden)


@pytest.fixture(scope="module")
def goldens() -> dict[str, Any]:
    return json.loads(GOLDENS.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("goldens")


@pytest.mark.parametrize("name", list(CASES))
def test_run_matches_its_golden(name: str, goldens: dict[str, Any], scratch: Path) -> None:
    golden = goldens["runs"][name]
    mine = run_case(name, scratch)
    assert mine["warmup"] == golden["warmup"]
    if "trades" in golden:
        assert mine["trades"] == golden["trades"]  # exact, every float
    assert mine["trades_sha256"] == golden["trades_sha256"], "the trades differ"
    assert mine["orders_sha256"] == golden["orders_sha256"], "the orders differ"
    off = {
        key: (mine["statistics"][key], value)
        for key, value in golden["statistics"].items()
        if not close_enough(mine["statistics"][key], value)
    }
    assert not off, off
    assert mine["equity"].keys() == golden["equity"].keys()
    off = {
        i: (mine["equity"][i], value)
        for i, value in golden["equity"].items()
        if not close_enough(mine["equity"][i], value)
    }
    assert not off, off


def test_sweep_matches_its_golden(goldens: dict[str, Any], scratch: Path) -> None:
    mine, golden = run_small_sweep(scratch), goldens["sweep"]
    assert [row[:3] for row in mine] == [row[:3] for row in golden]
    assert all(
        close_enough(a, b)
        for m, g in zip(mine, golden, strict=True)
        for a, b in zip(m[3:], g[3:], strict=True)
    )


def record() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        document = {
            "runs": {name: run_case(name, scratch) for name in CASES},
            "sweep": run_small_sweep(scratch),
        }
    GOLDENS.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    record()

"""Parameter sweeps in worker processes: a grid of parameter combinations, run in
chunks, ranked by one statistic (the library behind the benchmark; the service would
fan the same chunks out as SQS messages)."""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import BacktestSettings, run_backtest
from redfire_core.backtest.stats import compute_statistics
from redfire_core.strategies import strategy_named

Combination = dict[str, Any]
_SHARED: dict[str, Any] = {}


def grid(
    values: Mapping[str, Sequence[Any]],
    constraint: Callable[[Combination], bool] | None = None,
) -> list[Combination]:
    """Every combination of ``values`` that passes ``constraint``."""
    keys = list(values)
    combos = [dict(zip(keys, row, strict=True)) for row in itertools.product(*values.values())]
    return [c for c in combos if constraint is None or constraint(c)]


def _run_chunk(chunk: list[Combination]) -> list[tuple[Combination, dict[str, Any]]]:
    strategy = strategy_named(_SHARED["strategy"])
    data: BarData = _SHARED["data"]
    settings: BacktestSettings = _SHARED["settings"]
    out = []
    for params in chunk:
        stats = compute_statistics(run_backtest(strategy, data, params, settings)).as_json()
        out.append((params, stats))
    return out


def run_sweep(
    strategy: str,
    data: BarData,
    combinations: list[Combination],
    settings: BacktestSettings,
    maximize: str = "sqn",
    workers: int | None = None,
    chunk_size: int = 4,
) -> list[tuple[Combination, dict[str, Any]]]:
    """Run every combination; best ``maximize`` first (missing values last)."""
    _SHARED.update(strategy=strategy, data=data, settings=settings)
    chunks = [combinations[i : i + chunk_size] for i in range(0, len(combinations), chunk_size)]
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(chunks) == 1:
        results = [r for chunk in chunks for r in _run_chunk(chunk)]
    else:
        # fork: the workers inherit the bars instead of unpickling them per chunk
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            results = [r for done in pool.map(_run_chunk, chunks) for r in done]

    def key(item: tuple[Combination, dict[str, Any]]) -> float:
        value = item[1].get(maximize)
        return value if isinstance(value, int | float) and math.isfinite(value) else -math.inf

    return sorted(results, key=key, reverse=True)

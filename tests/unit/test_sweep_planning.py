"""Sweep planning: the constraint language, chunking and ranking (pure)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from redfire_core.domain.errors import DomainError
from redfire_core.services.backtesting import (
    MAX_CHUNKS,
    parse_constraint,
    plan_sweep,
    rank,
)

RANGE = {"symbol": "GOOG", "interval": "1d", "start": "2025-01-01T00:00:00Z",
         "end": "2026-01-01T00:00:00Z", "strategy": "sma_cross"}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "combination", "allowed"),
    [
        ("fast < slow", {"fast": 5, "slow": 10}, True),
        ("fast < slow", {"fast": 10, "slow": 10}, False),
        ("fast <= slow and slow != 30", {"fast": 10, "slow": 30}, False),
        ("fast >= 2.5 and 40 > slow", {"fast": 3, "slow": 39}, True),
        ("slow == 20", {"fast": 1, "slow": 20}, True),
    ],
)
def test_constraints_compare_parameters_and_numbers(
    text: str, combination: dict[str, Any], allowed: bool
) -> None:
    assert parse_constraint(text, {"fast", "slow"})(combination) is allowed


@pytest.mark.parametrize(
    "text", ["fast < slow or 1", "__import__('os').system('x')", "fast <", "medium < slow"]
)
def test_anything_else_is_refused_without_being_evaluated(text: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_constraint(text, {"fast", "slow"})
    assert refused.value.code == "SWEEP_INVALID_CONSTRAINT"
    assert refused.value.field == "constraint"


def test_the_plan_skips_what_the_strategy_refuses_and_keeps_chunks_in_one_transaction() -> None:
    body = {**RANGE, "strategy": "rsi_reversion", "grid": {"lower": [20, 50], "upper": [40, 80]}}
    _, combos, _, maximize, size = plan_sweep(body)
    # rsi_reversion refuses lower >= upper itself: that combination is skipped.
    assert [(c["lower"], c["upper"]) for c in combos] == [(20, 40), (20, 80), (50, 80)]
    assert (maximize, size) == ("sqn", 4)
    with pytest.raises(DomainError) as refused:
        plan_sweep({**body, "grid": {"lower": [20, "x"]}})
    assert refused.value.code == "STRATEGY_INVALID_PARAMETER"
    _, many, _, _, size = plan_sweep(
        {**RANGE, "grid": {"fast": list(range(1, 60)), "slow": list(range(60, 100))}}
    )
    assert math.ceil(len(many) / size) <= MAX_CHUNKS


def test_ranking_puts_the_best_first_and_missing_figures_and_failures_last() -> None:
    results = [
        {"params": {"n": 1}, "statistics": {"sqn": 0.5}},
        {"params": {"n": 2}, "statistics": {"sqn": None}},
        {"params": {"n": 3}, "error": {"code": "DATA_TOO_SHORT", "message": "x"}},
        {"params": {"n": 4}, "statistics": {"sqn": 1.5}},
    ]
    assert [r["params"]["n"] for r in rank(results, "sqn")] == [4, 1, 2]

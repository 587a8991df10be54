"""Per-account quotas through the API function: concurrent sweeps, backtest combinations
per UTC day and running strategy instances answer 429 QUOTA_EXCEEDED (problem+json with
Retry-After) once reached, and hold under concurrent requests."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from redfire_core.adapters.quotas import COUNTERS, QuotaItem
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from tests.integration.conftest import call_api, token_for
from tests.integration.test_backtest_service import RANGE, work
from tests.integration.test_backtest_service import bars as bars  # the fixture
from tests.support.pipeline import Pipeline
from tests.support.serialised_moto import serialised_aws_calls

SWEEP = {**RANGE, "strategy": "sma_cross", "grid": {"fast": [5, 8], "slow": [20]}}
BACKTEST = {**RANGE, "strategy": "sma_cross"}
INSTANCES = "/v1/strategies/instances"
INSTANCE = {"strategy": "sma_cross", "symbol": "GOOG", "interval": "1m"}


@pytest.fixture
def quotas(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set the stage's quotas for one test (what cdk.json feeds the function's env)."""

    def set_quotas(sweeps: int = 0, per_day: int = 0, instances: int = 0) -> None:
        settings = get_settings()
        monkeypatch.setattr(settings, "quota_concurrent_sweeps", sweeps)
        monkeypatch.setattr(settings, "quota_combinations_per_day", per_day)
        monkeypatch.setattr(settings, "quota_running_instances", instances)

    return set_quotas


def post(path: str, body: dict[str, Any], account: str = "demo") -> tuple[int, dict[str, str], Any]:
    return call_api("POST", path, body=body, token=token_for(account))


def assert_quota_exceeded(answer: tuple[int, dict[str, str], Any], retry_at_most: int) -> None:
    status, headers, problem = answer
    assert status == 429, problem
    assert headers["content-type"] == "application/problem+json"
    assert problem["code"] == "QUOTA_EXCEEDED"
    assert 0 < int(headers["retry-after"]) <= retry_at_most


def concurrently(requests: int, call: Any) -> list[Any]:
    """``call`` from 8 threads at once (each with the event loop Mangum needs), with the
    AWS calls serialised as the local cloud does (PITFALLS: moto transactions)."""

    def with_loop() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())

    with serialised_aws_calls(), ThreadPoolExecutor(8, initializer=with_loop) as pool:
        return list(pool.map(lambda _: call(), range(requests)))


def counters(account: str = "demo") -> QuotaItem:
    return QuotaItem.get(account, COUNTERS, consistent_read=True)


def test_a_sweep_past_the_concurrent_sweeps_quota_is_429_until_one_finishes(
    seeded: TradingStore,
    bars: Any,
    pipeline: Pipeline,
    quotas: Any,
) -> None:
    quotas(sweeps=2)
    assert post("/v1/backtests/sweeps", SWEEP)[0] == 202
    assert post("/v1/backtests/sweeps", SWEEP)[0] == 202

    assert_quota_exceeded(post("/v1/backtests/sweeps", SWEEP), retry_at_most=60)
    assert post("/v1/backtests/sweeps", SWEEP, account="other")[0] != 429  # per account

    work(pipeline)  # both sweeps finish and give their places back
    assert int(counters().running_sweeps) == 0
    assert post("/v1/backtests/sweeps", SWEEP)[0] == 202


def test_combinations_per_day_count_sweep_grids_and_backtests(
    seeded: TradingStore, quotas: Any
) -> None:
    quotas(per_day=5)
    assert post("/v1/backtests/sweeps", SWEEP)[0] == 202  # 2 combinations
    assert post("/v1/backtests", BACKTEST)[0] == 202  # 1
    assert post("/v1/backtests/sweeps", SWEEP)[0] == 202  # 2: five used

    assert_quota_exceeded(post("/v1/backtests", BACKTEST), retry_at_most=86_400)
    assert_quota_exceeded(post("/v1/backtests/sweeps", SWEEP), retry_at_most=86_400)
    big = {**SWEEP, "grid": {"fast": [2, 3, 4, 5, 6, 7]}}
    assert_quota_exceeded(post("/v1/backtests/sweeps", big, account="other"), 86_400)
    assert len(call_api("GET", "/v1/backtests", token=token_for())[2]["items"]) == 1


def test_concurrent_sweep_requests_cannot_pass_the_quota_together(
    seeded: TradingStore, quotas: Any
) -> None:
    quotas(sweeps=2, per_day=1000)

    statuses = concurrently(8, lambda: post("/v1/backtests/sweeps", SWEEP)[0])

    assert sorted(statuses) == [202, 202] + [429] * 6
    assert int(counters().running_sweeps) == 2


def test_a_strategy_instance_past_the_running_quota_is_429_until_one_stops(
    seeded: TradingStore, quotas: Any
) -> None:
    quotas(instances=1)
    status, _, first = post(INSTANCES, INSTANCE)
    assert status == 201, first

    # Another symbol: one running instance per symbol is a different refusal (409).
    assert_quota_exceeded(post(INSTANCES, {**INSTANCE, "symbol": "AAPL"}), retry_at_most=60)

    trader = token_for()
    assert call_api("POST", f"{INSTANCES}/{first['id']}/stop", token=trader)[0] == 200
    assert call_api("POST", f"{INSTANCES}/{first['id']}/stop", token=trader)[0] == 200  # again
    assert int(counters().running_instances) == 0
    assert post(INSTANCES, INSTANCE)[0] == 201
    assert_quota_exceeded(post(INSTANCES, {**INSTANCE, "symbol": "AAPL"}), retry_at_most=60)


def test_concurrent_instance_starts_cannot_pass_the_quota_together(
    seeded: TradingStore, quotas: Any
) -> None:
    quotas(instances=2)
    symbols = ["GOOG", "AAPL", "MSFT", "BTC-USD"]  # one instance per symbol (pop is atomic)

    statuses = concurrently(4, lambda: post(INSTANCES, {**INSTANCE, "symbol": symbols.pop()})[0])

    assert sorted(statuses) == [201] * 2 + [429] * 2
    assert int(counters().running_instances) == 2

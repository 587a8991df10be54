"""Backtests and sweeps as a service, inside moto: the API stores the request with its
event, the relay and the rule deliver it to the backtests queue, the worker runs it on
the stored bars and the API reads the results back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import BacktestSettings, run_backtest
from redfire_core.backtest.stats import compute_statistics
from redfire_core.backtest.sweep import grid, run_sweep
from redfire_core.config import get_settings
from redfire_core.domain.bars import Bar
from redfire_core.domain.roles import Role
from redfire_core.strategies import strategy_named
from tests.integration.conftest import call_api, token_for
from tests.support.pipeline import Pipeline
from tests.support.strategies import CRASH_AT, Crashing, registered_strategy

START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 300
RANGE = {"symbol": "GOOG", "interval": "1d", "start": "2025-01-01T00:00:00Z"}
RANGE["end"] = "2026-01-01T00:00:00Z"


def _bars() -> list[Bar]:
    """A deterministic zig-zag with a drift: crossovers happen, in both directions."""
    out = []
    price = Decimal("100")
    for i in range(DAYS):
        step = Decimal(3) if (i // 20) % 2 == 0 else Decimal(-2)
        price += step + Decimal(i % 7) / 10
        out.append(
            Bar("GOOG", "1d", START + timedelta(days=i), price, price + 2, price - 2,
                price + 1, Decimal(1000 + i))
        )  # fmt: skip
    return out


@pytest.fixture
def bars(aws: None) -> BarData:
    stored = _bars()
    DynamoDbMarketDataStore().write_bars(stored, backfill=True)
    return BarData(
        [b.start for b in stored],
        [float(b.open) for b in stored],
        [float(b.high) for b in stored],
        [float(b.low) for b in stored],
        [float(b.close) for b in stored],
        [float(b.volume) for b in stored],
    )


def post(path: str, body: dict[str, Any], account: str = "demo") -> tuple[int, Any]:
    status, _, answer = call_api("POST", path, body=body, token=token_for(account))
    return status, answer


def get(path: str, account: str = "demo") -> tuple[int, Any]:
    status, _, answer = call_api("GET", path, token=token_for(account))
    return status, answer


def published(pipeline: Pipeline, event_type: str) -> list[dict[str, Any]]:
    """Envelopes of ``event_type`` the relay put on the bus (what the stream queue got)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().declaration.name("stream"))["QueueUrl"]
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            detail = json.loads(message["Body"])["detail"]
            if detail["type"] == event_type:
                found.append(detail)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def work(pipeline: Pipeline) -> None:
    pipeline.drain("backtests")


def test_a_backtest_runs_on_stored_bars_and_matches_the_engine(
    seeded: Any, bars: BarData, pipeline: Pipeline
) -> None:
    request = {**RANGE, "strategy": "sma_cross", "params": {"fast": 5, "slow": 15},
               "cash": "10000", "commission": "0.002"}  # fmt: skip
    status, queued = post("/v1/backtests", request)
    assert status == 202, queued
    assert queued["status"] == "queued"
    assert get(f"/v1/backtests/{queued['id']}")[1]["status"] == "queued"

    work(pipeline)
    status, done = get(f"/v1/backtests/{queued['id']}")
    assert status == 200
    assert done["status"] == "completed"
    expected = run_backtest(
        strategy_named("sma_cross"), bars, {"fast": 5, "slow": 15}, BacktestSettings(10_000, 0.002)
    )
    figures = compute_statistics(expected).as_json()
    assert done["statistics"]["trades"] == figures["trades"] > 0
    assert done["statistics"]["return_pct"] == pytest.approx(figures["return_pct"])
    assert done["statistics"]["sharpe_ratio"] == pytest.approx(figures["sharpe_ratio"])
    assert done["reproducibility_hash"] == expected.reproducibility_hash

    # Equity curve and trades are in S3, one point per bar, reachable through the links.
    s3 = boto3.client("s3")
    bucket = get_settings().declaration.bucket_name("backtest-results")
    key = f"results/demo/{queued['id']}/equity.json"
    equity = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert len(equity) == DAYS
    assert equity[-1]["equity"] == pytest.approx(figures["equity_final"])
    trades = json.loads(
        s3.get_object(Bucket=bucket, Key=f"results/demo/{queued['id']}/trades.json")["Body"].read()
    )
    assert len(trades) == figures["trades"]
    assert f"results/demo/{queued['id']}/equity.json" in done["results"]["equity_url"]

    [completed] = published(pipeline, "BacktestCompleted")
    assert completed["payload"]["backtest"]["id"] == queued["id"]
    assert completed["account_id"] == "demo"


def test_the_same_request_again_reuses_the_finished_result(
    seeded: Any, bars: BarData, pipeline: Pipeline
) -> None:
    request = {**RANGE, "strategy": "sma_cross", "params": {"fast": 5, "slow": 15}}
    first = post("/v1/backtests", request)[1]
    work(pipeline)
    second = post("/v1/backtests", request)[1]
    assert second["id"] != first["id"]
    work(pipeline)

    original, again = (
        get(f"/v1/backtests/{first['id']}")[1],
        get(f"/v1/backtests/{second['id']}")[1],
    )
    assert again["status"] == "completed"
    assert again["reused_from"] == first["id"]
    assert again["statistics"] == original["statistics"]
    assert again["reproducibility_hash"] == original["reproducibility_hash"]
    assert f"/{first['id']}/equity.json" in again["results"]["equity_url"]
    # Other parameters are a different backtest.
    post("/v1/backtests", {**request, "params": {"fast": 6, "slow": 15}})
    work(pipeline)
    listed = get("/v1/backtests")[1]["items"]
    assert [b["reused_from"] for b in listed] == [None, first["id"], None]


def test_a_redelivered_request_runs_once(seeded: Any, bars: BarData, pipeline: Pipeline) -> None:
    queued = post("/v1/backtests", {**RANGE, "strategy": "sma_cross"})[1]
    pipeline.relay()
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().declaration.name("backtests"))["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url).get("Messages", [])
    sqs.send_message(QueueUrl=url, MessageBody=message["Body"])  # at-least-once: twice
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    work(pipeline)
    assert get(f"/v1/backtests/{queued['id']}")[1]["status"] == "completed"
    assert len(published(pipeline, "BacktestCompleted")) == 1


def test_a_range_without_bars_fails_with_the_reason(
    seeded: Any, bars: BarData, pipeline: Pipeline
) -> None:
    queued = post(
        "/v1/backtests",
        {**RANGE, "strategy": "sma_cross", "start": "2030-01-01T00:00:00Z",
         "end": "2030-02-01T00:00:00Z"},
    )[1]  # fmt: skip
    work(pipeline)
    failed = get(f"/v1/backtests/{queued['id']}")[1]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "DATA_EMPTY"
    assert failed["results"] is None


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"strategy": "nope"}, "STRATEGY_UNKNOWN", "strategy"),
        ({"params": {"fastest": 3}}, "STRATEGY_UNKNOWN_PARAMETER", "params"),
        ({"params": {"fast": "x"}}, "STRATEGY_INVALID_PARAMETER", "params"),
        ({"interval": "7m"}, "BACKTEST_INVALID_INTERVAL", "interval"),
        ({"end": "2024-01-01T00:00:00Z"}, "BACKTEST_INVALID_RANGE", "end"),
        ({"commission": "0.5"}, "BACKTEST_INVALID_COMMISSION", "commission"),
        ({"slippage_bps": "1000"}, "BACKTEST_INVALID_SLIPPAGE", "slippage_bps"),
    ],
)
def test_bad_requests_are_422_naming_the_problem(
    seeded: Any, change: dict[str, Any], code: str, field: str
) -> None:
    status, problem = post("/v1/backtests", {**RANGE, "strategy": "sma_cross", **change})
    assert status == 422
    assert problem["code"] == code
    assert problem["errors"][0]["field"] == field


def test_another_account_cannot_see_a_backtest_or_a_sweep(
    seeded: Any, other_account: str, bars: BarData
) -> None:
    queued = post("/v1/backtests", {**RANGE, "strategy": "sma_cross"})[1]
    sweep = post("/v1/backtests/sweeps", {**RANGE, "strategy": "sma_cross",
                                          "grid": {"fast": [5, 8]}})[1]  # fmt: skip
    assert get(f"/v1/backtests/{queued['id']}", other_account)[0] == 404
    assert get(f"/v1/backtests/sweeps/{sweep['id']}", other_account)[0] == 404
    assert get("/v1/backtests", other_account)[1]["items"] == []


def test_a_sweep_fans_out_in_chunks_and_ranks_like_the_library(
    seeded: Any, bars: BarData, pipeline: Pipeline
) -> None:
    request = {
        **RANGE,
        "strategy": "sma_cross",
        "grid": {"fast": [3, 5, 8, 12], "slow": [10, 15, 20]},
        "constraint": "fast < slow and slow <= 20",
        "maximize": "cagr_pct",  # not a headline figure: kept because it is ranked by
        "chunk_size": 3,
    }
    status, sweep = post("/v1/backtests/sweeps", request)
    assert status == 202, sweep
    assert (sweep["status"], sweep["combinations"], sweep["chunks"]) == ("running", 11, 4)
    assert sweep["progress_pct"] == 0

    pipeline.relay()
    pipeline.deliver("backtests", max_messages=1)
    partial = get(f"/v1/backtests/sweeps/{sweep['id']}")[1]
    assert partial["status"] == "running"
    assert partial["completed_chunks"] == 1
    assert partial["completed_combinations"] == 3
    assert partial["progress_pct"] == pytest.approx(27.3)
    assert len(partial["results"]) == 3  # the ranking so far
    work(pipeline)
    done = get(f"/v1/backtests/sweeps/{sweep['id']}")[1]
    assert done["status"] == "completed"
    assert (done["completed_combinations"], done["completed_chunks"]) == (11, 4)
    assert done["progress_pct"] == 100.0

    combos = grid({"fast": [3, 5, 8, 12], "slow": [10, 15, 20]},
                  lambda c: c["fast"] < c["slow"] <= 20)  # fmt: skip
    expected = run_sweep("sma_cross", bars, combos, BacktestSettings(), "cagr_pct", workers=1)
    assert [r["params"] for r in done["results"]] == [p for p, _ in expected]
    assert done["results"][0]["statistics"]["cagr_pct"] == pytest.approx(expected[0][1]["cagr_pct"])
    [completed] = published(pipeline, "SweepCompleted")
    assert completed["payload"]["best"]["params"] == expected[0][0]


def test_a_redelivered_chunk_is_counted_once(
    seeded: Any, bars: BarData, pipeline: Pipeline
) -> None:
    body = {**RANGE, "strategy": "sma_cross", "grid": {"fast": [3, 5, 8]}, "chunk_size": 1}
    sweep = post("/v1/backtests/sweeps", body)[1]
    pipeline.relay()
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().declaration.name("backtests"))["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url).get("Messages", [])
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    work(pipeline)
    sqs.send_message(QueueUrl=url, MessageBody=message["Body"])  # at-least-once: again
    work(pipeline)
    done = get(f"/v1/backtests/sweeps/{sweep['id']}")[1]
    assert (done["status"], done["completed_combinations"], done["completed_chunks"]) == (
        "completed",
        3,
        3,
    )
    assert len(published(pipeline, "SweepCompleted")) == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"grid": {"fastest": [1, 2]}}, "STRATEGY_UNKNOWN_PARAMETER"),
        ({"grid": {"fast": []}}, "SWEEP_INVALID_GRID"),
        ({"constraint": "__import__('os')"}, "SWEEP_INVALID_CONSTRAINT"),
        ({"constraint": "fast < medium"}, "SWEEP_INVALID_CONSTRAINT"),
        ({"constraint": "fast > 100"}, "SWEEP_EMPTY"),
        ({"maximize": "luck"}, "SWEEP_INVALID_STATISTIC"),
        ({"grid": {"fast": list(range(100)), "slow": list(range(100))}}, "SWEEP_TOO_LARGE"),
    ],
)
def test_bad_sweeps_are_422(seeded: Any, change: dict[str, Any], code: str) -> None:
    body = {**RANGE, "strategy": "sma_cross", "grid": {"fast": [5, 8]}, **change}
    status, problem = post("/v1/backtests/sweeps", body)
    assert status == 422, problem
    assert problem["code"] == code


def test_graphql_shows_the_callers_backtests_as_rest_does(
    seeded: Any, other_account: str, bars: BarData, pipeline: Pipeline
) -> None:
    queued = post("/v1/backtests", {**RANGE, "strategy": "sma_cross"})[1]
    work(pipeline)
    rest = get(f"/v1/backtests/{queued['id']}")[1]
    query = """query($id: ID!) {
        backtest(id: $id) { id status statistics reproducibilityHash params }
        backtests(first: 10) { items { id status } nextCursor }
    }"""

    def ask(account: str) -> dict[str, Any]:
        status, _, body = call_api(
            "POST", "/graphql", body={"query": query, "variables": {"id": queued["id"]}},
            token=token_for(account),
        )  # fmt: skip
        assert status == 200 and "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    mine = ask("demo")
    assert mine["backtest"]["statistics"] == rest["statistics"]
    assert mine["backtest"]["reproducibilityHash"] == rest["reproducibility_hash"]
    assert mine["backtests"]["items"] == [{"id": queued["id"], "status": "completed"}]
    theirs = ask(other_account)
    assert theirs["backtest"] is None
    assert theirs["backtests"]["items"] == []


def test_a_backtest_can_run_with_the_accounts_risk_limits(
    seeded: Any, bars: BarData, pipeline: Pipeline
) -> None:
    limits = {"symbols": {"GOOG": {"max_order_qty": "5"}}}
    status, _, body = call_api(
        "PUT", "/v1/risk/limits", body=limits, token=token_for("demo", Role.ADMIN)
    )
    assert status == 200, body
    request = {**RANGE, "strategy": "sma_cross", "params": {"fast": 5, "slow": 15}}
    plain = post("/v1/backtests", request)[1]
    limited = post("/v1/backtests", {**request, "apply_risk_limits": True})[1]
    work(pipeline)

    plain, limited = (get(f"/v1/backtests/{b['id']}")[1] for b in (plain, limited))
    assert limited["status"] == "completed", limited
    assert limited["risk_limits"]["max_order_qty"] == "5"
    assert plain["risk_limits"] is None
    # All-equity orders are far above 5 units: every one is denied, nothing trades.
    assert plain["statistics"]["trades"] > 0 and limited["statistics"]["trades"] == 0
    assert limited["reused_from"] is None  # different settings: a different hash


@pytest.mark.parametrize("value", [10**400, 1e308, "1e308", 1001, 0, -(10**30)])
def test_a_parameter_outside_its_declared_bounds_is_422_naming_it(seeded: Any, value: Any) -> None:
    backtest = post("/v1/backtests", {**RANGE, "strategy": "sma_cross", "params": {"fast": value}})
    sweep = post(
        "/v1/backtests/sweeps", {**RANGE, "strategy": "sma_cross", "grid": {"fast": [5, value]}}
    )
    fixed = post(
        "/v1/backtests/sweeps",
        {**RANGE, "strategy": "sma_cross", "grid": {"slow": [20]}, "params": {"fast": value}},
    )

    for status, problem in (backtest, sweep, fixed):
        assert status == 422, problem
        assert problem["code"] == "STRATEGY_INVALID_PARAMETER"
        assert "'fast' must be between 1 and 1000" in problem["errors"][0]["message"]
    assert get("/v1/backtests")[1]["items"] == []


@pytest.fixture
def crashing() -> Iterator[None]:
    with registered_strategy(Crashing):
        yield


def test_a_strategy_that_raises_fails_the_backtest_naming_the_bar(
    seeded: Any, bars: BarData, pipeline: Pipeline, crashing: None
) -> None:
    queued = post("/v1/backtests", {**RANGE, "strategy": "test_crashing"})[1]
    work(pipeline)
    failed = get(f"/v1/backtests/{queued['id']}")[1]
    assert failed["status"] == "failed"
    assert failed["error"] == {
        "code": "STRATEGY_ERROR",
        "message": "ZeroDivisionError in on_bar: division by zero",
        "bar_time": (START + timedelta(days=CRASH_AT)).isoformat().replace("+00:00", "Z"),
    }
    [completed] = published(pipeline, "BacktestCompleted")
    assert completed["payload"]["backtest"]["status"] == "failed"


def test_a_sweep_counts_the_crashing_combinations_and_ranks_the_others(
    seeded: Any, bars: BarData, pipeline: Pipeline, crashing: None
) -> None:
    body = {**RANGE, "strategy": "test_crashing", "chunk_size": 4,
            "grid": {"crash_at": [10, 20, 10_000, 20_000], "trend": [5]}}  # fmt: skip
    sweep = post("/v1/backtests/sweeps", body)[1]
    work(pipeline)
    done = get(f"/v1/backtests/sweeps/{sweep['id']}")[1]
    assert done["status"] == "completed"
    assert (done["completed_combinations"], done["failed_combinations"]) == (4, 2)
    assert sorted(r["params"]["crash_at"] for r in done["results"]) == [10_000, 20_000]


def test_a_parameter_the_strategy_cannot_start_with_is_422_before_queueing(
    seeded: Any, crashing: None
) -> None:
    status, problem = post(
        "/v1/backtests", {**RANGE, "strategy": "test_crashing", "params": {"trend": 0}}
    )
    assert status == 422, problem
    assert (problem["code"], problem["errors"][0]["field"]) == (
        "STRATEGY_INVALID_PARAMETER",
        "params",
    )
    assert get("/v1/backtests")[1]["items"] == []


def test_a_backtest_sizes_on_the_lot_grid_of_the_symbols_instrument(seeded: Any) -> None:
    from redfire_core.services.backtesting import instrument_lot

    assert instrument_lot("BTC-USD") == 0.0001  # fractional: as a live instance sizes it
    assert instrument_lot("GOOG") == 1.0
    assert instrument_lot("UNLISTED") == 1.0  # no instrument: whole units

"""Backtests as a service on the local cloud, as a new user tries them: import daily bars
with the CLI, backtest them through the API (the same figures and reproducibility hash as
the CLI on the file), then sweep a grid with ``redfire backtest sweep``."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import LocalCloudProcess, bearer

pytestmark = pytest.mark.slow

backtesting = pytest.importorskip("backtesting")
GOOG_CSV = Path(backtesting.__file__).parent / "test" / "GOOG.csv"
RANGE = {
    "symbol": "GOOG",
    "interval": "1d",
    "start": "2004-01-01T00:00:00Z",
    "end": "2014-01-01T00:00:00Z",
}
WAIT_SECONDS = 90


@pytest.fixture(scope="module")
def goog_daily(local_cloud: LocalCloudProcess) -> Path:
    """backtesting.py's GOOG daily bars, imported into the local cloud's store."""
    path = local_cloud.workdir / "GOOG.csv"
    shutil.copy(GOOG_CSV, path)
    imported = local_cloud.redfire("data", "import", "GOOG.csv", "--symbol", "GOOG",
                                   "--interval", "1d")  # fmt: skip
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "quarantined 0" in imported.stdout
    return path


def wait_until_finished(api: httpx.Client, token: str, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        body: dict[str, Any] = api.get(path, headers=bearer(token)).json()
        if body["status"] not in ("queued", "running"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def test_a_backtest_through_the_api_matches_the_cli_on_the_same_bars(
    api: httpx.Client, local_cloud: LocalCloudProcess, goog_daily: Path
) -> None:
    cli = local_cloud.redfire("backtest", "--strategy", "sma_cross", "--data", "GOOG.csv",
                              "--param", "fast=10", "--param", "slow=20",
                              "--commission", "0.002", "--json")  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)

    request = {**RANGE, "strategy": "sma_cross", "params": {"fast": 10, "slow": 20},
               "commission": "0.002"}  # fmt: skip
    queued = api.post("/v1/backtests", json=request, headers=bearer(local_cloud.token))
    assert queued.status_code == 202, queued.text
    done = wait_until_finished(api, local_cloud.token, queued.headers["location"])

    assert done["status"] == "completed", done
    assert done["statistics"]["trades"] == expected["trades"]
    assert done["statistics"]["return_pct"] == pytest.approx(expected["return_pct"])
    assert done["reproducibility_hash"] == expected["reproducibility_hash"]
    equity = httpx.get(done["results"]["equity_url"], timeout=10)
    assert equity.status_code == 200
    curve = equity.json()
    assert len(curve) == 2148
    assert curve[-1]["equity"] == pytest.approx(expected["equity_final"])

    again = api.post("/v1/backtests", json=request, headers=bearer(local_cloud.token)).json()
    reused = wait_until_finished(api, local_cloud.token, f"/v1/backtests/{again['id']}")
    assert reused["reused_from"] == done["id"]
    assert reused["statistics"] == done["statistics"]


def test_a_sweep_from_the_cli_shows_progress_and_ranks_the_grid(
    local_cloud: LocalCloudProcess, goog_daily: Path
) -> None:
    swept = local_cloud.redfire(
        "backtest", "sweep", "--strategy", "sma_cross",
        "--symbol", RANGE["symbol"], "--interval", RANGE["interval"],
        "--start", RANGE["start"], "--end", RANGE["end"],
        "--grid", "fast=5,10,15,20", "--grid", "slow=20,30,40",
        "--constraint", "fast < slow", "--maximize", "sqn", "--chunk-size", "2", "--json",
    )  # fmt: skip
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert "100.0%" in swept.stderr and "11/11 combinations" in swept.stderr
    sweep = json.loads(swept.stdout)
    assert sweep["status"] == "completed"
    assert sweep["combinations"] == 11
    sqn = [r["statistics"]["sqn"] for r in sweep["results"]]
    assert sqn == sorted(sqn, reverse=True)
    assert all(r["params"]["fast"] < r["params"]["slow"] for r in sweep["results"])


def test_bad_sweep_input_is_one_line_on_stderr(local_cloud: LocalCloudProcess) -> None:
    swept = local_cloud.redfire(
        "backtest", "sweep", "--strategy", "sma_cross", "--symbol", "GOOG", "--interval", "1d",
        "--start", RANGE["start"], "--end", RANGE["end"], "--grid", "fastest=1,2",
    )  # fmt: skip
    assert swept.returncode == 2
    assert swept.stderr.count("\n") == 1
    assert "STRATEGY_UNKNOWN_PARAMETER" in swept.stderr

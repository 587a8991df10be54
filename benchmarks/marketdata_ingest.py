"""Ingest throughput on the local cloud: a CSV of 1-minute bars uploaded with
``redfire data import`` through the real S3 -> SQS -> ingest function path.

Throughput is bars per second between the upload and the job's final report, as the
ingest job records them (``created_at`` .. ``updated_at``), and end to end as the CLI
sees it (including its start and the S3 notification's trip through the queue).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import Result, Table, mark

BARS = 20_000
TARGET_BARS_PER_SECOND = 1_000.0


def csv_of_minutes(count: int) -> str:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    lines = [",open,high,low,close,volume"]
    for n in range(count):
        t = (start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"{t},100.{n % 9},101.0,99.0,100.5,{n % 100}")
    return "\n".join(lines) + "\n"


def run() -> Result:
    from tests.e2e.harness import start_local_cloud

    workdir = Path(tempfile.mkdtemp(prefix="redfire-bench-ingest-"))
    cloud = start_local_cloud(workdir)
    try:
        (workdir / "minutes.csv").write_text(csv_of_minutes(BARS))
        started = time.perf_counter()
        result = subprocess.run(
            [
                *__import__("tests.e2e.harness", fromlist=["redfire_command"]).redfire_command(),
                "data",
                "import",
                "minutes.csv",
                "--symbol",
                "BTC-USD",
                "--interval",
                "1m",
            ],
            cwd=workdir,
            env=__import__("tests.e2e.harness", fromlist=["clean_environment"]).clean_environment(),
            capture_output=True,
            text=True,
            timeout=400,
        )
        wall = time.perf_counter() - started
        job_id = re.search(r"ingest (\w+) completed", result.stdout)
        if result.returncode != 0 or job_id is None:
            raise RuntimeError(result.stdout + result.stderr)
        token = cloud.redfire("token", "--role", "operator").stdout.strip()
        request = urllib.request.Request(
            f"{cloud.api_url}/v1/marketdata/ingests/{job_id.group(1)}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            report = json.loads(response.read())
    finally:
        # Saving the tables can outlast the harness's patience; it kills the cloud then.
        with contextlib.suppress(subprocess.TimeoutExpired):
            cloud.stop()
    server = (
        datetime.fromisoformat(report["updated_at"].replace("Z", "+00:00"))
        - datetime.fromisoformat(report["created_at"].replace("Z", "+00:00"))
    ).total_seconds()
    rate = report["written"] / server if server else float("nan")
    met = report["written"] == BARS and rate >= TARGET_BARS_PER_SECOND
    return Result(
        name="marketdata_ingest",
        title="Market data ingest throughput on the local cloud",
        status="met" if met else "missed",
        summary=f"{rate:,.0f} bars/s in the ingest function ({BARS / wall:,.0f} bars/s end to end)",
        target=f">= {TARGET_BARS_PER_SECOND:,.0f} bars/s in the ingest function",
        reference="end-to-end rate as the CLI sees it, in the same run",
        method=[
            "`redfire dev` started fresh; `redfire data import minutes.csv --symbol BTC-USD "
            f"--interval 1m` uploads {BARS:,} new 1-minute bars to the uploads bucket; moto "
            "sends the object-created notification to the ingest queue; the local poller "
            "runs the ingest handler, which writes in chunks of 5,000 and updates the job.",
        ],
        tables=[
            Table(
                "Ingest of one CSV",
                [
                    "bars",
                    "written",
                    "job duration",
                    "bars/s (function)",
                    "CLI wall time",
                    "bars/s (end to end)",
                    "target met",
                ],
                [
                    [
                        f"{BARS:,}",
                        f"{report['written']:,}",
                        f"{server:.1f} s",
                        f"{rate:,.0f}",
                        f"{wall:.1f} s",
                        f"{BARS / wall:,.0f}",
                        mark(met),
                    ]
                ],
            )
        ],
        notes=["The local cloud serialises DynamoDB requests to moto (see PITFALLS.md)."],
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

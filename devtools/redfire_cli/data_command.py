"""``redfire data import|backfill|gaps``: market data through the real ingest path.

``import`` and ``backfill`` put an object under the uploads bucket's ``ingest/`` prefix
(the local cloud's or a stage's), exactly as a user's upload would, then follow the
ingest job the ingest function reports on: a progress bar, then the final counts.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from redfire_cli.targets import select_target, use_stage_buckets

POLL_SECONDS = 0.5
BAR_WIDTH = 30
# How a job ends (jobs recorded before quarantine was named say "succeeded").
FINAL = ("completed", "succeeded", "failed")


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _s3() -> Any:
    import boto3

    return boto3.client("s3")


def progress_line(done: int, total: int | None, job: Any) -> str:
    counts = f"written {job.written}, unchanged {job.unchanged}, quarantined {job.rejected}"
    if not total:
        return f"{job.status:<9} {done} bars: {counts}"
    filled = min(BAR_WIDTH, BAR_WIDTH * done // max(total, 1))
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} {counts}"


def follow(job_id: str, total: int | None, timeout: float, out: TextIO = sys.stderr) -> int:
    """Show the job's progress until it ends; print its counts and rejections."""
    from redfire_core.adapters.market_data import MarketDataRecords

    records = MarketDataRecords()
    deadline = time.monotonic() + timeout
    job = None
    while time.monotonic() < deadline:
        job = records.get_job(job_id)
        if job is not None:
            done = job.written + job.unchanged + job.rejected
            out.write("\r" + progress_line(done, total, job))
            out.flush()
            if job.status in FINAL:
                break
        time.sleep(POLL_SECONDS)
    out.write("\n")
    if job is None or job.status not in FINAL:
        print(f"ingest {job_id} has not finished; see GET /v1/marketdata/ingests/{job_id}")
        return 1
    for rejection in job.rejections[:20]:
        print(f"quarantined {json.dumps(rejection['bar'])}: {rejection['reason']}")
    print(
        f"ingest {job_id} {job.status}: written {job.written}, unchanged {job.unchanged}, "
        f"quarantined {job.rejected}" + (f" ({job.error})" if job.error else "")
    )
    return 0 if job.status != "failed" else 1


def _upload(key: str, body: bytes, stage: str | None) -> None:
    from redfire_core.config import get_settings
    from redfire_core.resources import MARKETDATA_UPLOADS

    if stage:
        use_stage_buckets(stage)
    bucket = get_settings().bucket_name(MARKETDATA_UPLOADS)
    _s3().put_object(Bucket=bucket, Key=key, Body=body)


def run_import(path: Path, symbol: str, interval: str, stage: str | None, timeout: float) -> int:
    select_target(stage, Path.cwd())
    from redfire_core.domain.bars import INTERVALS
    from redfire_core.events import new_id

    if interval not in INTERVALS:
        print(f"redfire: interval must be one of {', '.join(INTERVALS)}", file=sys.stderr)
        return 2
    data = path.read_bytes()
    job_id = new_id()
    total = max(0, data.count(b"\n") - 1) if path.suffix.lower() == ".csv" else None
    _upload(f"ingest/import/{job_id}/{symbol}/{interval}/{path.name}", data, stage)
    print(f"uploaded {path.name} as ingest {job_id}")
    return follow(job_id, total, timeout)


def run_backfill(
    provider: str,
    symbol: str,
    interval: str,
    start: str,
    end: str,
    stage: str | None,
    timeout: float,
) -> int:
    select_target(stage, Path.cwd())
    from redfire_core.domain.bars import INTERVALS
    from redfire_core.events import new_id

    first, last = _utc(start), _utc(end)
    if first >= last:
        print("redfire: --start must be before --end", file=sys.stderr)
        return 2
    job_id = new_id()
    request = {
        "provider": provider,
        "symbol": symbol,
        "interval": interval,
        "start": first.isoformat(),
        "end": last.isoformat(),
    }
    _upload(f"ingest/backfill/{job_id}.json", json.dumps(request).encode(), stage)
    total = int((last - first) / INTERVALS[interval]) if interval in INTERVALS else None
    print(f"backfill {symbol} {interval} from {provider} as ingest {job_id}")
    return follow(job_id, total, timeout)


def run_gaps(symbol: str, interval: str, start: str, end: str, stage: str | None) -> int:
    select_target(stage, Path.cwd())
    from redfire_core.adapters.market_data import MarketDataRecords
    from redfire_core.adapters.trading_store import TradingStore
    from redfire_core.services.market_data import gaps, market_data_store

    instrument = TradingStore().get_instrument(symbol)
    if instrument is None:
        print(f"redfire: unknown symbol {symbol}", file=sys.stderr)
        return 2
    found = gaps(
        market_data_store(),
        MarketDataRecords(),
        symbol,
        interval,
        instrument.calendar,
        _utc(start),
        _utc(end),
    )
    for gap in found:
        print(f"{gap.start.isoformat()} .. {gap.end.isoformat()}")
    print(f"{len(found)} gap(s) in {symbol} {interval} ({instrument.calendar} calendar)")
    return 0

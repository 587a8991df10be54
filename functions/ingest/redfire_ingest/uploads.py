"""Ingest of an S3 object: a pushed JSON document or an uploaded CSV/Parquet file.

Keys name the job: ``ingest/push/<job id>.json`` holds ``{"symbol", "interval", "bars"}``;
``ingest/backfill/<job id>.json`` holds ``{"provider", "symbol", "interval", "start", "end"}``;
``ingest/import/<job id>/<symbol>/<interval>/<file name>`` holds a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

from redfire_core.adapters.market_data import (
    IngestJob,
    MarketDataRecords,
    MarketDataStore,
    WriteResult,
)
from redfire_core.domain.bars import Bar, Rejection, to_decimal
from redfire_core.providers import provider_named
from redfire_core.providers.files import FileFormatError, parse_timestamp, read_file
from redfire_core.services.ingesting import Publisher, run_job


@cache
def _s3() -> Any:
    import boto3  # lazy: boto3 (S3) only for upload jobs

    return boto3.client("s3")


class ObjectKey:
    def __init__(self, key: str) -> None:
        parts = key.split("/")
        self.kind = parts[1] if len(parts) > 1 else ""
        if self.kind in ("push", "backfill") and len(parts) == 3 and parts[2].endswith(".json"):
            self.job_id = parts[2].removesuffix(".json")
            self.symbol: str | None = None
            self.interval: str | None = None
        elif self.kind == "import" and len(parts) == 6:
            self.job_id, self.symbol, self.interval, self.name = (
                parts[2],
                parts[3],
                parts[4],
                parts[5],
            )
        else:
            raise ValueError(f"not an ingest key: {key}")


def _pushed_bars(document: dict[str, Any]) -> Iterator[Bar | Rejection]:
    symbol, interval = str(document["symbol"]), str(document["interval"])
    for raw in document.get("bars", []):
        try:
            yield Bar(
                symbol,
                interval,
                parse_timestamp(raw["timestamp"]),
                *(to_decimal(raw[name]) for name in ("open", "high", "low", "close", "volume")),
            )
        except (KeyError, ValueError, TypeError) as error:
            yield Rejection({k: str(v) for k, v in dict(raw).items()}, f"unreadable bar: {error}")


def _split(items: Iterator[Bar | Rejection], job: IngestJob) -> Iterator[Bar]:
    for item in items:
        if isinstance(item, Bar):
            yield item
        else:
            job.record(WriteResult(rejected=[item]))


def ingest_object(
    bucket: str,
    key: str,
    store: MarketDataStore,
    records: MarketDataRecords,
    publisher: Publisher,
    now: datetime,
) -> dict[str, Any]:
    """Read the object, ingest its bars under its job id, and return the job's counts."""
    parsed = ObjectKey(key)
    job = records.get_job(parsed.job_id) or IngestJob(
        id=parsed.job_id, status="queued", source=f"s3://{bucket}/{key}"
    )
    job.written = job.unchanged = job.rejected = 0
    job.rejections, job.error = [], None
    try:
        data = _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        if parsed.kind == "push":
            document = json.loads(data)
            job.symbol, job.interval = document["symbol"], document["interval"]
            items = _pushed_bars(document)
        elif parsed.kind == "backfill":
            request = json.loads(data)
            job.symbol, job.interval = request["symbol"], request["interval"]
            job.source = f"backfill:{request['provider']}"
            provider = provider_named(request["provider"])  # retries throttling itself
            items = iter(
                provider.fetch(
                    job.symbol,
                    job.interval,
                    parse_timestamp(request["start"]),
                    parse_timestamp(request["end"]),
                )
            )
        else:
            job.symbol, job.interval = parsed.symbol, parsed.interval
            items = read_file(data, parsed.name, str(parsed.symbol), str(parsed.interval))
        run_job(
            job,
            _split(items, job),
            store,
            records,
            publisher,
            lambda j: records.save_job(j, datetime.now(UTC)),
            backfill=True,
        )
    except FileFormatError as error:
        job.status, job.error = "failed", str(error)  # a bad file does not get better
        records.save_job(job, now)
    except Exception as error:
        job.status, job.error = "failed", f"{type(error).__name__}: {error}"
        records.save_job(job, now)
        raise
    return {"id": job.id, "status": job.status, "written": job.written}

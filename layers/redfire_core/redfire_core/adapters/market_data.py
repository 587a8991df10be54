"""The ``MarketDataStore`` port and its DynamoDB adapter; latest prices, ingest jobs, gaps.

Bars live per (symbol, interval) in partitions sized so one query page reads a useful
range: ``BAR#<symbol>#<interval>#<bucket>`` where the bucket is the UTC day for 1m/5m/15m
(a day of 1-minute bars, 1,440 small items, is one page), the month for 1h and the year
for 1d/1w. The sort key is the bar start. Latest prices, ingest jobs, the series
registry and confirmed-empty gaps live in the same table whichever store holds bars.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from redfire_core.adapters import models as m
from redfire_core.config import Settings, get_settings
from redfire_core.domain.bars import INTERVALS, Bar, Gap, Rejection
from redfire_core.events import iso, parse_iso

__all__ = [
    "Bar",
    "DynamoDbMarketDataStore",
    "IngestJob",
    "MarketDataRecords",
    "MarketDataStore",
    "WriteResult",
    "bar_partition",
]

BATCH_WRITE_SIZE = 25
MAX_UNPROCESSED_RETRIES = 8
MAX_LISTED_REJECTIONS = 1000  # per job; the count stays exact beyond it


@dataclass
class WriteResult:
    """What a write did: bars stored or replaced, bars already stored as given, refusals."""

    written: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def add(self, other: WriteResult) -> None:
        self.written += other.written
        self.unchanged += other.unchanged
        self.rejected += other.rejected


class MarketDataStore(Protocol):
    """Where bars live, per (symbol, interval)."""

    write_calls: int  # write requests sent so far (benchmarks compare it with the floor)

    def write_bars(self, bars: Sequence[Bar], *, backfill: bool = False) -> WriteResult:
        """Store valid bars; a bar equal to the stored one counts as unchanged."""
        ...

    def read_bars(
        self, symbol: str, interval: str, start: datetime, end: datetime, limit: int
    ) -> list[Bar]:
        """Bars with ``start <= bar.start < end``, oldest first, at most ``limit``."""
        ...

    def stored_intervals(self, symbol: str) -> set[str]:
        """Intervals at which ``symbol`` has bars."""
        ...


def bucket(interval: str, start: datetime) -> str:
    if interval in ("1m", "5m", "15m"):
        return start.strftime("%Y-%m-%d")
    if interval == "1h":
        return start.strftime("%Y-%m")
    return start.strftime("%Y")


def bar_partition(symbol: str, interval: str, start: datetime) -> str:
    return f"BAR#{symbol}#{interval}#{bucket(interval, start)}"


def _buckets(interval: str, start: datetime, end: datetime) -> list[datetime]:
    """One moment inside each partition bucket that [start, end) touches, in order."""
    moments: list[datetime] = []
    if interval in ("1m", "5m", "15m"):
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            moments.append(day)
            day += timedelta(days=1)
    elif interval == "1h":
        month = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        while month < end:
            moments.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
    else:
        year = start.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        while year < end:
            moments.append(year)
            year = year.replace(year=year.year + 1)
    return moments


def bar_item(bar: Bar) -> dict[str, Any]:
    return {
        "pk": {"S": bar_partition(bar.symbol, bar.interval, bar.start)},
        "sk": {"S": iso(bar.start)},
        "open": {"N": format(bar.open, "f")},
        "high": {"N": format(bar.high, "f")},
        "low": {"N": format(bar.low, "f")},
        "close": {"N": format(bar.close, "f")},
        "volume": {"N": format(bar.volume, "f")},
    }


def _bar(symbol: str, interval: str, item: dict[str, Any]) -> Bar:
    return Bar(
        symbol,
        interval,
        parse_iso(item["sk"]["S"]),
        Decimal(item["open"]["N"]),
        Decimal(item["high"]["N"]),
        Decimal(item["low"]["N"]),
        Decimal(item["close"]["N"]),
        Decimal(item["volume"]["N"]),
    )


class DynamoDbMarketDataStore:
    """The default store: the ``marketdata`` table, through the low-level client."""

    def __init__(self, settings: Settings | None = None, client: Any = None) -> None:
        self.settings = settings or get_settings()
        m.bind(self.settings)
        self.table = self.settings.table_name("marketdata")
        self._client = client
        self.write_calls = 0
        self.sleep = time.sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: only callers of this client pay for importing boto3

            self._client = boto3.client("dynamodb", region_name=m.region())
        return self._client

    # --- bars -------------------------------------------------------------------------

    def write_bars(self, bars: Sequence[Bar], *, backfill: bool = False) -> WriteResult:
        result = WriteResult()
        by_series: dict[tuple[str, str], list[Bar]] = defaultdict(list)
        for bar in bars:
            by_series[(bar.symbol, bar.interval)].append(bar)
        changed: list[Bar] = []
        for (symbol, interval), series in by_series.items():
            series.sort(key=lambda b: b.start)
            stored = {
                b.start: b
                for b in self.read_bars(
                    symbol, interval, series[0].start, series[-1].end, limit=len(series) * 2 + 10
                )
            }
            for bar in series:
                old = stored.get(bar.start)
                if old is not None and old.same_values(bar):
                    result.unchanged += 1
                else:
                    changed.append(bar)
        for offset in range(0, len(changed), BATCH_WRITE_SIZE):
            self._batch_write([bar_item(b) for b in changed[offset : offset + BATCH_WRITE_SIZE]])
            result.written += len(changed[offset : offset + BATCH_WRITE_SIZE])
        for symbol, interval in by_series:
            if any(b.symbol == symbol and b.interval == interval for b in changed):
                self._register_series(symbol, interval)
        return result

    def _batch_write(self, items: list[dict[str, Any]]) -> None:
        """One BatchWriteItem; unprocessed items are retried with backoff, then it raises."""
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in items]
        for attempt in range(MAX_UNPROCESSED_RETRIES + 1):
            self.write_calls += 1
            response = self.client.batch_write_item(RequestItems={self.table: requests})
            requests = response.get("UnprocessedItems", {}).get(self.table, [])
            if not requests:
                return
            self.sleep(min(0.05 * 2**attempt, 2.0))
        raise RuntimeError(f"{len(requests)} bars still unprocessed after retries")

    def _register_series(self, symbol: str, interval: str) -> None:
        self.write_calls += 1
        self.client.put_item(
            TableName=self.table,
            Item={"pk": {"S": f"SERIES#{symbol}"}, "sk": {"S": interval}},
        )

    def read_bars(
        self, symbol: str, interval: str, start: datetime, end: datetime, limit: int
    ) -> list[Bar]:
        bars: list[Bar] = []
        for moment in _buckets(interval, start, end):
            request: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
                "ExpressionAttributeValues": {
                    ":pk": {"S": bar_partition(symbol, interval, moment)},
                    ":lo": {"S": iso(start)},
                    ":hi": {"S": iso(end - timedelta(microseconds=1))},
                },
            }
            while True:
                page = self.client.query(**request)
                bars += [_bar(symbol, interval, item) for item in page["Items"]]
                if len(bars) >= limit:
                    return bars[:limit]
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return bars

    def stored_intervals(self, symbol: str) -> set[str]:
        page = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"SERIES#{symbol}"}},
        )
        return {item["sk"]["S"] for item in page["Items"] if item["sk"]["S"] in INTERVALS}

    # --- latest prices (kept for callers that hold a store) -----------------------------

    def advance_latest(self, symbol: str, price: Decimal, at: datetime) -> bool:
        return MarketDataRecords(self.settings).advance_latest(symbol, price, at)


@dataclass
class IngestJob:
    """An ingest's report: what it came from and what happened to its bars."""

    id: str
    status: str  # queued | running | completed | failed (jobs before 2026-12: succeeded)
    source: str
    symbol: str | None = None
    interval: str | None = None
    written: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    created_at: str = ""
    updated_at: str = ""

    def record(self, result: WriteResult) -> None:
        self.written += result.written
        self.unchanged += result.unchanged
        self.rejected += len(result.rejected)
        room = MAX_LISTED_REJECTIONS - len(self.rejections)
        self.rejections += [{"bar": r.bar, "reason": r.reason} for r in result.rejected[:room]]


class MarketDataRecords:
    """Latest prices, ingest jobs and confirmed-empty gaps (always DynamoDB)."""

    def __init__(self, settings: Settings | None = None, client: Any = None) -> None:
        self.settings = settings or get_settings()
        m.bind(self.settings)
        self.table = self.settings.table_name("marketdata")
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: only callers of this client pay for importing boto3

            self._client = boto3.client("dynamodb", region_name=m.region())
        return self._client

    def advance_latest(self, symbol: str, price: Decimal, at: datetime) -> bool:
        """Set the latest price if ``at`` is newer; False for a late or repeated bar."""
        item = m.LatestPriceItem(f"LATEST#{symbol}", "LATEST", price=price, timestamp=iso(at))
        try:
            item.save(
                condition=m.LatestPriceItem.timestamp.does_not_exist()
                | (m.LatestPriceItem.timestamp < iso(at))
            )
        except Exception as error:
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def latest_prices(self, symbols: Iterable[str]) -> dict[str, tuple[Decimal, datetime]]:
        keys = [{"pk": {"S": f"LATEST#{s}"}, "sk": {"S": "LATEST"}} for s in dict.fromkeys(symbols)]
        found: dict[str, tuple[Decimal, datetime]] = {}
        for offset in range(0, len(keys), 100):
            request = {self.table: {"Keys": keys[offset : offset + 100]}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table, []):
                    symbol = item["pk"]["S"].removeprefix("LATEST#")
                    found[symbol] = (Decimal(item["price"]["N"]), parse_iso(item["timestamp"]["S"]))
                request = response.get("UnprocessedKeys") or {}
        return found

    # --- jobs -------------------------------------------------------------------------

    def save_job(self, job: IngestJob, now: datetime) -> None:
        job.updated_at = iso(now)
        job.created_at = job.created_at or job.updated_at
        body = {k: v for k, v in job.__dict__.items() if k != "id"}
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"INGEST#{job.id}"},
                "sk": {"S": "JOB"},
                "job": {"S": json.dumps(body, separators=(",", ":"))},
            },
        )

    def get_job(self, job_id: str) -> IngestJob | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"INGEST#{job_id}"}, "sk": {"S": "JOB"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return IngestJob(id=job_id, **json.loads(item["job"]["S"]))

    # --- confirmed-empty gaps -----------------------------------------------------------

    def confirm_empty(self, symbol: str, interval: str, gap: Gap) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"EMPTY#{symbol}#{interval}"},
                "sk": {"S": iso(gap.start)},
                "end": {"S": iso(gap.end)},
            },
        )

    def confirmed_empty(self, symbol: str, interval: str) -> list[Gap]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"EMPTY#{symbol}#{interval}"}},
        }
        gaps: list[Gap] = []
        while True:
            page = self.client.query(**request)
            gaps += [Gap(parse_iso(i["sk"]["S"]), parse_iso(i["end"]["S"])) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return gaps
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def utc_now() -> datetime:
    return datetime.now(UTC)

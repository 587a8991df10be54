"""Market data use cases beyond ingest: reading bars at any interval, gaps, backfills."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from redfire_core.adapters.market_data import (
    DynamoDbMarketDataStore,
    IngestJob,
    MarketDataRecords,
    MarketDataStore,
)
from redfire_core.config import Settings, get_settings
from redfire_core.domain.bars import (
    INTERVALS,
    Bar,
    Gap,
    can_resample,
    find_gaps,
    floor_to,
    resample,
)
from redfire_core.domain.errors import DomainError
from redfire_core.events import DataGapDetected, Envelope, iso, new_id
from redfire_core.providers import Provider
from redfire_core.resources import TIMESERIES
from redfire_core.services.ingesting import Publisher, run_job

PAGE_BARS = 10_000
MAX_STORED_BARS = 200_000


def market_data_store(settings: Settings | None = None) -> MarketDataStore:
    """The stage's bar store: DynamoDB unless the stage enables Timestream."""
    settings = settings or get_settings()
    if settings.marketdata_store == "timestream":
        from redfire_core.adapters.timestream import TimestreamMarketDataStore  # lazy: opt-in

        database, table = settings.declaration.timestream_names()
        return TimestreamMarketDataStore(
            database,
            table,
            memory_retention=timedelta(hours=TIMESERIES.memory_retention_hours),
            magnetic_retention=timedelta(days=TIMESERIES.magnetic_retention_days),
        )
    return DynamoDbMarketDataStore(settings)


def _check_range(interval: str, start: datetime, end: datetime) -> None:
    if interval not in INTERVALS:
        raise DomainError(
            "MARKETDATA_INTERVAL_UNKNOWN",
            f"interval must be one of {', '.join(INTERVALS)}",
            "interval",
        )
    if start >= end:
        raise DomainError("MARKETDATA_RANGE_INVALID", "start must be before end", "start")


def source_intervals(store: MarketDataStore, symbol: str, interval: str) -> list[str]:
    """Stored intervals that ``interval`` bars can be built from, finest first."""
    stored = sorted(store.stored_intervals(symbol), key=lambda i: INTERVALS[i])
    return [i for i in stored if can_resample(i, interval)]


def read_page(
    store: MarketDataStore,
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    cursor: datetime | None = None,
    page_bars: int = PAGE_BARS,
) -> tuple[list[Bar], datetime | None]:
    """One page of ``interval`` bars in [start, end) (oldest first) and the next page's start.

    Bars are resampled from the finest stored interval that holds bars in the page (a
    symbol may have a 1-minute feed for recent days and imported daily bars for years
    before); a range that would read more than ``MAX_STORED_BARS`` stored bars of every
    usable interval is refused.
    """
    _check_range(interval, start, end)
    first = floor_to(start, interval)
    sources = [
        source
        for source in source_intervals(store, symbol, interval)
        if (end - first) / INTERVALS[source] <= MAX_STORED_BARS
    ]
    if not sources and source_intervals(store, symbol, interval):
        raise DomainError(
            "MARKETDATA_RANGE_TOO_LARGE",
            f"the range holds more than {MAX_STORED_BARS} stored bars; ask for a shorter one",
            "end",
        )
    page_start = cursor or first
    try:
        page_end = min(end, page_start + INTERVALS[interval] * page_bars)
    except OverflowError:  # a page reaching past datetime.max (year 9999) ends at ``end``
        page_end = end
    next_start = page_end if page_end < end else None
    for source in sources:
        raw = store.read_bars(symbol, source, page_start, page_end, limit=MAX_STORED_BARS + 1)
        if raw:
            bars = raw if source == interval else resample(raw, interval)
            return [b for b in bars if b.start >= first], next_start
    return [], next_start


def gaps(
    store: MarketDataStore,
    records: MarketDataRecords,
    symbol: str,
    interval: str,
    calendar: str,
    start: datetime,
    end: datetime,
) -> list[Gap]:
    """Missing ranges against the calendar, without the ones confirmed empty."""
    _check_range(interval, start, end)
    if (end - start) / INTERVALS[interval] > MAX_STORED_BARS:
        raise DomainError(
            "MARKETDATA_RANGE_TOO_LARGE",
            f"the range holds more than {MAX_STORED_BARS} {interval} bars",
            "end",
        )
    stored = [b.start for b in store.read_bars(symbol, interval, start, end, MAX_STORED_BARS)]
    return find_gaps(
        stored, calendar, interval, start, end, records.confirmed_empty(symbol, interval)
    )


def check_and_backfill(
    store: MarketDataStore,
    records: MarketDataRecords,
    publisher: Publisher,
    provider: Provider,
    provider_name: str,
    series: Sequence[tuple[str, str]],  # (symbol, calendar)
    interval: str,
    start: datetime,
    end: datetime,
    now: datetime,
) -> dict[str, int]:
    """Announce each gap (DataGapDetected), fill it from the provider, confirm what stays empty."""
    found = filled = empty = 0
    for symbol, calendar in series:
        for gap in gaps(store, records, symbol, interval, calendar, start, end):
            found += 1
            missing = int((gap.end - gap.start) / INTERVALS[interval])
            publisher.publish(
                [
                    Envelope.wrap(
                        DataGapDetected(
                            symbol=symbol,
                            interval=interval,
                            start=iso(gap.start),
                            end=iso(gap.end),
                            missing_bars=max(1, missing),
                            provider=provider_name,
                        ),
                        account_id=None,
                        correlation_id=new_id(),
                        occurred_at=now,
                    )
                ]
            )
            job = IngestJob(id=new_id(), status="queued", source=f"backfill:{provider_name}")
            job.symbol, job.interval = symbol, interval
            bars = provider.fetch(symbol, interval, gap.start, gap.end)
            run_job(
                job,
                bars,
                store,
                records,
                publisher,
                lambda j: records.save_job(j, now),
                backfill=True,
            )
            if job.written == 0 and job.unchanged == 0:
                records.confirm_empty(symbol, interval, gap)
                empty += 1
            else:
                filled += 1
    return {"gaps": found, "filled": filled, "confirmed_empty": empty}


def push_document(symbol: str, interval: str, bars: list[dict[str, Any]]) -> bytes:
    return json.dumps({"symbol": symbol, "interval": interval, "bars": bars}).encode()


Clock = Callable[[], datetime]

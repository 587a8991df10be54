"""Ingesting bars: validate, store, advance latest prices, announce once per series per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from redfire_core.adapters.market_data import (
    DynamoDbMarketDataStore,
    IngestJob,
    MarketDataStore,
    WriteResult,
)
from redfire_core.domain.bars import INTERVALS, Bar, bar_document, split_valid
from redfire_core.events import Envelope, new_id
from redfire_core.observability import logger
from redfire_core.views import market_data_updated

__all__ = ["INTERVALS", "IngestOutcome", "ingest_bars", "ingest_batch", "run_job"]

CHUNK_BARS = 5000  # bars written between two job progress updates


class Publisher(Protocol):
    def publish(self, events: Sequence[Envelope]) -> Any: ...


class LatestPrices(Protocol):
    def advance_latest(self, symbol: str, price: Any, at: datetime) -> bool: ...


class IngestOutcome(WriteResult):
    """A write result plus the events the batch announced."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Envelope] = []


def ingest_batch(
    store: MarketDataStore,
    latest: LatestPrices,
    publisher: Publisher,
    bars: Iterable[Bar],
    *,
    backfill: bool = False,
    correlation_id: str | None = None,
) -> IngestOutcome:
    """Validate and store ``bars``; move each symbol's latest price forward; announce.

    One ``MarketDataUpdated`` per (symbol, interval) of a symbol whose latest price moved
    forward, never one per bar; a re-ingest of identical bars stores nothing and announces
    nothing, and a backfill of older bars is stored without waking the order matcher.
    """
    valid, rejected = split_valid(bars)
    outcome = IngestOutcome()
    outcome.rejected += rejected
    written = store.write_bars(valid, backfill=backfill)
    outcome.written, outcome.unchanged = written.written, written.unchanged
    outcome.rejected += written.rejected
    refused = {r.bar.get("timestamp") for r in written.rejected}
    stored = [b for b in valid if bar_document(b)["timestamp"] not in refused]
    if written.written == 0:
        return outcome
    series: dict[tuple[str, str], list[Bar]] = defaultdict(list)
    for bar in stored:
        series[(bar.symbol, bar.interval)].append(bar)
    newest: dict[str, Bar] = {}
    for bar in stored:
        if bar.symbol not in newest or bar.end > newest[bar.symbol].end:
            newest[bar.symbol] = bar
    advanced = {
        symbol
        for symbol, bar in newest.items()
        if latest.advance_latest(symbol, bar.close, bar.end)
    }
    for (symbol, _), batch in series.items():
        if symbol not in advanced:
            # Older than what the symbol's price already reflects (a backfill, a late
            # upload): stored, but matching resting orders against it would be wrong.
            continue
        outcome.events.append(
            Envelope.wrap(
                market_data_updated(batch),
                account_id=None,
                correlation_id=correlation_id or new_id(),
                occurred_at=batch[-1].end,
            )
        )
    if outcome.events:
        publisher.publish(outcome.events)
    logger.info(
        "bars ingested",
        extra={
            "written": outcome.written,
            "unchanged": outcome.unchanged,
            "rejected": len(outcome.rejected),
            "announced": len(outcome.events),
        },
    )
    return outcome


def ingest_bars(
    store: DynamoDbMarketDataStore,
    publisher: Publisher,
    bars: Sequence[Bar],
    *,
    correlation_id: str | None = None,
) -> list[Envelope]:
    """Store and announce ``bars`` with the DynamoDB store (the demo feed's path)."""
    return ingest_batch(store, store, publisher, bars, correlation_id=correlation_id).events


def run_job(
    job: IngestJob,
    bars: Iterable[Bar],
    store: MarketDataStore,
    latest: LatestPrices,
    publisher: Publisher,
    save: Callable[[IngestJob], None],
    *,
    backfill: bool = False,
) -> IngestJob:
    """Ingest ``bars`` in chunks, saving the job's counts after each so progress shows."""
    job.status = "running"
    save(job)
    chunk: list[Bar] = []
    for bar in bars:
        chunk.append(bar)
        if len(chunk) >= CHUNK_BARS:
            job.record(ingest_batch(store, latest, publisher, chunk, backfill=backfill))
            save(job)
            chunk = []
    if chunk or job.written + job.unchanged + job.rejected == 0:
        job.record(ingest_batch(store, latest, publisher, chunk, backfill=backfill))
    job.status = "completed"  # bad rows, if any, are quarantined in job.rejections
    save(job)
    return job

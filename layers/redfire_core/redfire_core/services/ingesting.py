"""Storing bars and announcing them with one MarketDataUpdated event per (symbol, interval)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from redfire_core.adapters.event_bus import EventBridgePublisher
from redfire_core.adapters.market_data import Bar, DynamoDbMarketDataStore
from redfire_core.events import Envelope, MarketDataUpdated, iso, new_id
from redfire_core.observability import logger

INTERVALS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}


def ingest_bars(
    store: DynamoDbMarketDataStore,
    publisher: EventBridgePublisher,
    bars: Sequence[Bar],
    *,
    correlation_id: str | None = None,
) -> list[Envelope]:
    """Write ``bars``; announce each series whose latest price moved forward.

    Re-ingesting the same bars rewrites identical items and announces nothing, so a
    retried schedule or upload does not wake the order matcher twice.
    """
    series: dict[tuple[str, str], list[Bar]] = defaultdict(list)
    for bar in sorted(bars, key=lambda b: b.start):
        series[(bar.symbol, bar.interval)].append(bar)
    store.write_bars(bars)
    events = []
    for (symbol, interval), batch in series.items():
        last = batch[-1]
        end = last.start + INTERVALS[interval]
        if not store.advance_latest(symbol, last.close, end):
            continue
        update = MarketDataUpdated(
            symbol=symbol,
            interval=interval,
            first_start=iso(batch[0].start),
            last_end=iso(end),
            open=format(batch[0].open, "f"),
            high=format(max(b.high for b in batch), "f"),
            low=format(min(b.low for b in batch), "f"),
            close=format(last.close, "f"),
            volume=format(sum(b.volume for b in batch), "f"),
            bar_count=len(batch),
        )
        events.append(
            Envelope.wrap(
                update, account_id=None, correlation_id=correlation_id or new_id(), occurred_at=end
            )
        )
    if events:
        publisher.publish(events)
    logger.info("bars ingested", extra={"bars": len(bars), "announced": len(events)})
    return events

"""Ingest function: scheduled pulls, gap checks, and S3 uploads (via the ingest queue)."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from redfire_core.adapters.event_bus import EventBridgePublisher
from redfire_core.adapters.market_data import MarketDataRecords, MarketDataStore
from redfire_core.consumers import Consumer, Scheduled
from redfire_core.domain.bars import INTERVALS, floor_to
from redfire_core.lambda_events import validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_core.providers import provider_named
from redfire_core.resources import DEMO_SYMBOLS
from redfire_core.services.ingesting import ingest_batch
from redfire_core.services.market_data import check_and_backfill, market_data_store
from redfire_ingest.uploads import ingest_object


class ScheduledPull(BaseModel):
    """The JSON input an EventBridge Scheduler pull schedule delivers."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(min_length=1)
    symbols: list[str] = Field(min_length=1)
    interval: str = "1m"
    bars: int = Field(2, ge=1, le=1440)  # the most recent complete bars to (re)pull


class GapCheck(BaseModel):
    """The scheduled gap check: the last ``hours`` of each symbol, backfilled from ``provider``."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["check_gaps"]
    provider: str
    interval: str = "1m"
    symbols: list[str] = Field(default_factory=lambda: list(DEMO_SYMBOLS))
    hours: int = Field(24, ge=1, le=24 * 31)


@cache
def _ports() -> tuple[MarketDataStore, MarketDataRecords, EventBridgePublisher]:
    return market_data_store(), MarketDataRecords(), EventBridgePublisher()


def _pull(pull: ScheduledPull, now: datetime) -> dict[str, Any]:
    store, records, publisher = _ports()
    provider = provider_named(pull.provider)
    end = floor_to(now, pull.interval)
    start = end - INTERVALS[pull.interval] * pull.bars
    bars = [b for s in pull.symbols for b in provider.fetch(s, pull.interval, start, end)]
    outcome = ingest_batch(store, records, publisher, bars)
    count("BarsIngested", outcome.written)
    return {"bars": len(bars), "written": outcome.written, "announced": len(outcome.events)}


def _check_gaps(check: GapCheck, now: datetime) -> dict[str, int]:
    from redfire_core.adapters.trading_store import TradingStore  # lazy: PynamoDB
    from redfire_core.services.instruments import instrument_cache  # lazy: PynamoDB

    store, records, publisher = _ports()
    instruments = instrument_cache(TradingStore())
    series = []
    for symbol in check.symbols:
        instrument = instruments.get(symbol)
        series.append((symbol, instrument.calendar if instrument else "24/7"))
    end = floor_to(now, check.interval)
    return check_and_backfill(
        store,
        records,
        publisher,
        provider_named(check.provider),
        check.provider,
        series,
        check.interval,
        end - timedelta(hours=check.hours),
        end,
        now,
    )


def _s3_records(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(bucket, key) of every object-created record in SQS messages of S3 notifications."""
    objects = []
    for message in event["Records"]:
        body = json.loads(message["body"])
        for record in body.get("Records", []):  # s3:TestEvent has none
            if record.get("eventName", "").startswith("ObjectCreated"):
                key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
                objects.append((record["s3"]["bucket"]["name"], key))
    return objects


# The schedules' targets; the queue carries S3 notifications, not envelopes (no routes).
consumer = Consumer(
    routes={},
    actions={None: Scheduled(_pull, ScheduledPull), "check_gaps": Scheduled(_check_gaps, GapCheck)},
)


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "Records" not in event:
        return consumer.scheduled(event)
    # batch size 1: a failure raises, the message returns and ends in the DLQ.
    now = datetime.now(UTC)
    store, records, publisher = _ports()
    reports = [
        ingest_object(bucket, key, store, records, publisher, now)
        for bucket, key in _s3_records(event)
    ]
    return {"batchItemFailures": [], "jobs": reports}

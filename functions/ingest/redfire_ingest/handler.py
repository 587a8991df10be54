"""Ingest function: scheduled pulls from a provider into the market data store."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from redfire_core.adapters.event_bus import EventBridgePublisher
from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.lambda_events import validated_env
from redfire_core.observability import logger, metrics, tracer
from redfire_core.services.ingesting import ingest_bars
from redfire_ingest.synthetic import last_completed_bars


class ScheduledPull(BaseModel):
    """The JSON input an EventBridge Scheduler schedule delivers."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["synthetic"]
    symbols: list[str] = Field(min_length=1)
    interval: Literal["1m"]


@cache
def _ports() -> tuple[DynamoDbMarketDataStore, EventBridgePublisher]:
    return DynamoDbMarketDataStore(), EventBridgePublisher()


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    pull = ScheduledPull.model_validate(event)
    bars = last_completed_bars(pull.symbols, datetime.now(UTC), count=2)
    store, publisher = _ports()
    announced = ingest_bars(store, publisher, bars)
    metrics.add_metric(name="BarsIngested", unit="Count", value=len(bars))
    return {"bars": len(bars), "announced": len(announced)}

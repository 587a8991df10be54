"""Orders function: fills accepted orders on the paper gateway and matches resting ones."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.lambda_events import envelope_from_sqs_body, validated_env
from redfire_core.observability import logger, metrics, tracer
from redfire_core.services.execution import on_market_data, on_order_accepted

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def _store() -> TradingStore:
    return TradingStore()


def execute(record: SQSRecord) -> str:
    event = envelope_from_sqs_body(record.body)
    logger.set_correlation_id(event.correlation_id)
    now = datetime.now(UTC)
    if event.type == "OrderAccepted":
        return on_order_accepted(_store(), event, now)
    if event.type == "MarketDataUpdated":
        return f"{on_market_data(_store(), event, now)} filled"
    logger.info("event ignored", extra={"type": event.type, "event_id": event.id})
    return "ignored"


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event, execute, processor, context)

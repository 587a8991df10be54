"""Risk function: reviews each OrderSubmitted from the risk queue (partial batch responses)."""

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
from redfire_core.services.risk_review import review_order

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def _store() -> TradingStore:
    return TradingStore()


def review(record: SQSRecord) -> str:
    event = envelope_from_sqs_body(record.body)
    logger.set_correlation_id(event.correlation_id)
    if event.type != "OrderSubmitted":
        logger.info("event ignored", extra={"type": event.type, "event_id": event.id})
        return "ignored"
    outcome = review_order(_store(), event, datetime.now(UTC))
    metrics.add_metric(name=f"Orders{outcome.capitalize()}", unit="Count", value=1)
    return outcome


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event, review, processor, context)

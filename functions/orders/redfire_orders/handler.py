"""Orders function: the paper gateway's fills, cancels, replaces and expiries.

Invoked by the orders queue (SQS batches, partial batch responses) and by the
``expire-orders`` schedule (``{"action": "expire_orders"}``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.events import Envelope, iso, new_id
from redfire_core.lambda_events import envelope_from_sqs_body, validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_core.services.dead_letters import RecordingBatchProcessor
from redfire_core.services.execution import (
    expire_due,
    on_cancel_requested,
    on_market_data,
    on_order_accepted,
)

processor = RecordingBatchProcessor("orders")  # failure reasons for `redfire dlq show`
ROUTES: dict[str, Callable[[TradingStore, Envelope, datetime], object]] = {
    "OrderAccepted": on_order_accepted,
    "OrderCancelRequested": on_cancel_requested,
    "MarketDataUpdated": on_market_data,
}


class ScheduledSweep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["expire_orders"]


@cache
def _store() -> TradingStore:
    return TradingStore()


def execute(record: SQSRecord) -> str:
    event = envelope_from_sqs_body(record.body)
    logger.set_correlation_id(event.correlation_id)
    route = ROUTES.get(event.type)
    if route is None:
        logger.info("event ignored", extra={"type": event.type, "event_id": event.id})
        return "ignored"
    return str(route(_store(), event, datetime.now(UTC)))


def sweep(event: dict[str, Any]) -> dict[str, Any]:
    ScheduledSweep.model_validate(event)
    now = datetime.now(UTC)
    cause = Envelope(
        id=new_id(),
        type="ExpirySweep",
        occurred_at=iso(now),
        account_id=None,
        correlation_id=new_id(),
        payload={},
    )
    expired = expire_due(_store(), now, cause)
    count("OrdersExpired", expired)
    return {"expired": expired}


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    if "Records" not in event:
        return sweep(event)
    return process_partial_response(event, execute, processor, context)

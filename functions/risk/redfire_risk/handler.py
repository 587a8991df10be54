"""Risk function: post-trade monitoring on OrderFilled and MarketDataUpdated (SQS, partial
batch responses); and the ``risk-timeout`` schedule (``{"action": "deny_timed_out"}``).
New orders are decided on the orders stream.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.risk_store import RiskStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.lambda_events import envelope_from_sqs_body, validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_core.services.dead_letters import RecordingBatchProcessor
from redfire_core.services.risk_monitoring import on_market_data, on_order_event
from redfire_core.services.risk_review import deny_timed_out

processor = RecordingBatchProcessor("risk")  # failure reasons for `redfire dlq show`


class ScheduledSweep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["deny_timed_out"]


@cache
def _store() -> TradingStore:
    return TradingStore()


@cache
def _risk() -> RiskStore:
    return RiskStore()


@cache
def _audit() -> AuditLog:
    return AuditLog()


def review(record: SQSRecord) -> str:
    event = envelope_from_sqs_body(record.body)
    logger.set_correlation_id(event.correlation_id)
    now = datetime.now(UTC)
    if event.type == "OrderFilled":
        return on_order_event(_store(), _risk(), _audit(), event, now)
    if event.type == "MarketDataUpdated":
        breached = on_market_data(_store(), _risk(), _audit(), event, now)
        if breached:
            count("RiskBreaches", breached)
        return "monitored"
    logger.info("event ignored", extra={"type": event.type, "event_id": event.id})
    return "ignored"


def sweep(event: dict[str, Any]) -> dict[str, Any]:
    ScheduledSweep.model_validate(event)
    denied = deny_timed_out(_store(), datetime.now(UTC), get_settings().risk_timeout_seconds)
    count("OrdersTimedOut", denied)
    return {"denied": denied}


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    if "Records" not in event:
        return sweep(event)
    return process_partial_response(event, review, processor, context)

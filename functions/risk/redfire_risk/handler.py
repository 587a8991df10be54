"""Risk function: post-trade monitoring on OrderFilled and MarketDataUpdated (SQS, partial
batch responses); and the ``risk-timeout`` schedule (``{"action": "deny_timed_out"}``).
New orders are decided on the orders stream.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.risk_store import RiskStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.consumers import Consumer, action
from redfire_core.events import Envelope
from redfire_core.lambda_events import validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_core.services.risk_monitoring import on_market_data, on_order_event
from redfire_core.services.risk_review import deny_timed_out


@cache
def _store() -> TradingStore:
    return TradingStore()


@cache
def _risk() -> RiskStore:
    return RiskStore()


@cache
def _audit() -> AuditLog:
    return AuditLog()


def order_outcome(event: Envelope, now: datetime) -> str:
    return on_order_event(_store(), _risk(), _audit(), event, now)


def market_data(event: Envelope, now: datetime) -> str:
    breached = on_market_data(_store(), _risk(), _audit(), event, now)
    if breached:
        count("RiskBreaches", breached)
    return "monitored"


def sweep(now: datetime) -> dict[str, Any]:
    denied = deny_timed_out(_store(), now, get_settings().risk_timeout_seconds)
    count("OrdersTimedOut", denied)
    return {"denied": denied}


consumer = Consumer(
    routes={
        "OrderFilled": order_outcome,
        "MarketDataUpdated": market_data,
    },
    actions={"deny_timed_out": action(sweep)},
    queue="risk",  # failure reasons for `redfire dlq show`
)


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    return consumer(event, context)

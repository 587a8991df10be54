"""Orders function: the paper gateway's fills, cancels, replaces and expiries.

Invoked by the orders queue (SQS batches, partial batch responses) and by the
``expire-orders`` schedule (``{"action": "expire_orders"}``).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.consumers import Consumer, action
from redfire_core.events import Envelope, iso, new_id
from redfire_core.lambda_events import validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_core.services.execution import (
    expire_due,
    on_cancel_requested,
    on_market_data,
    on_order_accepted,
)


@cache
def _store() -> TradingStore:
    return TradingStore()


def sweep(now: datetime) -> dict[str, Any]:
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


consumer = Consumer(
    routes={
        "OrderAccepted": lambda event, now: on_order_accepted(_store(), event, now),
        "OrderCancelRequested": lambda event, now: on_cancel_requested(_store(), event, now),
        "MarketDataUpdated": lambda event, now: on_market_data(_store(), event, now),
    },
    actions={"expire_orders": action(sweep)},
    queue="orders",  # failure reasons for `redfire dlq show`
)


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    return consumer(event, context)

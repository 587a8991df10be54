"""The orders table's stream: pre-trade decision (and paper fill) of new orders, then the
relay of every event the stream carries to EventBridge, retrying from the first failure."""

from __future__ import annotations

from functools import cache
from typing import Any

from redfire_core.adapters.event_bus import EventBridgePublisher
from redfire_core.adapters.risk_store import RiskStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.lambda_events import validated_env
from redfire_core.observability import logger, metrics, tracer
from redfire_core.services.order_stream import on_orders_stream


@cache
def _ports() -> tuple[TradingStore, RiskStore, EventBridgePublisher]:
    return TradingStore(), RiskStore(), EventBridgePublisher()


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store, risk, publisher = _ports()
    failed_from = on_orders_stream(store, risk, publisher, event.get("Records", []))
    # With ReportBatchItemFailures on a stream, Lambda retries from this sequence number.
    failures = [] if failed_from is None else [{"itemIdentifier": failed_from}]
    return {"batchItemFailures": failures}

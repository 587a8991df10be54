"""The orders table's stream, the one consumer of which decides new orders and relays events.

A new order is decided (and a paper market order filled) here, straight from the stream
record of its insert: the critical path is the API call and this one invocation. The
stream keeps one account's records in order (pk = account id), so an account's orders are
decided in the order they were stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redfire_core.adapters import models as m
from redfire_core.adapters.event_bus import EventBridgePublisher
from redfire_core.adapters.risk_store import RiskStore
from redfire_core.adapters.trading_store import (
    ORDER_PREFIX,
    TradingStore,
    events_of_image,
    order_from_item,
)
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.events import Envelope
from redfire_core.observability import logger
from redfire_core.services.relay import relay
from redfire_core.services.risk_review import decide_order


def submitted_orders(stream_records: list[dict[str, Any]]) -> list[tuple[Order, Envelope]]:
    """(order, its OrderSubmitted event) of each order inserted in ``submitted``."""
    found = []
    for record in stream_records:
        image = record["dynamodb"].get("NewImage", {})
        if record.get("eventName") != "INSERT" or "events" not in image:
            continue
        if not image["sk"]["S"].startswith(ORDER_PREFIX):
            continue
        order = order_from_item(m.OrderItem.from_raw_data(image))
        if order.status is not OrderStatus.SUBMITTED:
            continue
        submitted = [e for e in events_of_image(image) if e.type == "OrderSubmitted"]
        if submitted:
            found.append((order, submitted[0]))
    return found


def on_orders_stream(
    store: TradingStore,
    risk: RiskStore,
    publisher: EventBridgePublisher,
    stream_records: list[dict[str, Any]],
) -> str | None:
    """Decide the batch's new orders, then publish its events; returns the sequence number
    to retry from. A decision that raises fails the whole batch: every step is idempotent
    (decided orders are skipped, event ids repeat), so the retry redoes only what is left."""
    outcomes: dict[str, int] = {}
    for order, cause in submitted_orders(stream_records):
        outcome = decide_order(store, order, cause, datetime.now(UTC), risk)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if outcomes:
        logger.info("orders decided", extra=outcomes)
    return relay(publisher, stream_records)

"""The orders table's stream, the one consumer of which decides new orders and relays events.

A new order is decided (and a paper market order filled) here, straight from the stream
record of its insert: the critical path is the API call and this one invocation. The
stream keeps one account's records in order (pk = account id), so an account's orders are
decided in the order they were stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from redfire_core.adapters import models as m
from redfire_core.adapters.event_bus import EventBridgePublisher
from redfire_core.adapters.trading_store import (
    ORDER_PREFIX,
    events_of_image,
    order_from_item,
)
from redfire_core.adapters.venue_queues import SqsVenueSender, VenueSender
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.events import Envelope, iso
from redfire_core.observability import logger
from redfire_core.ports import OrderStore, RiskPort
from redfire_core.resources import venue_queue
from redfire_core.services.relay import relay
from redfire_core.services.risk_review import SequenceGap, decide_order


def submitted_orders(
    stream_records: list[dict[str, Any]],
) -> list[tuple[int, Order, Envelope]]:
    """(position in the batch, order, its OrderSubmitted event) of each order inserted in
    ``submitted``, each account's in sequence order (two API calls may store their orders
    in the other order than they took their numbers)."""
    found = []
    for position, record in enumerate(stream_records):
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
            found.append((position, order, submitted[0]))
    first_seen: dict[str, int] = {}
    for position, order, _ in found:
        first_seen.setdefault(order.account_id, position)
    return sorted(
        found,
        key=lambda f: (first_seen[f[1].account_id], f[1].sequence or 0, f[0]),
    )


def on_orders_stream(
    store: OrderStore,
    risk: RiskPort,
    publisher: EventBridgePublisher,
    stream_records: list[dict[str, Any]],
    sender: VenueSender | None = None,
) -> str | None:
    """Decide the batch's new orders, each account's in sequence order, then publish its
    events; returns the sequence number to retry from. An order whose predecessor is not
    decided yet (``SequenceGap``) is retried with the rest of its account's orders, from
    the first of them in the batch (the mapping retries; a gap older than
    ``SEQUENCE_GAP_WAIT_SECONDS`` is skipped). A decision that raises otherwise fails the
    whole batch: every step is idempotent (decided orders are skipped, event ids repeat),
    so the retry redoes only what is left."""
    outcomes: dict[str, int] = {}
    waiting: set[str] = set()
    retry_from: list[int] = []
    for position, order, cause in submitted_orders(stream_records):
        if order.account_id in waiting:
            retry_from.append(position)
            continue
        try:
            outcome = decide_order(store, order, cause, datetime.now(UTC), risk, in_sequence=True)
        except SequenceGap:
            waiting.add(order.account_id)
            retry_from.append(position)
            outcome = "waiting"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    failed_from = relay(publisher, stream_records)
    failed_from = send_to_venues(sender, stream_records, failed_from)
    if retry_from:
        gap_from = stream_records[min(retry_from)]["dynamodb"]["SequenceNumber"]
        positions = [r["dynamodb"]["SequenceNumber"] for r in stream_records]
        if failed_from is None or positions.index(gap_from) < positions.index(failed_from):
            failed_from = gap_from
    # One lean line per invocation at INFO; each order's and event's detail is at DEBUG.
    logger.info("orders stream", extra={**outcomes, "records": len(stream_records)})
    return failed_from


# What a venue account's order image asks of its venue function.
VENUE_ACTIONS = {"OrderAccepted": "submit", "OrderCancelRequested": "cancel"}


def venue_messages(record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(queue, message) for each venue action a stream record's order image carries: an
    accepted venue order is submitted (a replacement replaces its original), a cancel
    request is sent on. Paper orders carry no ``venue`` and ask for nothing."""
    image = record["dynamodb"].get("NewImage", {})
    if "venue" not in image or not image["sk"]["S"].startswith(ORDER_PREFIX):
        return []
    order = order_from_item(m.OrderItem.from_raw_data(image))
    if order.venue is None:
        return []
    messages = []
    for event in events_of_image(image):
        action = VENUE_ACTIONS.get(event.type)
        if action is None:
            continue
        if action == "submit" and order.replaces:
            action = "replace"
        body = {
            "action": action,
            "account_id": order.account_id,
            "order_id": order.id,
            "attempt": 0,
            "submitted_at": iso(order.accepted_at or order.updated_at),
        }
        messages.append((venue_queue(order.venue), body))
    return messages


def send_to_venues(
    sender: VenueSender | None, stream_records: list[dict[str, Any]], failed_from: str | None
) -> str | None:
    """Send the venue actions of the records before ``failed_from`` (those from it on are
    retried, and sent then): a message is sent only after the write it acts on committed,
    and a failed send fails the batch from its record, so none is lost (the venue function
    is idempotent, so a repeated one is harmless). Returns the sequence to retry from."""
    for record in stream_records:
        sequence = record["dynamodb"]["SequenceNumber"]
        if sequence == failed_from:
            break
        messages = venue_messages(record)
        if not messages:
            continue
        sender = sender or _default_sender()
        try:
            for queue, body in messages:
                sender.send(queue, body)
        except (BotoCoreError, ClientError):  # retried from this record by the mapping
            logger.exception("venue message not sent", extra={"sequence": sequence})
            return str(sequence)
    return failed_from


_senders: list[VenueSender] = []


def _default_sender() -> VenueSender:
    if not _senders:
        _senders.append(SqsVenueSender())
    return _senders[0]

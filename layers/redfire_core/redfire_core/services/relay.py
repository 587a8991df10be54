"""The relay: the orders table's stream is the outbox.

Each write of an order carries the events it reports on the item itself (writes without
an order carry theirs on an ``OUTBOX#`` row that TTL removes); the relay publishes them
from the stream records' new images. Nothing is deleted, and event ids derive from the
order id, version and type, so a replayed batch publishes the same ids again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redfire_core.adapters.event_bus import BATCH_SIZE, EventBridgePublisher, PublishError
from redfire_core.adapters.trading_store import events_of_image
from redfire_core.events import Envelope
from redfire_core.observability import logger


@dataclass(frozen=True)
class OutboxRecord:
    sequence_number: str
    pk: str
    sk: str
    events: list[Envelope]


def outbox_records(stream_records: list[dict[str, Any]]) -> list[OutboxRecord]:
    """The stream records that carry events (inserts and updates), in stream order."""
    rows = []
    for record in stream_records:
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            continue
        image = record["dynamodb"].get("NewImage", {})
        events = events_of_image(image) if "events" in image else []
        if events:
            rows.append(
                OutboxRecord(
                    sequence_number=record["dynamodb"]["SequenceNumber"],
                    pk=image["pk"]["S"],
                    sk=image["sk"]["S"],
                    events=events,
                )
            )
    return rows


def relay(publisher: EventBridgePublisher, stream_records: list[dict[str, Any]]) -> str | None:
    """Publish in stream order, 10 per PutEvents; returns the sequence number to retry from
    (the first record with an unpublished event), or None when all went out."""
    pending = [
        (row.sequence_number, event)
        for row in outbox_records(stream_records)
        for event in row.events
    ]
    for start in range(0, len(pending), BATCH_SIZE):
        batch = pending[start : start + BATCH_SIZE]
        try:
            publisher.publish([event for _, event in batch])
        except PublishError:
            logger.exception("publishing failed", extra={"from_sequence": batch[0][0]})
            return batch[0][0]
    if pending:
        logger.debug("events relayed", extra={"types": [event.type for _, event in pending]})
    return None

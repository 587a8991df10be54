"""The outbox relay: publish outbox rows from the orders table's stream, then delete them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redfire_core.adapters.event_bus import BATCH_SIZE, EventBridgePublisher, PublishError
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.events import Envelope
from redfire_core.observability import logger


@dataclass(frozen=True)
class OutboxRecord:
    sequence_number: str
    pk: str
    sk: str
    event: Envelope


def outbox_records(stream_records: list[dict[str, Any]]) -> list[OutboxRecord]:
    """Outbox rows newly inserted into the table; every other change is not ours to relay."""
    rows = []
    for record in stream_records:
        if record.get("eventName") != "INSERT":
            continue
        image = record["dynamodb"].get("NewImage", {})
        sk = image.get("sk", {}).get("S", "")
        if not sk.startswith("OUTBOX#"):
            continue
        rows.append(
            OutboxRecord(
                sequence_number=record["dynamodb"]["SequenceNumber"],
                pk=image["pk"]["S"],
                sk=sk,
                event=Envelope.model_validate_json(image["event"]["S"]),
            )
        )
    return rows


def relay(
    store: TradingStore, publisher: EventBridgePublisher, stream_records: list[dict[str, Any]]
) -> str | None:
    """Publish in stream order, 10 per PutEvents; returns the sequence number to retry from.

    A row is deleted only after its event was accepted by EventBridge, so a crash in
    between republishes it (consumers are idempotent) but never loses it.
    """
    rows = outbox_records(stream_records)
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        try:
            publisher.publish([row.event for row in batch])
        except PublishError:
            logger.exception("publishing failed", extra={"from_sequence": batch[0].sequence_number})
            return batch[0].sequence_number
        for row in batch:
            store.delete_outbox_row(row.pk, row.sk)
        logger.info(
            "events relayed",
            extra={"count": len(batch), "types": sorted({r.event.type for r in batch})},
        )
    return None

"""The relay publishes the events a stream record's new image carries, and nothing else:
order items carry theirs (the order view rebuilt from the item, ids derived from the order
id, version and type); outbox rows carry whole envelopes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redfire_core.adapters.trading_store import (
    _order_item,
    derived_event_id,
    encode_events,
    outbox_item,
)
from redfire_core.events import Envelope, OrderAccepted, OrderSubmitted
from redfire_core.services.relay import outbox_records
from redfire_core.views import order_view
from tests.support.events import load_event
from tests.unit.factories import an_order

AT = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


def wrap(payload: Any) -> Envelope:
    return Envelope.wrap(payload, account_id="acct-1", correlation_id="corr-1", occurred_at=AT)


def a_record(
    event_name: str, image: dict[str, Any] | None, sequence: str = "100"
) -> dict[str, Any]:
    """A DynamoDB stream record (real shape from the fixture) with ``image`` as NewImage."""
    record: dict[str, Any] = load_event("dynamodb_stream")["Records"][0]
    record["eventName"] = event_name
    record["dynamodb"]["SequenceNumber"] = sequence
    if image is None:
        record["dynamodb"].pop("NewImage", None)
    else:
        record["dynamodb"]["Keys"] = {"pk": image["pk"], "sk": image["sk"]}
        record["dynamodb"]["NewImage"] = image
    return record


def order_image(with_events: bool = True) -> tuple[dict[str, Any], Envelope]:
    order = an_order().accept(AT)
    event = wrap(OrderAccepted(order=order_view(order)))
    item = _order_item(order, "corr-1")
    if with_events:
        item.events = encode_events([event], order)
    return item.serialize(), event


def test_an_order_write_is_relayed_with_the_order_rebuilt_from_the_item() -> None:
    # Given the stream record of an order write carrying OrderAccepted
    image, sent = order_image()
    assert '"order"' not in image["events"]["S"]  # the item holds the order once

    # When the stream batch is read
    rows = outbox_records([a_record("MODIFY", image, sequence="42")])

    # Then the event comes out whole, with an id derived from the order's version and type
    [row] = rows
    assert row.sequence_number == "42"
    [event] = row.events
    order = sent.payload["order"]
    expected_id = derived_event_id(order["id"], 2, "OrderAccepted", 0, sent.occurred_at)
    assert event == sent.model_copy(update={"id": expected_id})


def test_the_same_record_always_yields_the_same_event_ids() -> None:
    image, _ = order_image()
    first = outbox_records([a_record("INSERT", image)])
    again = outbox_records([a_record("INSERT", image)])
    assert [e.id for r in first for e in r.events] == [e.id for r in again for e in r.events]


def test_an_order_write_without_events_is_not_relayed() -> None:
    image, _ = order_image(with_events=False)
    assert outbox_records([a_record("MODIFY", image)]) == []


def test_an_outbox_row_is_relayed_with_its_envelope() -> None:
    envelope = wrap(OrderSubmitted(order=order_view(an_order())))
    image = outbox_item(envelope).serialize()
    [row] = outbox_records([a_record("INSERT", image, sequence="7")])
    assert (row.sk, row.events) == (f"OUTBOX#{envelope.id}", [envelope])


def test_removals_are_not_relayed() -> None:
    # TTL removes outbox rows: a REMOVE record has no new image and reports nothing
    assert outbox_records([a_record("REMOVE", None)]) == []


def test_records_keep_their_stream_order() -> None:
    order, _ = order_image()
    row = outbox_item(wrap(OrderSubmitted(order=order_view(an_order())))).serialize()
    claim = {"pk": {"S": "acct-1"}, "sk": {"S": "CID#client-1"}}
    records = [
        a_record("INSERT", claim, sequence="1"),
        a_record("INSERT", row, sequence="2"),
        a_record("MODIFY", order, sequence="3"),
    ]
    assert [r.sequence_number for r in outbox_records(records)] == ["2", "3"]


def test_the_events_of_one_write_get_ids_that_sort_as_they_happened() -> None:
    # Given the types of a decision and fill, written together (same time, same version)
    types = ["OrderAccepted", "OrderFilled", "PositionChanged", "AccountChanged"]
    at = "2026-11-25T14:30:00.000Z"
    ids = [derived_event_id("01JD0000000000000000000001", 3, t, i, at) for i, t in enumerate(types)]

    # Then their ids sort in that order (the pusher streams a batch in id order)
    assert sorted(ids) == ids

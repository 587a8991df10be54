"""The relay publishes outbox rows that were just inserted, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redfire_core.events import Envelope, OrderAccepted
from redfire_core.services.relay import outbox_records
from redfire_core.views import order_view
from tests.support.events import load_event
from tests.unit.factories import an_order

AT = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


def an_envelope() -> Envelope:
    payload = OrderAccepted(order=order_view(an_order().accept(AT)))
    return Envelope.wrap(payload, account_id="acct-1", correlation_id="corr-1", occurred_at=AT)


def a_record(
    event_name: str, sk: str, *, sequence: str = "100", envelope: Envelope | None = None
) -> dict[str, Any]:
    """A DynamoDB stream record (real shape from the fixture) for a row of the orders table."""
    record: dict[str, Any] = load_event("dynamodb_stream")["Records"][0]
    record["eventName"] = event_name
    record["dynamodb"]["SequenceNumber"] = sequence
    record["dynamodb"]["Keys"] = {"pk": {"S": "acct-1"}, "sk": {"S": sk}}
    image = {"pk": {"S": "acct-1"}, "sk": {"S": sk}}
    if envelope is not None:
        image["event"] = {"S": envelope.model_dump_json()}
    if event_name == "REMOVE":
        record["dynamodb"].pop("NewImage", None)
    else:
        record["dynamodb"]["NewImage"] = image
    return record


def test_an_inserted_outbox_row_is_relayed_with_its_event() -> None:
    # Given the insert of an outbox row
    envelope = an_envelope()
    record = a_record("INSERT", f"OUTBOX#{envelope.id}", sequence="42", envelope=envelope)

    # When the stream batch is read
    rows = outbox_records([record])

    # Then the row is relayed with its keys, stream position and envelope
    assert [(r.pk, r.sk, r.sequence_number, r.event) for r in rows] == [
        ("acct-1", f"OUTBOX#{envelope.id}", "42", envelope)
    ]


def test_an_inserted_order_row_is_not_relayed() -> None:
    # Given the insert of an order row, then it is not an event to relay
    assert outbox_records([a_record("INSERT", "ORDER#01JD0000000000000000000001")]) == []


def test_modified_and_removed_outbox_rows_are_not_relayed() -> None:
    # Given an outbox row being modified and then deleted by the relay itself
    envelope = an_envelope()
    records = [
        a_record("MODIFY", f"OUTBOX#{envelope.id}", envelope=envelope),
        a_record("REMOVE", f"OUTBOX#{envelope.id}"),
    ]

    # Then neither is relayed again
    assert outbox_records(records) == []


def test_outbox_rows_keep_their_stream_order_among_other_changes() -> None:
    # Given a batch mixing order rows, claims and two outbox inserts
    first, second = an_envelope(), an_envelope()
    records = [
        a_record("INSERT", "ORDER#01JD0000000000000000000001", sequence="1"),
        a_record("INSERT", f"OUTBOX#{first.id}", sequence="2", envelope=first),
        a_record("INSERT", "CID#client-1", sequence="3"),
        a_record("MODIFY", "ORDER#01JD0000000000000000000001", sequence="4"),
        a_record("INSERT", f"OUTBOX#{second.id}", sequence="5", envelope=second),
    ]

    # Then only the outbox inserts come out, in stream order
    assert [r.sequence_number for r in outbox_records(records)] == ["2", "5"]

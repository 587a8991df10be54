"""The relay publishes the events a stream record's new image carries, and nothing else:
order items carry theirs (the order view rebuilt from the item, ids derived from the order
id, version and type); outbox rows carry whole envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from benchmarks.pricing import item_size
from redfire_core.adapters.trading_store import (
    _order_item,
    derived_event_id,
    encode_events,
    outbox_item,
)
from redfire_core.domain.orders import OrderType, Side
from redfire_core.events import (
    AccountBalanceView,
    AccountChanged,
    Envelope,
    OrderAccepted,
    OrderFilled,
    OrderSubmitted,
    PositionChanged,
)
from redfire_core.services.relay import outbox_records
from redfire_core.views import fill_view, order_view, position_view
from tests.support.events import load_event
from tests.unit.factories import a_fill, a_position, an_order

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


def a_decision_that_fills() -> tuple[dict[str, Any], list[Envelope]]:
    """The order write of a market buy accepted and filled at once, with its four events."""
    submitted = an_order(type=OrderType.MARKET, limit_price=None, symbol="GOOG")
    accepted = submitted.accept(AT)
    filled = accepted.fill(Decimal("10"), Decimal("101.25"), AT)
    fill = a_fill(Side.BUY, "10", "101.25", trade_id=f"{filled.id}-3", symbol="GOOG")
    events = [
        wrap(OrderAccepted(order=order_view(accepted))),
        wrap(OrderFilled(order=order_view(filled), fill=fill_view(fill), position_quantity="10")),
        wrap(PositionChanged(position=position_view(a_position("10", "101.25")), trade_id="t")),
        wrap(
            AccountChanged(
                account=AccountBalanceView(
                    currency="USD",
                    cash="98987.50",
                    reserved="0",
                    realized_pnl="0",
                    commissions="0",
                ),
                reason="fill",
                order_id=filled.id,
            )
        ),
    ]
    item = _order_item(filled, "corr-1")
    item.events = encode_events(events, filled)
    return item.serialize(), events


def test_a_decision_that_fills_relays_its_four_events_as_they_were_written() -> None:
    image, sent = a_decision_that_fills()

    [row] = outbox_records([a_record("MODIFY", image)])

    # The accepted order's view (an earlier state than the item's) comes back as it was.
    assert [e.model_dump(exclude={"id"}) for e in row.events] == [
        e.model_dump(exclude={"id"}) for e in sent
    ]
    assert len({e.id for e in row.events}) == 4


def test_the_order_item_of_a_decision_that_fills_stays_within_one_write_unit() -> None:
    # Every write of the item and of each index entry is billed per started KB: the four
    # events a fill reports must not push the item past 1 KB (they took 1.8 KB as JSON).
    image, _ = a_decision_that_fills()
    assert item_size({**image, "pk": {"S": "acct-1"}}) <= 1024


def test_events_written_before_compression_are_still_relayed() -> None:
    # Records written by the previous release stay in the stream for up to 24 hours.
    order = an_order().accept(AT)
    event = wrap(OrderAccepted(order=order_view(order)))
    image = _order_item(order, "corr-1").serialize()
    legacy = [event.model_dump(mode="json", exclude={"id", "account_id"}) | {"o": 1}]
    del legacy[0]["payload"]["order"]
    image["events"] = {"S": json.dumps(legacy)}

    [row] = outbox_records([a_record("MODIFY", image)])

    assert [e.model_dump(exclude={"id"}) for e in row.events] == [event.model_dump(exclude={"id"})]

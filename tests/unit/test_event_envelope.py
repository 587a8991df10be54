"""The event envelope: typed payloads in, timestamps in UTC with a Z, unknown types refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from redfire_core.events import PAYLOADS, Envelope, OrderSubmitted, iso, parse_iso
from redfire_core.views import order_view
from tests.unit.factories import T0, an_order


def test_a_wrapped_payload_comes_back_typed() -> None:
    # Given an OrderSubmitted wrapped in an envelope
    payload = OrderSubmitted(order=order_view(an_order()))
    envelope = Envelope.wrap(payload, account_id="acct-1", correlation_id="c-1", occurred_at=T0)

    # Then the envelope names its type and gives the same payload back
    assert (envelope.type, envelope.version) == ("OrderSubmitted", 1)
    assert envelope.parsed_payload() == payload


# Event names an issue gives as a contract, which are not in the past tense.
NAMED_BY_AN_ISSUE = {"ReconciliationDrift"}  # issue 17


def test_every_payload_type_is_registered_under_its_event_type() -> None:
    # Given the payload registry, then each key is its model's event type, in the past tense
    for name, model in PAYLOADS.items():
        assert model.event_type == name
        assert name.endswith("ed") or name in NAMED_BY_AN_ISSUE


def test_an_unknown_event_type_is_refused() -> None:
    # Given an envelope of a type nobody declared, then its payload cannot be parsed
    envelope = Envelope(
        id="x",
        type="OrderTeleported",
        occurred_at="2026-11-25T14:30:00.000Z",
        account_id=None,
        correlation_id="c",
        payload={},
    )
    with pytest.raises(ValueError, match="unknown event type"):
        envelope.parsed_payload()


def test_a_payload_that_breaks_its_model_is_refused() -> None:
    # Given an OrderSubmitted whose order lacks its fields
    envelope = Envelope(
        id="x",
        type="OrderSubmitted",
        occurred_at="2026-11-25T14:30:00.000Z",
        account_id="a",
        correlation_id="c",
        payload={"order": {"id": "o"}},
    )
    with pytest.raises(ValidationError):
        envelope.parsed_payload()


def test_timestamps_are_written_in_utc_with_a_z_to_the_millisecond() -> None:
    # Given a moment in UTC+2, then it is written as UTC with a Z
    moment = datetime(2026, 11, 25, 16, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert iso(moment) == "2026-11-25T14:30:00.123Z"


def test_a_written_timestamp_reads_back_as_the_same_moment() -> None:
    # Given a moment written with iso, then parse_iso gives the same moment in UTC
    moment = datetime(2026, 11, 25, 14, 30, 0, 123000, tzinfo=UTC)
    assert parse_iso(iso(moment)) == moment

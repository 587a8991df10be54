"""An EventBridge event delivered through SQS becomes our envelope, or is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from redfire_core.events import Envelope, MarketDataUpdated
from redfire_core.lambda_events import envelope_from_sqs_body
from tests.support.events import eventbridge_body

AT = datetime(2026, 11, 25, 14, 31, tzinfo=UTC)


def an_envelope() -> Envelope:
    payload = MarketDataUpdated(
        symbol="AAPL",
        interval="1m",
        first_start="2026-11-25T14:30:00.000Z",
        last_end="2026-11-25T14:31:00.000Z",
        open="229.91",
        high="230.04",
        low="229.78",
        close="229.84",
        volume="4817",
        bar_count=1,
    )
    return Envelope.wrap(payload, account_id=None, correlation_id="corr-1", occurred_at=AT)


def test_the_envelope_is_taken_from_the_event_detail() -> None:
    # Given an SQS body with an EventBridge event whose detail is our envelope
    envelope = an_envelope()
    body = eventbridge_body(envelope.model_dump_json())

    # When it is parsed, then the envelope comes back unchanged
    assert envelope_from_sqs_body(body) == envelope


def test_a_detail_type_that_disagrees_with_the_envelope_type_is_refused() -> None:
    # Given an event routed as OrderAccepted whose envelope says MarketDataUpdated
    event = json.loads(eventbridge_body(an_envelope().model_dump_json()))
    event["detail-type"] = "OrderAccepted"

    # Then it is refused rather than handled as the wrong kind of event
    with pytest.raises(ValueError, match="does not match"):
        envelope_from_sqs_body(json.dumps(event))


@pytest.mark.parametrize("body", ["", "{", "not json", '{"detail": '])
def test_a_body_that_is_not_json_is_refused(body: str) -> None:
    # Given an SQS body that is not JSON, then parsing raises
    with pytest.raises(ValueError):
        envelope_from_sqs_body(body)


def test_an_event_without_a_detail_is_refused() -> None:
    # Given an EventBridge event with no detail, then parsing raises
    event = json.loads(eventbridge_body(an_envelope().model_dump_json()))
    del event["detail"]
    with pytest.raises(ValueError):
        envelope_from_sqs_body(json.dumps(event))


def test_a_detail_with_unknown_fields_is_refused() -> None:
    # Given an envelope carrying a field the schema does not know, then parsing raises
    event = json.loads(eventbridge_body(an_envelope().model_dump_json()))
    event["detail"]["priority"] = "high"
    with pytest.raises(ValueError):
        envelope_from_sqs_body(json.dumps(event))

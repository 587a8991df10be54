"""Sample events in events/samples/ validate against the schemas, and the models agree."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from redfire_core.events import PAYLOADS, Envelope, parse_iso

EVENTS = Path(__file__).resolve().parents[2] / "events"
SAMPLES = sorted((EVENTS / "samples").glob("*.json"))
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def _schema(name: str) -> Draft202012Validator:
    schema = json.loads((EVENTS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def _sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / "samples" / f"{name}.json").read_text())
    return data


def test_every_payload_type_has_a_sample() -> None:
    # Given the samples folder, then there is exactly one sample per payload type
    assert sorted(p.stem for p in SAMPLES) == sorted(PAYLOADS)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_a_sample_validates_against_the_envelope_schema(name: str) -> None:
    # Given a sample event, then the envelope schema finds nothing wrong with it
    errors = [e.message for e in _schema("envelope").iter_errors(_sample(name))]
    assert errors == []


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_a_sample_payload_validates_against_its_payload_schema(name: str) -> None:
    # Given a sample event named after its type, then its payload passes that type's schema
    sample = _sample(name)
    assert sample["type"] == name
    errors = [e.message for e in _schema(name).iter_errors(sample["payload"])]
    assert errors == []


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_a_sample_parses_into_its_typed_payload(name: str) -> None:
    # Given a sample event, when the envelope model reads it, then the payload model accepts it
    payload = Envelope.model_validate(_sample(name)).parsed_payload()
    assert type(payload) is PAYLOADS[name]


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_a_sample_uses_ulids_and_utc_timestamps(name: str) -> None:
    # Given a sample event, then its id is a ULID and its timestamps are ISO 8601 with a Z
    sample = _sample(name)
    assert ULID.match(sample["id"])
    assert ISO_UTC.match(sample["occurred_at"])
    parse_iso(sample["occurred_at"])


def _without(path: tuple[str, ...]) -> Any:
    def change(payload: dict[str, Any]) -> None:
        node = payload
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


def _setting(path: tuple[str, ...], value: object) -> Any:
    def change(payload: dict[str, Any]) -> None:
        node = payload
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


BREAKAGES = [
    ("OrderSubmitted", "order-missing", _without(("order",))),
    ("OrderSubmitted", "unknown-field", _setting(("priority",), "high")),
    ("OrderAccepted", "side-not-lowercase-enum", _setting(("order", "side"), "BUY")),
    ("OrderAccepted", "order-field-missing", _without(("order", "quantity"))),
    ("OrderDenied", "reasons-not-a-list", _setting(("reject_reasons",), "too big")),
    ("OrderDenied", "order-unknown-field", _setting(("order", "venue"), "XNAS")),
    ("OrderFilled", "fill-missing", _without(("fill",))),
    ("OrderFilled", "fill-price-missing", _without(("fill", "price"))),
    ("OrderFilled", "commission-as-number", _setting(("fill", "commission"), 1.25)),
    ("OrderRejected", "order-missing", _without(("order",))),
    ("OrderCancelRequested", "side-not-lowercase-enum", _setting(("order", "side"), "SELL")),
    ("OrderCanceled", "order-unknown-field", _setting(("order", "cancel_reason"), "client")),
    ("OrderReplaced", "replaced-missing", _without(("replaced",))),
    ("OrderReplaced", "replaced-field-missing", _without(("replaced", "status"))),
    ("OrderExpired", "expires-at-as-number", _setting(("order", "expires_at"), 1795651200)),
    ("OrderExpired", "trail-percent-as-number", _setting(("order", "trail_percent"), 2.5)),
    ("PositionChanged", "trade-id-missing", _without(("trade_id",))),
    ("PositionChanged", "position-quantity-missing", _without(("position", "quantity"))),
    ("PositionChanged", "position-unknown-field", _setting(("position", "market_value"), "0")),
    ("MarketDataUpdated", "no-bars", _setting(("bar_count",), 0)),
    ("MarketDataUpdated", "symbol-missing", _without(("symbol",))),
]


@pytest.mark.parametrize(
    ("name", "change"),
    [(name, change) for name, _, change in BREAKAGES],
    ids=[f"{name}-{label}" for name, label, _ in BREAKAGES],
)
def test_a_payload_that_breaks_its_schema_is_refused_by_the_model_and_the_schema(
    name: str, change: Any
) -> None:
    # Given a sample whose payload is broken
    sample = copy.deepcopy(_sample(name))
    change(sample["payload"])

    # Then the published schema refuses it, and so does parsed_payload()
    assert list(_schema(name).iter_errors(sample["payload"]))
    with pytest.raises(ValidationError):
        Envelope.model_validate(sample).parsed_payload()


def test_an_envelope_with_an_unknown_field_is_refused_by_the_model_and_the_schema() -> None:
    # Given a sample envelope with a field the contract does not have
    sample = {**_sample("OrderAccepted"), "tenant": "acme"}

    # Then both the envelope schema and the envelope model refuse it
    assert list(_schema("envelope").iter_errors(sample))
    with pytest.raises(ValidationError):
        Envelope.model_validate(sample)

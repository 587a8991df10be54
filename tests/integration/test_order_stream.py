"""The orders table's stream is the outbox and the decision hop: one invocation of its
consumer decides a new order and fills it, and relays the events the items carry."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from redfire_core.adapters import models
from redfire_core.adapters.trading_store import TradingStore
from redfire_outbox.handler import handler as outbox
from tests.integration.conftest import sqs_messages
from tests.integration.test_order_flow import place
from tests.support.events import LambdaContext
from tests.support.pipeline import Pipeline


def stream_batch(pipeline: Pipeline) -> list[dict[str, Any]]:
    return pipeline._stream_records("orders")


def test_one_stream_invocation_decides_and_fills_a_market_order(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a market order just stored by the API (critical path: API, then the stream)
    order = place({"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10"})

    # When the stream's consumer is invoked once with the order's insert
    result = outbox({"Records": stream_batch(pipeline)}, LambdaContext())

    # Then the order is accepted and filled in that one invocation, no queue involved
    assert result == {"batchItemFailures": []}
    filled = seeded.get_order("demo", order["id"])
    assert filled is not None and filled.status == "filled" and filled.version == 3
    assert filled.filled_quantity == Decimal("10")
    assert seeded.get_position("demo", "GOOG").quantity == Decimal("10")


def test_an_order_writes_no_outbox_rows(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given a market order placed, decided, filled and relayed
    place({"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"})
    pipeline.run_until_quiet()

    # Then no outbox row was ever written: the order item carried the events
    assert list(models.OutboxItem.scan(models.OutboxItem.sk.startswith("OUTBOX#"))) == []
    assert pipeline.failures == []


def test_the_fill_reaches_the_bus_with_every_event_of_the_path(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a market order through the stream: decision, then the relay of what it wrote
    order = place({"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "2"})
    outbox({"Records": stream_batch(pipeline)}, LambdaContext())
    outbox({"Records": stream_batch(pipeline)}, LambdaContext())

    # Then the stream queue got each event once, with the order as it stood
    events = [json.loads(m["Body"])["detail"] for m in sqs_messages("stream")]
    types = sorted(e["type"] for e in events)
    assert types == [
        "AccountChanged",
        "OrderAccepted",
        "OrderFilled",
        "OrderSubmitted",
        "PositionChanged",
    ]
    by_type = {e["type"]: e for e in events}
    assert by_type["OrderSubmitted"]["payload"]["order"]["status"] == "submitted"
    assert by_type["OrderAccepted"]["payload"]["order"]["status"] == "accepted"
    assert by_type["OrderFilled"]["payload"]["order"]["status"] == "filled"
    assert by_type["OrderFilled"]["payload"]["fill"]["trade_id"] == f"{order['id']}-2"
    # ... caused by the submission, correlated with the request
    submitted_id = by_type["OrderSubmitted"]["id"]
    assert by_type["OrderFilled"]["causation_id"] == submitted_id
    assert len({e["correlation_id"] for e in events}) == 1


def test_a_replayed_stream_batch_publishes_the_same_event_ids(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given the records of a decided order, relayed once
    place({"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "3"})
    outbox({"Records": stream_batch(pipeline)}, LambdaContext())
    batch = stream_batch(pipeline)
    outbox({"Records": batch}, LambdaContext())
    first = [json.loads(m["Body"])["detail"]["id"] for m in sqs_messages("stream")]
    assert len(first) == len(set(first)) == 5

    # When Lambda retries the same batch
    outbox({"Records": batch}, LambdaContext())

    # Then the events published again carry the same ids (consumers dedupe on them)
    again = [json.loads(m["Body"])["detail"]["id"] for m in sqs_messages("stream")]
    assert len(again) > len(first) and set(again) == set(first)

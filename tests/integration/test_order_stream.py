"""The orders table's stream is the outbox and the decision hop: one invocation of its
consumer decides a new order and fills it, and relays the events the items carry."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import pytest

from redfire_core.adapters import models
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.services import order_stream
from redfire_core.services.placing import place_order
from redfire_core.services.retrying import conflict_retries
from redfire_core.services.risk_review import SEQUENCE_GAP_WAIT_SECONDS
from redfire_outbox.handler import handler as outbox
from tests.integration.conftest import sqs_messages
from tests.integration.test_order_flow import place
from tests.support.events import LambdaContext
from tests.support.pipeline import Pipeline
from tests.support.serialised_moto import serialised_aws_calls


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


def test_fifty_concurrent_submits_on_one_account_are_numbered_and_decided_in_order(
    seeded: TradingStore, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 50 submits on one account at once, each its own API invocation
    retries_before = conflict_retries()
    body = {"symbol": "GOOG", "side": "buy", "type": "limit", "quantity": "1"}

    def submit(n: int) -> Order:
        request = {**body, "limit_price": f"{90 + n % 5}.00", "time_in_force": "gtc"}
        return place_order(seeded, "demo", request, correlation_id="c", now=datetime.now(UTC)).order

    with serialised_aws_calls(), ThreadPoolExecutor(max_workers=10) as pool:
        placed = list(pool.map(submit, range(50)))

    # When the orders stream's consumer decides them
    decided: list[int | None] = []
    real_decide = order_stream.decide_order

    def spy(store: TradingStore, order: Order, *args: Any, **kwargs: Any) -> str:
        decided.append(order.sequence)
        return real_decide(store, order, *args, **kwargs)

    monkeypatch.setattr(order_stream, "decide_order", spy)
    pipeline.run_until_quiet()

    # Then the numbers are 1..50, each once, decided in that order, and no write ever
    # lost a race (no conflict retried anywhere)
    assert sorted(o.sequence for o in placed) == list(range(1, 51))
    assert decided == list(range(1, 51))
    assert conflict_retries() == retries_before
    book = seeded.get_account("demo")
    assert book is not None and book.last_sequence == 50
    stored = seeded.list_orders("demo", 100, None).items
    assert len(stored) == 50 and OrderStatus.SUBMITTED not in {o.status for o in stored}


def test_an_order_waits_for_its_predecessor_then_goes_ahead_after_the_bound(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given an API call that took number 1 and never stored its order (it crashed)
    assert seeded.next_sequence("demo") == 1
    order = place({"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"})
    assert order["sequence"] == 2
    batch = stream_batch(pipeline)

    # When its record comes while the gap is young: it waits (the mapping retries)
    result = outbox({"Records": batch}, LambdaContext())
    assert result == {
        "batchItemFailures": [{"itemIdentifier": batch[0]["dynamodb"]["SequenceNumber"]}]
    }
    waiting = seeded.get_order("demo", order["id"])
    assert waiting is not None and waiting.status == "submitted"

    # Then, once the gap is older than the bound, it is decided anyway
    later = datetime.now(UTC) + timedelta(seconds=SEQUENCE_GAP_WAIT_SECONDS)
    with patch.object(order_stream, "datetime", wraps=datetime) as clock:
        clock.now.return_value = later
        assert outbox({"Records": batch}, LambdaContext()) == {"batchItemFailures": []}
    filled = seeded.get_order("demo", order["id"])
    assert filled is not None and filled.status == "filled"


def test_an_ioc_order_that_cannot_trade_is_canceled_in_the_decision_hop(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given an immediate-or-cancel buy limited below the latest price (100.00)
    body = {"symbol": "GOOG", "side": "buy", "type": "limit", "limit_price": "90.00"}
    order = place({**body, "quantity": "1", "time_in_force": "ioc"})

    # When the stream's consumer decides it
    assert outbox({"Records": stream_batch(pipeline)}, LambdaContext()) == {"batchItemFailures": []}

    # Then it is accepted and canceled at once, holding nothing
    canceled = seeded.get_order("demo", order["id"])
    assert canceled is not None and canceled.status == "canceled"
    assert canceled.reject_reason is not None
    assert canceled.reject_reason["code"] == "ORDER_CANCELED"
    book = seeded.get_account("demo")
    assert book is not None and book.reserved == 0 and book.last_sequence == order["sequence"]

"""The SQS, stream and schedule handlers with real event shapes, inside moto."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import boto3
from botocore.client import BaseClient

from redfire_core.adapters import models
from redfire_core.adapters.trading_store import TradingStore, events_of_item
from redfire_core.config import get_settings
from redfire_core.domain.orders import Order, OrderRequest
from redfire_core.events import Envelope, OrderAccepted, OrderSubmitted
from redfire_core.services.placing import place_order
from redfire_core.services.risk_review import gateway_decision
from redfire_core.views import order_view
from redfire_ingest.handler import handler as ingest
from redfire_outbox.handler import handler as outbox
from redfire_risk.handler import handler as risk
from tests.integration.conftest import sqs_messages
from tests.support.events import LambdaContext, eventbridge_body, load_event, sqs_event
from tests.support.pipeline import Pipeline

NOW = datetime.now(UTC)


def submitted(store: TradingStore, **body: str) -> Order:
    request = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10", **body}
    return place_order(store, "demo", request, correlation_id="corr-1", now=NOW).order


def carried_types() -> list[str]:
    """The events the account's items carry now (the stream brings each write's events to
    the relay), and its outbox rows."""
    rows = models.OutboxItem.query("demo", models.OutboxItem.sk.startswith("OUTBOX#"))
    orders = models.OrderItem.query("demo", models.OrderItem.sk.startswith("ORDER#"))
    carried = [e.type for item in orders for e in events_of_item(item)]
    return sorted([row.event_type for row in rows] + carried)


def envelope_body(payload: OrderSubmitted | OrderAccepted) -> str:
    event = Envelope.wrap(payload, account_id="demo", correlation_id="corr-1", occurred_at=NOW)
    return eventbridge_body(event.model_dump_json())


def _stream_records(pipeline: Pipeline) -> list[dict[str, object]]:
    return pipeline._stream_records("orders")


def test_the_stream_consumer_accepts_a_submitted_limit_order_and_it_rests(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    order = submitted(seeded, type="limit", limit_price="99.00", time_in_force="gtc")
    result = outbox({"Records": _stream_records(pipeline)}, LambdaContext())
    assert result == {"batchItemFailures": []}
    accepted = seeded.get_order("demo", order.id)
    assert accepted is not None and accepted.status == "accepted" and accepted.version == 2
    # The reservation it holds is announced with it.
    assert carried_types() == ["AccountChanged", "OrderAccepted"]


def test_a_redelivered_stream_batch_decides_nothing_twice(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    order = submitted(seeded, type="limit", limit_price="99.00", time_in_force="gtc")
    records = _stream_records(pipeline)
    outbox({"Records": records}, LambdaContext())
    result = outbox({"Records": records}, LambdaContext())
    assert result == {"batchItemFailures": []}
    again = seeded.get_order("demo", order.id)
    assert again is not None and again.version == 2
    assert carried_types() == ["AccountChanged", "OrderAccepted"]


def test_a_malformed_message_fails_alone_and_the_rest_of_the_batch_goes_through(
    seeded: TradingStore,
) -> None:
    order = submitted(seeded)
    good = envelope_body(OrderAccepted(order=order_view(order)))  # the risk function ignores it
    result = risk(sqs_event(["{not json", good, json.dumps({"detail": {}})]), LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m2"}]}


def test_a_poison_message_reaches_the_dlq_after_max_receive_count(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    sqs = boto3.client("sqs")
    declaration = get_settings().declaration
    url = sqs.get_queue_url(QueueName=declaration.name("risk"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{poison")
    for _ in range(8):
        pipeline.deliver("risk")
    assert sqs_messages("risk") == []
    dead = sqs_messages("risk-dlq")
    assert [m["Body"] for m in dead] == ["{poison"]


def test_a_duplicate_stream_batch_fills_once(seeded: TradingStore, pipeline: Pipeline) -> None:
    submitted(seeded)
    records = _stream_records(pipeline)
    first = outbox({"Records": records + records}, LambdaContext())
    second = outbox({"Records": records}, LambdaContext())
    assert first == second == {"batchItemFailures": []}
    assert len(seeded.list_trades("demo").items) == 1
    assert seeded.get_position("demo", "GOOG").quantity == Decimal("10")
    account = seeded.get_account("demo")
    assert account is not None and account.cash == Decimal("99000.00")


def test_a_market_order_without_any_price_rests_instead_of_failing(seeded: TradingStore) -> None:
    order = submitted(seeded, symbol="MSFT")
    account = seeded.get_account("demo")
    assert account is not None
    decision = gateway_decision(seeded, order.accept(NOW), account, latest=None)
    assert not decision.fills and decision.close is None


def test_a_replacement_is_left_to_the_orders_function(seeded: TradingStore) -> None:
    # A replacement first retires the order it replaces (OrderAccepted -> orders queue).
    order = replace(submitted(seeded), replaces="01JD0000000000000000000001")
    account = seeded.get_account("demo")
    assert account is not None
    latest = seeded.latest_price("GOOG")
    assert not gateway_decision(seeded, order.accept(NOW), account, latest).fills


def test_outbox_relay_publishes_the_events_an_order_item_carries(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    order = submitted(seeded)
    result = outbox({"Records": _stream_records(pipeline)}, LambdaContext())
    assert result == {"batchItemFailures": []}
    routed = [json.loads(m["Body"])["detail"] for m in sqs_messages("stream")]
    assert [(e["type"], e["payload"]["order"]["id"]) for e in routed] == [
        ("OrderSubmitted", order.id)
    ]
    assert list(models.OutboxItem.query("demo", models.OutboxItem.sk.startswith("OUTBOX#"))) == []


def test_outbox_relay_reports_the_first_unpublished_record_when_eventbridge_refuses(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    submitted(seeded, type="limit", limit_price="99.00", time_in_force="gtc")
    records = _stream_records(pipeline)
    carrying = [
        r["dynamodb"]["SequenceNumber"] for r in records if "events" in r["dynamodb"]["NewImage"]
    ]
    refused = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}
    original = BaseClient._make_api_call

    def refuse_put_events(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        return refused if operation == "PutEvents" else original(self, operation, params)

    with (
        patch("redfire_core.adapters.event_bus.time.sleep"),
        patch.object(BaseClient, "_make_api_call", refuse_put_events),
    ):
        result = outbox({"Records": records}, LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": carrying[0]}]}


def test_ingest_writes_bars_and_announces_them_once(seeded: TradingStore) -> None:
    payload = {**load_event("schedule_demo_feed"), "symbols": ["AAPL", "MSFT"]}
    first = ingest(payload, LambdaContext())
    second = ingest(payload, LambdaContext())
    assert first == {"bars": 4, "written": 4, "announced": 2}
    assert second == {"bars": 4, "written": 0, "announced": 0}  # re-ingest changes nothing
    latest = seeded.latest_price("AAPL")
    assert latest is not None
    assert NOW - latest.timestamp < timedelta(minutes=2)
    announced = [json.loads(m["Body"]) for m in sqs_messages("orders")]
    assert sorted(e["detail"]["payload"]["symbol"] for e in announced) == ["AAPL", "MSFT"]
    assert {e["detail"]["payload"]["bar_count"] for e in announced} == {2}


def test_static_request_parsing_keeps_the_client_order_id() -> None:
    from redfire_core.domain.instruments import DEMO_INSTRUMENTS

    body = {
        "symbol": "GOOG",
        "side": "buy",
        "type": "market",
        "quantity": "1",
        "client_order_id": "abc",
    }
    assert OrderRequest.parse(body, DEMO_INSTRUMENTS[0]).client_order_id == "abc"

"""The SQS, stream and schedule handlers with real event shapes, inside moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest.mock import patch

import boto3

from redfire_core.adapters import models
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.orders import Order, OrderRequest
from redfire_core.events import Envelope, OrderAccepted, OrderSubmitted
from redfire_core.services.placing import place_order
from redfire_core.views import order_view
from redfire_ingest.handler import handler as ingest
from redfire_orders.handler import handler as orders
from redfire_outbox.handler import handler as outbox
from redfire_risk.handler import handler as risk
from tests.integration.conftest import sqs_messages
from tests.support.events import LambdaContext, eventbridge_body, load_event, sqs_event
from tests.support.pipeline import Pipeline

NOW = datetime.now(UTC)


def submitted(store: TradingStore, **body: str) -> Order:
    request = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10", **body}
    return place_order(store, "demo", request, correlation_id="corr-1", now=NOW).order


def outbox_types() -> list[str]:
    rows = models.OutboxItem.query("demo", models.OutboxItem.sk.startswith("OUTBOX#"))
    return sorted(row.event_type for row in rows)


def envelope_body(payload: OrderSubmitted | OrderAccepted) -> str:
    event = Envelope.wrap(payload, account_id="demo", correlation_id="corr-1", occurred_at=NOW)
    return eventbridge_body(event.model_dump_json())


def test_risk_accepts_a_submitted_order_and_records_order_accepted(seeded: TradingStore) -> None:
    order = submitted(seeded)
    result = risk(
        sqs_event([envelope_body(OrderSubmitted(order=order_view(order)))]), LambdaContext()
    )
    assert result == {"batchItemFailures": []}
    accepted = seeded.get_order("demo", order.id)
    assert accepted is not None and accepted.status == "accepted" and accepted.version == 2
    # The reservation it holds is announced with it.
    assert outbox_types() == ["AccountChanged", "OrderAccepted", "OrderSubmitted"]


def test_a_redelivered_order_submitted_changes_nothing(seeded: TradingStore) -> None:
    order = submitted(seeded)
    body = envelope_body(OrderSubmitted(order=order_view(order)))
    risk(sqs_event([body]), LambdaContext())
    result = risk(sqs_event([body]), LambdaContext())
    assert result == {"batchItemFailures": []}
    again = seeded.get_order("demo", order.id)
    assert again is not None and again.version == 2
    # The reservation it holds is announced with it.
    assert outbox_types() == ["AccountChanged", "OrderAccepted", "OrderSubmitted"]


def test_a_malformed_message_fails_alone_and_the_rest_of_the_batch_goes_through(
    seeded: TradingStore,
) -> None:
    order = submitted(seeded)
    good = envelope_body(OrderSubmitted(order=order_view(order)))
    result = risk(sqs_event(["{not json", good, json.dumps({"detail": {}})]), LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m2"}]}
    accepted = seeded.get_order("demo", order.id)
    assert accepted is not None and accepted.status == "accepted"


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


def test_duplicate_order_accepted_fills_once(seeded: TradingStore) -> None:
    order = submitted(seeded)
    accepted = order.accept(NOW)
    seeded.save_transition(order, accepted, [])
    body = envelope_body(OrderAccepted(order=order_view(accepted)))
    first = orders(sqs_event([body, body]), LambdaContext())
    second = orders(sqs_event([body]), LambdaContext())
    assert first == second == {"batchItemFailures": []}
    assert len(seeded.list_trades("demo").items) == 1
    assert seeded.get_position("demo", "GOOG").quantity == Decimal("10")
    account = seeded.get_account("demo")
    assert account is not None and account.cash == Decimal("99000.00")


def test_a_market_order_without_any_price_rests_instead_of_failing(seeded: TradingStore) -> None:
    order = submitted(seeded, symbol="MSFT")
    accepted = order.accept(NOW)
    seeded.save_transition(order, accepted, [])
    result = orders(
        sqs_event([envelope_body(OrderAccepted(order=order_view(accepted)))]), LambdaContext()
    )
    assert result == {"batchItemFailures": []}
    resting = seeded.get_order("demo", order.id)
    assert resting is not None and resting.status == "accepted"


def _stream_records(pipeline: Pipeline) -> list[dict[str, object]]:
    return pipeline._stream_records("orders")


def test_outbox_relay_publishes_to_the_bus_and_deletes_the_row(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    order = submitted(seeded)
    result = outbox({"Records": _stream_records(pipeline)}, LambdaContext())
    assert result == {"batchItemFailures": []}
    routed = sqs_messages("risk")
    assert [json.loads(m["Body"])["detail"]["payload"]["order"]["id"] for m in routed] == [order.id]
    assert outbox_types() == []


def test_outbox_relay_reports_the_first_unpublished_record_when_eventbridge_refuses(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    submitted(seeded)
    records = _stream_records(pipeline)
    outbox_seq = [
        r["dynamodb"]["SequenceNumber"]
        for r in records
        if r["dynamodb"]["Keys"]["sk"]["S"].startswith("OUTBOX#")
    ]
    refused = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}
    with (
        patch("redfire_core.adapters.event_bus.time.sleep"),
        patch("botocore.client.BaseClient._make_api_call", return_value=refused),
    ):
        result = outbox({"Records": records}, LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": outbox_seq[0]}]}
    assert outbox_types() == ["OrderSubmitted"]  # kept for the retry


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

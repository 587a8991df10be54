"""Operating a stage: dead-letter redrive and archive replay, which consumers survive."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from redfire_cli import operations
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.resources import QUEUES
from tests.integration.conftest import call_api, sqs_messages, token_for
from tests.support.pipeline import Pipeline


def books(store: TradingStore) -> tuple[Any, ...]:
    orders = store.list_orders("demo", 100, None).items
    account = store.get_account("demo")
    assert account is not None
    return (
        sorted((o.id, o.status, o.version, o.filled_quantity) for o in orders),
        store.get_position("demo", "GOOG"),
        [t.trade_id for t in store.list_trades("demo").items],
        account.cash,
        account.reserved,
        len(store.list_activities("demo").items),
    )


def test_replaying_the_archive_changes_nothing(
    seeded: TradingStore, pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an order that went the whole way to filled
    start = datetime.now(UTC) - timedelta(minutes=1)
    placed = call_api(
        "POST",
        "/v1/orders",
        token=token_for(),
        body={"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10"},
    )[2]
    pipeline.run_until_quiet()
    before = books(seeded)
    assert seeded.get_order("demo", placed["id"]).status == "filled"  # type: ignore[union-attr]

    # When every archived event is replayed onto the bus and consumed again
    declaration = get_settings().declaration
    assert (
        operations.events_replay(
            declaration, start.isoformat(), (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        )
        == 0
    )
    assert "replay" in capsys.readouterr().out
    redelivered = sqs_messages("risk") + sqs_messages("orders")
    pipeline.run_until_quiet()

    # Then the events did come back, and the books are exactly as they were
    assert redelivered, "the replay delivered nothing: the test would prove nothing"
    assert books(seeded) == before


def test_dead_letters_are_listed_shown_and_redriven(
    seeded: TradingStore, pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    declaration = get_settings().declaration
    sqs = boto3.client("sqs")
    dlq = sqs.get_queue_url(QueueName=declaration.name("risk-dlq"))["QueueUrl"]
    body = json.dumps({"detail-type": "OrderSubmitted", "detail": {"id": "evt-1"}})
    sqs.send_message(QueueUrl=dlq, MessageBody=body)

    operations.dlq_list(declaration)
    assert any(
        line.split()[:1] == ["risk"] and line.split()[-1] == "1"
        for line in capsys.readouterr().out.splitlines()
    )
    operations.dlq_show(declaration, "risk", 5)
    shown = json.loads(capsys.readouterr().out.splitlines()[0])
    assert shown["type"] == "OrderSubmitted" and shown["event_id"] == "evt-1"

    assert operations.dlq_redrive(declaration, "risk") == 0
    assert [m["Body"] for m in sqs_messages("risk")] == [body]
    assert sqs_messages("risk-dlq") == []
    assert operations.dlq_show(declaration, "nope", 1) == 2


def test_dlq_show_prints_each_message_once_and_leaves_them_in_place(
    seeded: TradingStore, capsys: pytest.CaptureFixture[str]
) -> None:
    declaration = get_settings().declaration
    sqs = boto3.client("sqs")
    dlq = sqs.get_queue_url(QueueName=declaration.name("backtests-dlq"))["QueueUrl"]
    for n in range(3):
        body = {"detail-type": "BacktestRequested", "detail": {"id": f"evt-{n}"}}
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(body))

    assert operations.dlq_show(declaration, "backtests", 20) == 0

    shown = [json.loads(line)["event_id"] for line in capsys.readouterr().out.splitlines()]
    assert sorted(shown) == ["evt-0", "evt-1", "evt-2"]
    assert len(sqs_messages("backtests-dlq")) == 3


def test_dlq_show_prints_why_each_message_failed(
    seeded: TradingStore, pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a message its consumer cannot process, received until SQS dead-letters it
    declaration = get_settings().declaration
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName=declaration.name("risk"))["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "0"})
    sent = sqs.send_message(QueueUrl=queue, MessageBody='{"detail-type": "OrderSubmitted"}')
    for _ in range(QUEUES["risk"].max_receive_count + 1):
        pipeline.deliver("risk")
    dlq = sqs.get_queue_url(QueueName=declaration.name("risk-dlq"))["QueueUrl"]
    depth = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "1"

    # When the DLQ is shown
    assert operations.dlq_show(declaration, "risk", 5) == 0

    # Then the message appears once, with the reason its consumer recorded
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    shown = json.loads(lines[0])
    assert shown["message_id"] == sent["MessageId"]
    assert shown["failure"]["reason"].startswith("ValidationError")
    assert shown["failure"]["failures"] == QUEUES["risk"].max_receive_count

"""Faults at random points of the whole order pipeline, then the books must balance.

Orders go in through the API and run through the real handlers (relay, risk, orders,
stream pusher) on moto while a seeded RNG makes DynamoDB calls fail with throttling
(``ProvisionedThroughputExceededException``, ``ThrottlingException``) or
``TransactionCanceledException`` (``ConditionalCheckFailed`` / ``TransactionConflict``),
and makes ``PutEvents`` refuse some entries. Failures are redelivered the way AWS does
(a failed SQS message comes back, a failed stream batch is retried from the reported
record, a client retries a 5xx with the same ``client_order_id``, dead letters are
redriven), until nothing moves. Then: every order is final or resting exactly once, no
trade is doubled, cash is the initial cash plus the ledger, positions are the sum of
fills, every outbox event reached the bus, and every consumer applied it once.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import pytest
from botocore.client import BaseClient

from redfire_core import lambda_shapes
from redfire_core.adapters.trading_store import TradingStore, events_of_image
from redfire_core.auth import issue_token
from redfire_core.config import get_settings
from redfire_core.domain.orders import OrderStatus
from redfire_core.domain.roles import Role
from redfire_core.resources import QUEUES, STREAM_CONSUMERS
from tests.integration.conftest import SECRET, call_api, token_for
from tests.support.events import LambdaContext, load_event
from tests.support.pipeline import Pipeline, handler_of
from tests.support.stream_fakes import RecordingPoster

SEEDS = (7, 2026)
FAULT_RATE = 0.04  # per DynamoDB call of a handler or of the API
PUT_EVENTS_FAULT_RATE = 0.3  # per PutEvents call: some of its entries are refused
INITIAL_CASH = Decimal("100000")
FINAL = {
    OrderStatus.FILLED,
    OrderStatus.CANCELED,
    OrderStatus.REJECTED,
    OrderStatus.DENIED,
    OrderStatus.EXPIRED,
    OrderStatus.REPLACED,
}
RESTING = {OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED}
THROTTLES = ("ProvisionedThroughputExceededException", "ThrottlingException")
CANCELLATIONS = ("ConditionalCheckFailed", "TransactionConflict")

_original_call = BaseClient._make_api_call


class FaultInjector:
    """Replaces ``BaseClient._make_api_call``: while ``armed`` and inside a handler or an
    API request, DynamoDB calls fail and PutEvents entries are refused at random."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.armed = False
        self._inside = False
        self.injected: Counter[str] = Counter()
        self.published: Counter[str] = Counter()  # event id -> entries EventBridge accepted

    @contextmanager
    def inside(self) -> Iterator[None]:
        self._inside = True
        try:
            yield
        finally:
            self._inside = False

    def call(self, client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        faulty = self.armed and self._inside
        if service == "events" and operation == "PutEvents":
            return self._put_events(client, params, faulty)
        if faulty and service == "dynamodb" and self.rng.random() < FAULT_RATE:
            if operation == "TransactWriteItems" and self.rng.random() < 0.5:
                raise self._canceled(client, len(params["TransactItems"]))
            code = self.rng.choice(THROTTLES)
            self.injected[code] += 1
            error = {"Error": {"Code": code, "Message": "injected"}}
            raise client.exceptions.from_code(code)(error, operation)
        return _original_call(client, operation, params)

    def _canceled(self, client: BaseClient, items: int) -> Exception:
        reason = self.rng.choice(CANCELLATIONS)
        self.injected[reason] += 1
        reasons = [{"Code": "None"}] * items
        reasons[self.rng.randrange(items)] = {"Code": reason, "Message": "injected"}
        error = {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": f"Transaction cancelled [{', '.join(r['Code'] for r in reasons)}]",
            },
            "CancellationReasons": reasons,
        }
        return client.exceptions.from_code("TransactionCanceledException")(
            error, "TransactWriteItems"
        )

    def _put_events(self, client: BaseClient, params: dict[str, Any], faulty: bool) -> Any:
        entries = params["Entries"]
        refused: set[int] = set()
        if faulty and self.rng.random() < PUT_EVENTS_FAULT_RATE:
            refused = {i for i in range(len(entries)) if self.rng.random() < 0.5} or {0}
            self.injected["PutEventsFailedEntry"] += len(refused)
        sent = [e for i, e in enumerate(entries) if i not in refused]
        accepted = (
            _original_call(client, "PutEvents", {**params, "Entries": sent})["Entries"]
            if sent
            else []
        )
        results = iter(accepted)
        merged = []
        for i, entry in enumerate(entries):
            if i in refused:
                merged.append({"ErrorCode": "InternalFailure", "ErrorMessage": "injected"})
                continue
            result = next(results)
            if not result.get("ErrorCode"):
                self.published[json.loads(entry["Detail"])["id"]] += 1
            merged.append(result)
        return {
            "FailedEntryCount": sum(1 for r in merged if r.get("ErrorCode")),
            "Entries": merged,
        }


class RedeliveringPipeline(Pipeline):
    """The pipeline with AWS's redelivery: a failed SQS message comes back after its
    visibility timeout, a failed stream batch is retried from the reported record.

    The test does not wait out the visibility timeout: it advances ``clock`` (the stream
    service's time) by it instead, since that is what the pusher's channel leases see.
    """

    def __init__(self, stage: str, injector: FaultInjector) -> None:
        super().__init__(stage)
        self.injector = injector
        self.clock_offset = 0.0
        self.pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.outbox_ids: set[str] = set()

    def relay(self) -> int:
        moved = 0
        for table, function in STREAM_CONSUMERS.items():
            fresh = self._stream_records(table)
            for record in fresh:
                image = record["dynamodb"].get("NewImage", {})
                if "events" in image:  # the events this write carries (the stream is the outbox)
                    self.outbox_ids.update(e.id for e in events_of_image(image))
            records = self.pending[table] + fresh
            if not records:
                continue
            moved += len(records)
            with self.injector.inside():
                try:
                    failures = handler_of(function)({"Records": records}, LambdaContext())[
                        "batchItemFailures"
                    ]
                    failed_from = failures[0]["itemIdentifier"] if failures else None
                except Exception:
                    failed_from = records[0]["dynamodb"]["SequenceNumber"]
            sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
            self.pending[table] = (
                [] if failed_from is None else records[sequence.index(failed_from) :]
            )
        return moved

    def deliver(self, queue: str, max_messages: int = 10) -> list[dict[str, Any]]:
        url = self.sqs.get_queue_url(QueueName=self.declaration.name(queue))["QueueUrl"]
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=max_messages).get(
            "Messages", []
        )
        if not messages:
            return []
        event = lambda_shapes.sqs_event(
            [lambda_shapes.sqs_record(m, lambda_shapes.queue_arn(queue)) for m in messages]
        )
        with self.injector.inside():
            try:
                result = handler_of(QUEUES[queue].consumer)(event, LambdaContext())
            except Exception:
                result = {
                    "batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]
                }
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        if failed:
            self.clock_offset += QUEUES[queue].visibility_timeout_seconds
        for message in messages:
            if message["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return list(result["batchItemFailures"])

    def redrive_dead_letters(self) -> int:
        """What ``redfire dlq redrive`` does for every queue: send back, then delete."""
        moved = 0
        for logical, spec in QUEUES.items():
            source = self.sqs.get_queue_url(QueueName=self.declaration.name(logical))["QueueUrl"]
            dlq = self.sqs.get_queue_url(QueueName=self.declaration.name(spec.dlq_logical))[
                "QueueUrl"
            ]
            while messages := self.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get(
                "Messages", []
            ):
                for message in messages:
                    self.sqs.send_message(QueueUrl=source, MessageBody=message["Body"])
                    self.sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
                    moved += 1
        return moved

    def clock(self) -> float:
        return time.time() + self.clock_offset

    def until_quiescent(self, rounds: int = 60) -> None:
        for _ in range(rounds):
            busy = self.relay() + sum(len(self.pending[t]) for t in STREAM_CONSUMERS)
            for queue in QUEUES:
                busy += len(self.deliver(queue)) + self._depth(queue)
            busy += self.redrive_dead_letters()
            if not busy:
                return
        depths = {queue: self._depth(queue) for queue in QUEUES}
        pending = {t: len(self.pending[t]) for t in STREAM_CONSUMERS}
        raise AssertionError(f"still busy after {rounds} rounds: {depths} {pending}")


def submit(injector: FaultInjector, method: str, url: str, body: Any = None) -> Any:
    """A client that retries a 5xx or a dropped connection with the same request."""
    for _ in range(20):
        with injector.inside():
            try:
                status, _, answer = call_api(
                    method, url, token=token_for("demo", Role.ADMIN), body=body
                )
            except Exception:
                continue
        if status < 500:
            return status, answer
    raise AssertionError(f"{method} {url} never got through")


def _subscribe(poster: RecordingPoster) -> None:
    from redfire_stream.ws_handler import handler

    connect = load_event("apigw_ws_connect")
    connect["requestContext"]["connectionId"] = "watcher"
    # Redeliveries move the pipeline's clock hours ahead: the watcher's token must outlive
    # the storm (a token's expiry ending delivery is tested in test_stream.py).
    settings = get_settings().model_copy(update={"token_ttl_seconds": 7 * 86_400})
    token = issue_token(
        SECRET,
        account_id="demo",
        role=Role.VIEWER,
        subject="user-demo",
        settings=settings,
        now=datetime.now(UTC),
    )
    connect["queryStringParameters"] = {"token": token}
    assert handler(connect, LambdaContext())["statusCode"] == 200
    message = load_event("apigw_ws_message")
    message["requestContext"]["connectionId"] = "watcher"
    message["requestContext"]["routeKey"] = "subscribe"
    message["body"] = json.dumps({"action": "subscribe", "channels": ["orders", "trades"]})
    handler(message, LambdaContext())


def _all(fetch: Any) -> list[Any]:
    items, cursor = [], None
    while True:
        page = fetch(cursor)
        items += page.items
        cursor = page.next_cursor
        if not cursor:
            return items


def _orders(rng: random.Random) -> list[dict[str, Any]]:
    orders = []
    for n in range(24):
        kind = rng.choice(["market", "market", "limit"])
        body: dict[str, Any] = {
            "symbol": "GOOG",
            "side": "buy" if n < 16 or rng.random() < 0.5 else "sell",
            "type": kind,
            "quantity": str(rng.randint(1, 5)),
            "client_order_id": f"fault-{n}",
        }
        if kind == "limit":
            body |= {"limit_price": "50.00", "time_in_force": "gtc"}
        orders.append(body)
    return orders


@pytest.fixture
def pipeline_and_poster(
    aws: None, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[tuple[RedeliveringPipeline, RecordingPoster]]:
    """The redelivering pipeline and the recorded management API, the stream service
    running on the pipeline's clock."""
    from redfire_core.config import get_settings
    from redfire_core.services.streaming import Stream
    from redfire_stream import wiring

    pipeline = RedeliveringPipeline(get_settings().stage, FaultInjector(request.param))
    recording = RecordingPoster()
    monkeypatch.setattr(wiring, "ApiGatewayManagement", lambda url: recording)
    monkeypatch.setattr(
        wiring, "Stream", lambda *args, **kwargs: Stream(*args, **kwargs, clock=pipeline.clock)
    )
    wiring.stream.cache_clear()
    yield pipeline, recording
    wiring.stream.cache_clear()


@pytest.mark.parametrize("pipeline_and_poster", SEEDS, indirect=True)
def test_random_faults_across_the_pipeline_leave_the_books_exact(
    seeded: TradingStore, pipeline_and_poster: tuple[RedeliveringPipeline, RecordingPoster]
) -> None:
    pipeline, poster = pipeline_and_poster
    injector = pipeline.injector
    _subscribe(poster)
    bodies = _orders(injector.rng)

    with patch.object(BaseClient, "_make_api_call", lambda c, o, p: injector.call(c, o, p)):
        # The storm: orders and cancels arrive while calls fail at random.
        injector.armed = True
        placed: dict[str, str] = {}
        for n, body in enumerate(bodies):
            status, order = submit(injector, "POST", "/v1/orders", body)
            assert status in (200, 201, 202), order
            placed[body["client_order_id"]] = order["id"]
            if n % 4 == 3:
                pipeline.relay()
                for queue in QUEUES:
                    pipeline.deliver(queue)
        for order_id in list(placed.values())[::3]:
            submit(injector, "DELETE", f"/v1/orders/{order_id}")
        for _ in range(5):
            pipeline.relay()
            for queue in QUEUES:
                pipeline.deliver(queue)
        # The calm: redeliveries and redrives until nothing moves.
        injector.armed = False
        pipeline.until_quiescent()

    assert sum(injector.injected.values()) > 10, injector.injected  # the storm happened
    store = seeded

    # Every order once, final or resting.
    orders = _all(lambda cursor: store.list_orders("demo", 100, cursor))
    by_cid = Counter(o.client_order_id for o in orders)
    assert {cid: by_cid[cid] for cid in placed} == dict.fromkeys(placed, 1)
    assert {o.id for o in orders} == set(placed.values())
    assert [(o.id, o.status) for o in orders if o.status not in FINAL | RESTING] == []

    # No duplicate trade; every order's fills add up to its filled quantity.
    trades = _all(lambda cursor: store.list_trades("demo", 100, cursor))
    assert len({t.trade_id for t in trades}) == len(trades)
    filled: defaultdict[str, Decimal] = defaultdict(Decimal)
    for trade in trades:
        filled[trade.order_id] += trade.quantity
    assert {o.id: o.filled_quantity for o in orders if o.filled_quantity} == dict(filled)
    assert any(o.status is OrderStatus.FILLED for o in orders)

    # Cash is the initial cash plus the ledger; the position is the sum of the fills.
    account = store.get_account("demo")
    assert account is not None
    ledger = _all(lambda cursor: store.list_activities("demo", 100, cursor))
    trade_lines = [line for line in ledger if line.trade_id]
    assert {line.trade_id for line in trade_lines} == {t.trade_id for t in trades}
    assert len({line.id for line in ledger}) == len(ledger)
    assert account.cash == INITIAL_CASH + sum(line.amount for line in trade_lines)
    assert account.cash == sum(line.amount for line in ledger)  # the opening deposit + trades
    assert sum(line.amount for line in trade_lines) == -sum(
        t.signed_quantity * t.price + t.commission for t in trades
    )
    assert store.get_position("demo", "GOOG").quantity == sum(t.signed_quantity for t in trades)

    # Every outbox event reached the bus (at least once: a failed batch is published again),
    # and the consumers applied each once: the subscriber saw every event once, in order.
    assert pipeline.outbox_ids and pipeline.outbox_ids <= set(injector.published)
    # A post that crashed before its delivery was recorded is posted again (the socket is
    # at-least-once): the client keeps the first of each seq, and then has no gap.
    seen: dict[str, dict[int, dict[str, Any]]] = {"orders": {}, "trades": {}}
    for channel, kept in seen.items():
        for message in poster.of_channel("watcher", channel):
            first = kept.setdefault(message["seq"], message)
            assert first == message, "one seq, two different messages"
        assert sorted(kept) == list(range(1, len(kept) + 1)), channel
    order_events = [(m["event_id"], m["data"]["id"]) for m in seen["orders"].values()]
    assert len({event_id for event_id, _ in order_events}) == len(order_events)
    assert {order_id for _, order_id in order_events} == set(placed.values())
    assert sorted(m["data"]["trade_id"] for m in seen["trades"].values()) == sorted(
        t.trade_id for t in trades
    )

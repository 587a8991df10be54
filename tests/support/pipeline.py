"""Drives the event pipeline by hand inside moto: stream -> relay -> bus -> queues -> handlers.

What the local cloud's pollers do in threads, done here synchronously so a test can
step through the real routing (EventBridge rules deliver to SQS in moto).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import boto3

from redfire_core import lambda_shapes
from redfire_core.resources import FUNCTIONS, QUEUES, STREAM_CONSUMERS, VENUE_QUEUES, Declaration
from redfire_core.services.venue_intake import handle_venue_message
from redfire_core.venues import VenueGateway
from tests.support.events import LambdaContext


def handler_of(function: str) -> Callable[[dict[str, Any], Any], Any]:
    module_name, _, attribute = FUNCTIONS[function].handler.rpartition(".")
    module = __import__(module_name, fromlist=[attribute])
    return getattr(module, attribute)  # type: ignore[no-any-return]


class Pipeline:
    def __init__(self, stage: str) -> None:
        self.declaration = Declaration(stage)
        self.dynamodb = boto3.client("dynamodb")
        self.streams = boto3.client("dynamodbstreams")
        self.sqs = boto3.client("sqs")
        self._iterators: dict[str, str] = {}  # table -> the last sequence number read
        self.failures: list[dict[str, Any]] = []

    def _stream_records(self, table: str) -> list[dict[str, Any]]:
        """The records written since the last call. Each call asks for a fresh iterator
        after the last record read, as the local cloud's poller does: moto's iterators hold
        the shard itself, which a cancelled transaction replaces with a copy."""
        name = self.declaration.name(table)
        arn = self.dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        if name in self._iterators:
            iterator = self.streams.get_shard_iterator(
                StreamArn=arn,
                ShardId=shard["ShardId"],
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=self._iterators[name],
            )["ShardIterator"]
        else:
            iterator = self.streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        response = self.streams.get_records(ShardIterator=iterator)
        records = cast(list[dict[str, Any]], response["Records"])
        if records:
            self._iterators[name] = records[-1]["dynamodb"]["SequenceNumber"]
        # As Lambda delivers them (and the local cloud's stream poller): JSON types, the ARN.
        return [lambda_shapes.dynamodb_stream_record(r, arn) for r in records]

    def relay(self) -> int:
        moved = 0
        for table, function in STREAM_CONSUMERS.items():
            records = self._stream_records(table)
            if records:
                result = handler_of(function)({"Records": records}, LambdaContext())
                self.failures += result["batchItemFailures"]
                moved += len(records)
        return moved

    def deliver(self, queue: str, max_messages: int = 10) -> list[dict[str, Any]]:
        """Receive what the queue holds and hand it to its consumer; returns the batch failures."""
        url = self.sqs.get_queue_url(QueueName=self.declaration.name(queue))["QueueUrl"]
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=max_messages).get(
            "Messages", []
        )
        if not messages:
            return []
        event = lambda_shapes.sqs_event(
            [lambda_shapes.sqs_record(m, lambda_shapes.queue_arn(queue)) for m in messages]
        )
        try:
            result = handler_of(QUEUES[queue].consumer)(event, LambdaContext())
        except Exception:
            # What Lambda does when a handler raises: the whole batch comes back later.
            result = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return list(result["batchItemFailures"])

    def run_until_quiet(self, rounds: int = 10) -> None:
        for _ in range(rounds):
            busy = self.relay()
            for queue in QUEUES:
                if queue in VENUE_QUEUES:  # a VenueDesk runs them (a test's fake venue)
                    continue
                busy += len(self.deliver(queue)) + self._depth(queue)
            if not busy:
                return

    def drain(self, queue: str, rounds: int = 50) -> None:
        """Relay and deliver ``queue`` alone until the outbox and the queue are empty."""
        for _ in range(rounds):
            moved = self.relay()
            self.deliver(queue)
            moved += self.relay()  # what the delivery wrote (the stream is the outbox)
            if not moved and not self._depth(queue):
                return
        raise AssertionError(f"{queue} still busy after {rounds} rounds")

    def _depth(self, queue: str) -> int:
        url = self.sqs.get_queue_url(QueueName=self.declaration.name(queue))["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])


class VenueDesk:
    """The venue queues on a simulated clock: what the decision hop sends (to the moto
    queues) and what the venue function sends itself (delayed polls, kept here with their
    delays) handed to ``handle_venue_message`` with a test's gateway, earliest due first,
    so a 10-minute poll schedule runs in a moment."""

    def __init__(self, pipeline: Pipeline, gateway: VenueGateway, now: datetime) -> None:
        self.pipeline = pipeline
        self.gateway = gateway
        self.now = now
        self.handled: list[dict[str, Any]] = []
        self._due: list[tuple[datetime, int, str, dict[str, Any]]] = []
        self._serial = 0

    def send(self, queue: str, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self._serial += 1
        due = self.now + timedelta(seconds=delay_seconds)
        heapq.heappush(self._due, (due, self._serial, queue, json.loads(json.dumps(body))))

    def send_all(self, queue: str, bodies: Sequence[dict[str, Any]]) -> None:
        for body in bodies:
            self.send(queue, body)

    def collect(self) -> int:
        """Move what the moto venue queues hold (the decision hop's messages) here."""
        moved = 0
        for queue in VENUE_QUEUES:
            name = self.pipeline.declaration.name(queue)
            url = self.pipeline.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            while messages := self.pipeline.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10
            ).get("Messages", []):
                for message in messages:
                    self.send(queue, json.loads(message["Body"]))
                    self.pipeline.sqs.delete_message(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"]
                    )
                    moved += 1
        return moved

    def step(self) -> bool:
        """Handle the next message due (moving the clock to it); False when none is left."""
        self._settle()
        if not self._due:
            return False
        due, _, _, body = heapq.heappop(self._due)
        self.now = max(self.now, due)
        self.handled.append(body)
        handle_venue_message(body, self.gateway, now=self.now, sender=self)
        self._settle()
        return True

    def _settle(self) -> None:
        """Relay until the stream is quiet (a decision's write is a record of its own),
        then take what the decision hop sent."""
        for _ in range(20):
            if not self.pipeline.relay():
                break
        self.collect()

    def run(self, max_messages: int = 200, *, until: datetime | None = None) -> None:
        """Handle messages until none is left (or the next is due after ``until``)."""
        for _ in range(max_messages):
            self._settle()
            if not self._due or (until is not None and self._due[0][0] > until):
                return
            self.step()
        raise AssertionError(f"venue queues still busy after {max_messages} messages")

    @property
    def pending(self) -> list[dict[str, Any]]:
        return [body for _, _, _, body in sorted(self._due)]


def published_types(sqs_messages: list[dict[str, Any]]) -> list[str]:
    return [json.loads(m["Body"])["detail-type"] for m in sqs_messages]

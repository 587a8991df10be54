"""SQS pollers act like Lambda event source mappings with ReportBatchItemFailures."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from redfire_cli.localcloud.provision import LOCAL_VISIBILITY_TIMEOUT_SECONDS, Provisioner
from redfire_cli.localcloud.sqs_pollers import SqsPoller, failed_message_ids
from redfire_core.resources import Declaration, Queue

QUEUE = Queue("itest", consumer="itest", max_receive_count=2, batch_size=10)


class FailingBodies:
    """A consumer that reports the messages whose body is in ``failing`` as failed."""

    def __init__(self, failing: set[str] | None = None, raises: bool = False) -> None:
        self.failing = failing or set()
        self.raises = raises
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        if self.raises:
            raise RuntimeError("consumer crashed")
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]}
                for r in event["Records"]
                if r["body"] in self.failing
            ]
        }


@pytest.fixture
def queue_pair(moto: Any) -> tuple[Any, Any]:
    provisioner = Provisioner(Declaration("itest"), moto.endpoint_url)
    return provisioner.create_queue_with_dlq(QUEUE)


def send(sqs: Any, url: str, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        )


def bodies_in(sqs: Any, url: str, wait: int = 0) -> list[str]:
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, VisibilityTimeout=0
    ).get("Messages", [])
    return sorted(m["Body"] for m in messages)


def poller(queue: Any, consumer: Callable[[dict[str, Any]], Any], sqs: Any) -> SqsPoller:
    return SqsPoller("itest", queue, QUEUE.batch_size, consumer, sqs)


def test_the_consumer_gets_a_lambda_sqs_event(client: Any, queue_pair: Any) -> None:
    # Given a message with an attribute on the queue
    queue, _ = queue_pair
    sqs = client("sqs")
    send(sqs, queue.url, '{"n": 1}')
    consumer = FailingBodies()

    # When the poller polls
    poller(queue, consumer, sqs).poll_once()

    # Then the consumer got one record shaped like Lambda's
    (record,) = consumer.events[0]["Records"]
    assert record["body"] == '{"n": 1}'
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == "us-east-1"
    assert set(record["attributes"]) >= {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert record["messageAttributes"]["kind"]["stringValue"] == "test"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"
    assert {"messageId", "receiptHandle", "md5OfBody"} <= set(record)
    json.dumps(consumer.events[0])  # a Lambda event is plain JSON


def test_successes_are_deleted_and_reported_failures_stay(client: Any, queue_pair: Any) -> None:
    # Given three messages, one of which the consumer fails
    queue, _ = queue_pair
    sqs = client("sqs")
    send(sqs, queue.url, "ok-1", "bad", "ok-2")

    # When the poller handles them
    handled = 0
    consumer = poller(queue, FailingBodies({"bad"}), sqs)
    while handled < 3:
        handled += consumer.poll_once()

    # Then only the failed message comes back after the visibility timeout
    time.sleep(LOCAL_VISIBILITY_TIMEOUT_SECONDS + 0.2)
    assert bodies_in(sqs, queue.url) == ["bad"]


def test_nothing_is_deleted_when_the_consumer_raises(client: Any, queue_pair: Any) -> None:
    # Given two messages and a consumer that crashes
    queue, _ = queue_pair
    sqs = client("sqs")
    send(sqs, queue.url, "a", "b")

    # When the poller handles them
    handled = 0
    consumer = poller(queue, FailingBodies(raises=True), sqs)
    while handled < 2:
        handled += consumer.poll_once()

    # Then both come back
    time.sleep(LOCAL_VISIBILITY_TIMEOUT_SECONDS + 0.2)
    assert bodies_in(sqs, queue.url) == ["a", "b"]


@pytest.mark.slow
def test_a_message_that_keeps_failing_reaches_the_dlq(client: Any, queue_pair: Any) -> None:
    # Given a message the consumer always fails, on a queue with maxReceiveCount 2
    queue, dlq = queue_pair
    sqs = client("sqs")
    send(sqs, queue.url, "poison")
    consumer = FailingBodies({"poison"})
    subject = poller(queue, consumer, sqs)

    # When the poller keeps polling past two visibility timeouts
    deadline = time.monotonic() + 4 * LOCAL_VISIBILITY_TIMEOUT_SECONDS + 5
    moved: list[str] = []
    while not moved and time.monotonic() < deadline:
        subject.poll_once()
        moved = bodies_in(sqs, dlq.url)

    # Then moto moved it to the DLQ after exactly two deliveries
    assert moved == ["poison"]
    assert len(consumer.events) == QUEUE.max_receive_count


def test_an_unknown_item_identifier_fails_the_whole_batch() -> None:
    # Given a reply naming a message that was not in the batch
    reply = {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}

    # When the poller reads it, then every message counts as failed, as Lambda does
    assert failed_message_ids(reply, ["m1", "m2"]) == {"m1", "m2"}
    assert failed_message_ids({"batchItemFailures": []}, ["m1"]) == set()
    assert failed_message_ids(None, ["m1"]) == set()


def test_the_last_failed_receive_is_logged_as_a_dlq_move(
    client: Any, queue_pair: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a poison message on a queue with maxReceiveCount 2, and a poller that knows it
    queue, dlq = queue_pair
    sqs = client("sqs")
    send(sqs, queue.url, "poison")
    subject = SqsPoller("itest", queue, QUEUE.batch_size, FailingBodies({"poison"}), sqs,
                        max_receive_count=QUEUE.max_receive_count)  # fmt: skip

    # When it fails on every receive until SQS dead-letters it
    deadline = time.monotonic() + 4 * LOCAL_VISIBILITY_TIMEOUT_SECONDS + 5
    with caplog.at_level("WARNING", logger="redfire.localcloud"):
        while not bodies_in(sqs, dlq.url) and time.monotonic() < deadline:
            subject.poll_once()

    # Then exactly one error names the move (the dev console highlights it), on the last one
    moves = [r for r in caplog.records if "moves to the DLQ" in r.getMessage()]
    assert len(moves) == 1 and moves[0].levelname == "ERROR"
    assert "(2 of 2)" in moves[0].getMessage()

"""The stream poller acts like a Lambda DynamoDB stream mapping with ReportBatchItemFailures."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from redfire_cli.localcloud.moto_server import LocalMoto
from redfire_cli.localcloud.provision import Provisioner
from redfire_cli.localcloud.stream_poller import (
    POLL_INTERVAL_SECONDS,
    StreamPoller,
    check_filter_pattern,
    matches_filter,
)
from redfire_cli.localcloud.workers import RepeatingWorker
from redfire_core.resources import STREAM_CONSUMERS, STREAM_FILTERS, Declaration, Table

DECLARATION = Declaration("itest")
TABLE = Table("streamed", stream="NEW_IMAGE")
TABLE_NAME = DECLARATION.name(TABLE.logical)


class Consumer:
    """Records each event; fails the records whose ``sk`` is in ``failing``."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing or set()
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                for r in event["Records"]
                if r["dynamodb"]["Keys"]["sk"]["S"] in self.failing
            ]
        }

    def delivered(self) -> list[str]:
        return [r["dynamodb"]["Keys"]["sk"]["S"] for e in self.events for r in e["Records"]]


@pytest.fixture
def stream_arn(moto: LocalMoto) -> str:
    arn = Provisioner(DECLARATION, moto.endpoint_url).create_table(TABLE)
    assert arn is not None
    return arn


def put(dynamodb: Any, *sort_keys: str) -> None:
    for sk in sort_keys:
        dynamodb.put_item(TableName=TABLE_NAME, Item={"pk": {"S": "p"}, "sk": {"S": sk}})


def make_poller(
    client: Any, moto: LocalMoto, arn: str, consumer: Consumer, **options: Any
) -> tuple[StreamPoller, list[dict[str, Any]]]:
    given_up: list[dict[str, Any]] = []
    poller = StreamPoller(
        "itest-consumer",
        arn,
        consumer,
        client("dynamodbstreams"),
        on_failure=given_up.append,
        housekeeping=moto,
        **options,
    )
    return poller, given_up


def poll_when_due(poller: StreamPoller) -> int:
    """Poll as the local cloud's worker does: after the wait the poller asks for."""
    time.sleep(poller.poll_interval())
    return poller.poll_once()


def test_records_arrive_in_order_as_a_lambda_stream_event(
    client: Any, moto: LocalMoto, stream_arn: str
) -> None:
    # Given three writes to a table with a stream
    put(client("dynamodb"), "a", "b", "c")
    consumer = Consumer()
    poller, _ = make_poller(client, moto, stream_arn, consumer)

    # When the poller polls twice
    poller.poll_once()
    poller.poll_once()

    # Then the consumer got them once, in order, shaped like Lambda's event
    assert consumer.delivered() == ["a", "b", "c"]
    record = consumer.events[0]["Records"][0]
    assert record["eventName"] == "INSERT" and record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == stream_arn and record["awsRegion"] == "us-east-1"
    assert record["dynamodb"]["NewImage"] == {"pk": {"S": "p"}, "sk": {"S": "a"}}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    json.dumps(consumer.events)


def test_a_reported_failure_is_retried_from_that_record(
    client: Any, moto: LocalMoto, stream_arn: str
) -> None:
    # Given records a, b, c where b fails once
    put(client("dynamodb"), "a", "b", "c")
    consumer = Consumer({"b"})
    poller, given_up = make_poller(client, moto, stream_arn, consumer)

    # When b fails on the first delivery and succeeds on the retry
    poller.poll_once()
    consumer.failing.clear()
    poller._retry_at = 0.0  # skip the back-off
    poller.poll_once()

    # Then the retry starts at b (a is checkpointed), and nothing is given up
    assert consumer.delivered() == ["a", "b", "c", "b", "c"]
    assert given_up == [] and poller.pending == []


def test_a_record_that_keeps_failing_goes_to_on_failure_and_the_stream_moves_on(
    client: Any, moto: LocalMoto, stream_arn: str
) -> None:
    # Given a record that always fails, followed by a good one
    put(client("dynamodb"), "poison", "good")
    consumer = Consumer({"poison"})
    poller, given_up = make_poller(client, moto, stream_arn, consumer, max_retries=2)

    # When the poller has retried it max_retries times
    for _ in range(4):
        poller._retry_at = 0.0
        poller.poll_once()

    # Then it was tried 1 + 2 times, handed to on-failure, and "good" went through
    assert consumer.delivered().count("poison") == 3
    (failure,) = given_up
    assert failure["condition"] == "RetryAttemptsExhausted"
    assert failure["record"]["dynamodb"]["Keys"]["sk"] == {"S": "poison"}
    assert consumer.delivered()[-1] == "good" and poller.pending == []


def test_records_after_a_cancelled_transaction_are_still_seen(
    client: Any, moto: LocalMoto, stream_arn: str
) -> None:
    # Given a poller that has read the stream once
    dynamodb = client("dynamodb")
    put(dynamodb, "before")
    consumer = Consumer()
    poller, _ = make_poller(client, moto, stream_arn, consumer)
    poller.poll_once()

    # When a transaction is cancelled (moto swaps in a copy of the table) and writes follow
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE_NAME, "Item": {"pk": {"S": "p"}, "sk": {"S": "x"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE_NAME,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    put(dynamodb, "after")
    poll_when_due(poller)

    # Then the poller sees the later write and never the rolled-back one
    assert consumer.delivered() == ["before", "after"]


def test_handled_records_are_trimmed_from_moto_and_numbering_continues(
    client: Any, moto: LocalMoto, stream_arn: str
) -> None:
    # Given a poller that handled two records
    dynamodb = client("dynamodb")
    streams = client("dynamodbstreams")
    put(dynamodb, "a", "b")
    consumer = Consumer()
    poller, _ = make_poller(client, moto, stream_arn, consumer)
    poller.poll_once()
    first_numbers = [r["dynamodb"]["SequenceNumber"] for r in consumer.events[0]["Records"]]

    # When another write follows
    put(dynamodb, "c")
    poll_when_due(poller)

    # Then moto keeps only what is not handled yet, and sequence numbers keep growing
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert streams.get_records(ShardIterator=iterator)["Records"] == []
    third_number = consumer.events[1]["Records"][0]["dynamodb"]["SequenceNumber"]
    assert int(third_number) == int(first_numbers[-1]) + 1


class Clock:
    """A monotonic clock the test moves; each GetRecords takes ``read_seconds`` on it."""

    def __init__(self, read_seconds: float = 0.0) -> None:
        self.now = 100.0
        self.read_seconds = read_seconds

    def __call__(self) -> float:
        return self.now

    def slow_reads(self, streams: Any) -> Any:
        get_records = streams.get_records

        def timed(**kwargs: Any) -> Any:
            self.now += self.read_seconds
            return get_records(**kwargs)

        streams.get_records = timed
        return streams


def clocked_poller(
    client: Any,
    moto: LocalMoto,
    arn: str,
    clock: Clock,
    consumer: Callable[[dict[str, Any]], Any] | None = None,
    **options: Any,
) -> StreamPoller:
    return StreamPoller(
        "itest-consumer",
        arn,
        consumer or Consumer(),
        clock.slow_reads(client("dynamodbstreams")),
        on_failure=lambda _: None,
        housekeeping=moto,
        clock=clock,
        **options,
    )


def test_the_next_read_is_due_250_ms_after_the_last_began_the_handlers_time_included(
    client: Any, moto: LocalMoto, stream_arn: str
) -> None:
    # Given a poller whose read (30 ms) returned a record that the handler took 100 ms on
    put(client("dynamodb"), "a")
    clock = Clock(read_seconds=0.03)

    def slow_consumer(event: dict[str, Any]) -> dict[str, Any]:
        clock.now += 0.1
        return {"batchItemFailures": []}

    poller = clocked_poller(client, moto, stream_arn, clock, slow_consumer)
    read_started = clock.now
    assert poller.poll_once() == 1

    # Then the next read is due 250 ms after this one began (Lambda's base rate of four
    # reads a second), not a full 250 ms after the batch was handled
    assert poller.poll_interval() == pytest.approx(POLL_INTERVAL_SECONDS - 0.13)
    clock.now = read_started + 0.2
    assert poller.poll_interval() == pytest.approx(0.05)
    clock.now = read_started + 0.4
    assert poller.poll_interval() == 0.0
    assert POLL_INTERVAL_SECONDS == 0.25


def test_records_beyond_one_batch_go_to_the_handler_at_once_without_a_new_read(
    client: Any, moto: LocalMoto, stream_arn: str
) -> None:
    # Given three records and a batch size of two
    put(client("dynamodb"), "a", "b", "c")
    clock = Clock(read_seconds=0.01)
    consumer = Consumer()
    reads: list[float] = []
    poller = clocked_poller(client, moto, stream_arn, clock, consumer, batch_size=2)
    get_records = poller.streams.get_records
    poller.streams.get_records = lambda **kw: reads.append(clock.now) or get_records(**kw)

    # When the first poll hands over two, and the poller polls again when told to
    assert poller.poll_once() == 2
    assert poller.poll_interval() == 0.0
    assert poller.poll_once() == 1

    # Then the third went over at once, from the one read made
    assert consumer.delivered() == ["a", "b", "c"] and len(reads) == 1
    assert poller.poll_interval() > 0


def test_a_quiet_stream_is_read_no_more_than_four_times_a_second(
    client: Any, moto: LocalMoto, stream_arn: str
) -> None:
    # Given the poller running as the local cloud runs it, on a stream nobody writes to
    reads: list[float] = []
    streams = client("dynamodbstreams")
    get_records = streams.get_records

    def counted(**kwargs: Any) -> Any:
        reads.append(time.monotonic())
        return get_records(**kwargs)

    streams.get_records = counted
    poller = StreamPoller("itest-consumer", stream_arn, Consumer(), streams, lambda _: None)
    worker = RepeatingWorker("stream", poller.poll_once, interval=poller.poll_interval)

    # When it runs for a second
    worker.start()
    time.sleep(1.0)
    worker.stop()
    worker.join(2)

    # Then it read at most 4 + 1 times (the first read comes at once), about 250 ms apart
    # (measured here after GetShardIterator, whose own time varies a little)
    assert 2 <= len(reads) <= 5
    gaps = [b - a for a, b in itertools.pairwise(reads)]
    assert min(gaps) >= 0.2


def test_a_failed_batch_waits_for_its_back_off_without_polling_faster(
    client: Any, moto: LocalMoto, stream_arn: str
) -> None:
    # Given a poller whose consumer just failed a record (back-off pending)
    put(client("dynamodb"), "a")
    clock = Clock()
    consumer = Consumer({"a"})
    poller = clocked_poller(client, moto, stream_arn, clock, consumer)
    poller.poll_once()

    # Then it waits for its next read, 250 ms on, and does not hand the record over before
    # its back-off ends
    assert poller.poll_interval() == POLL_INTERVAL_SECONDS
    assert poller.poll_once() == 0 and len(consumer.events) == 1


def test_with_the_declared_orders_filter_only_writes_carrying_events_reach_the_consumer(
    client: Any, moto: LocalMoto, stream_arn: str
) -> None:
    # Given the orders stream's declared filter, and writes of every kind to the table
    dynamodb = client("dynamodb")
    put(dynamodb, "CID#1")  # a claim: no events
    put_carrying(dynamodb, "ORDER#1", "OUTBOX#1")  # an order's insert, an outbox row
    put_carrying(dynamodb, "ORDER#1")  # an update of the order with its events (MODIFY)
    put(dynamodb, "ORDER#1")  # an update that reports nothing (MODIFY, no events)
    dynamodb.delete_item(TableName=TABLE_NAME, Key={"pk": {"S": "p"}, "sk": {"S": "OUTBOX#1"}})
    consumer = Consumer()
    poller, _ = make_poller(
        client, moto, stream_arn, consumer, filter_pattern=STREAM_FILTERS["orders"]
    )

    # When the poller polls
    poller.poll_once()
    poller.poll_once()

    # Then the consumer is invoked for the writes that carry events only, as the mapping's
    # filter does (no claim, no silent update, no TTL removal)
    assert consumer.delivered() == ["ORDER#1", "OUTBOX#1", "ORDER#1"]
    names = [r["eventName"] for e in consumer.events for r in e["Records"]]
    assert names == ["INSERT", "INSERT", "MODIFY"]
    assert poller.pending == []


def put_carrying(dynamodb: Any, *sort_keys: str) -> None:
    for sk in sort_keys:
        item = {"pk": {"S": "p"}, "sk": {"S": sk}, "events": {"S": "[]"}}
        dynamodb.put_item(TableName=TABLE_NAME, Item=item)


def test_every_declared_stream_filter_is_one_the_local_poller_applies() -> None:
    assert set(STREAM_FILTERS) <= set(STREAM_CONSUMERS)
    for pattern in STREAM_FILTERS.values():
        check_filter_pattern(pattern)
    with pytest.raises(ValueError, match="not supported"):
        check_filter_pattern({"dynamodb": {"NewImage": {"sk": {"S": [{"suffix": "#"}]}}}})


def test_an_exists_rule_matches_a_present_key_only() -> None:
    pattern = {"dynamodb": {"NewImage": {"events": {"S": [{"exists": True}]}}}}
    assert matches_filter(pattern, {"dynamodb": {"NewImage": {"events": {"S": "[]"}}}})
    assert not matches_filter(pattern, {"dynamodb": {"NewImage": {"sk": {"S": "ORDER#1"}}}})
    assert not matches_filter(pattern, {"dynamodb": {"Keys": {}}})

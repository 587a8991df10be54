"""DynamoDB stream poller: what a Lambda stream event source mapping does, locally.

Records go to the handler in order, as real Lambda DynamoDB Streams events; with a filter
pattern (the declaration's ``STREAM_FILTERS``, as the event source mapping's FilterCriteria)
only the records that match it, the others being skipped as Lambda skips them. With
``batchItemFailures`` (itemIdentifier = SequenceNumber) the poller checkpoints before the
lowest failed record and retries from it, like ``ReportBatchItemFailures``; a raise retries
the whole batch. After ``max_retries`` retries of the same record it gives up on that
record: it is logged as an error and sent to the local on-failure queue (Lambda's
OnFailure destination), then the poller moves on.

It reads the shard at Lambda's rate and never faster. The AWS Lambda Developer Guide
("Using AWS Lambda with Amazon DynamoDB", Polling and batching streams): "Lambda polls
shards in your DynamoDB stream for records at a base rate of 4 times per second. When
records are available, Lambda invokes your function and waits for the result." So a read
is due 250 ms after the previous one began, the handler's time included (not 250 ms after
the batch was handled); records already read beyond one batch go to the handler at once,
without a new read. Reading again right after every read that returned records, as a
mapping may, measured worse here: the empty read that follows resets the 250 ms, so one
client placing an order as soon as its last one filled waited ~370 ms a cycle instead of
250. Each poll asks for a fresh iterator
after the last record read instead of following ``NextShardIterator``: moto's iterators
hold the shard object itself, and a cancelled transaction replaces the table (and its
shard) with a copy, so an old iterator chain would see the rolled-back writes and none
of the later ones. Used iterators and checkpointed records are
handed to ``housekeeping`` (the in-process moto server), which would otherwise keep both
forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from redfire_core.lambda_shapes import dynamodb_stream_record

logger = logging.getLogger("redfire.localcloud")

BATCH_SIZE = 100  # Lambda's default for DynamoDB streams
MAX_RETRIES = 3
FIRST_RETRY_DELAY_SECONDS = 0.2
POLL_INTERVAL_SECONDS = 0.25  # Lambda's base rate: a shard polled 4 times a second when idle
FETCH_LIMIT = 1000


class StreamHousekeeping(Protocol):
    def forget_shard_iterators(self, iterator_arns: Iterable[str]) -> None: ...

    def trim_stream(self, stream_arn: str, through_sequence: str) -> int: ...


def check_filter_pattern(pattern: dict[str, Any]) -> None:
    """Refuse a filter pattern this poller cannot apply as Lambda would: it knows nested
    objects, lists of exact values, ``{"prefix": ...}`` and ``{"exists": ...}``, which is all
    RedFire declares."""
    for key, expected in pattern.items():
        if isinstance(expected, dict):
            check_filter_pattern(expected)
            continue
        if not isinstance(expected, list) or not expected:
            raise ValueError(f"filter {key!r}: expected a non-empty list, got {expected!r}")
        for rule in expected:
            if isinstance(rule, dict) and set(rule) not in ({"prefix"}, {"exists"}):
                raise ValueError(f"filter {key!r}: rule {rule!r} is not supported locally")


def matches_filter(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    """Whether a stream record matches a Lambda event filter pattern (see
    ``check_filter_pattern``): every key present, each value one of the rules."""
    for key, expected in pattern.items():
        if isinstance(expected, list) and {"exists": False} in expected:
            if key in record:
                return False
            continue
        if key not in record:
            return False
        value = record[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches_filter(expected, value):
                return False
        elif not any(_matches_rule(rule, value) for rule in expected):
            return False
    return True


def _matches_rule(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict) and "exists" in rule:
        return bool(rule["exists"])  # the key is present (checked by the caller)
    if isinstance(rule, dict):
        return isinstance(value, str) and value.startswith(rule["prefix"])
    return bool(rule == value)


def sequence_number(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def first_failed_index(result: Any, batch: list[dict[str, Any]]) -> int | None:
    """Index of the lowest failed record in ``batch``; None when all succeeded.

    Like Lambda, an identifier that is not in the batch fails the whole batch.
    """
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return None
    positions = {sequence_number(r): i for i, r in enumerate(batch)}
    indexes = []
    for failure in result["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in positions:
            logger.error("unknown stream itemIdentifier %r: the whole batch failed", identifier)
            return 0
        indexes.append(positions[identifier])
    return min(indexes)


class StreamPoller:
    """Reads one table's stream and hands the records to its consumer's handler."""

    def __init__(
        self,
        name: str,
        stream_arn: str,
        invoke: Callable[[dict[str, Any]], Any],
        streams_client: Any,
        on_failure: Callable[[dict[str, Any]], None],
        housekeeping: StreamHousekeeping | None = None,
        batch_size: int = BATCH_SIZE,
        max_retries: int = MAX_RETRIES,
        filter_pattern: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if filter_pattern is not None:
            check_filter_pattern(filter_pattern)
        self.filter_pattern = filter_pattern
        self.name = name
        self.stream_arn = stream_arn
        self.invoke = invoke
        self.streams = streams_client
        self.on_failure = on_failure
        self.housekeeping = housekeeping
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.pending: list[dict[str, Any]] = []
        self._shard_id: str | None = None
        self._last_read: str | None = None  # None: start at TRIM_HORIZON
        self._head_failures = 0
        self._retry_at = 0.0
        self._trimmed_through: int | None = None
        self.clock = clock
        self._read_started_at: float | None = None  # when the last read began
        self._left_over = False  # the last batch handled left records for another

    def poll_once(self) -> int:
        """Read new records when a read is due, then hand one batch to the handler; the
        batch size."""
        if self._read_due():
            self._read_started_at = self.clock()
            self.read_new_records()
        if not self.pending or self.clock() < self._retry_at:
            return 0
        batch = self.pending[: self.batch_size]
        event = {"Records": [dynamodb_stream_record(r, self.stream_arn) for r in batch]}
        try:
            failed_at = first_failed_index(self.invoke(event), batch)
        except Exception:
            logger.exception("%s: handler raised; retrying the batch", self.name)
            failed_at = 0
        if failed_at is None:
            del self.pending[: len(batch)]
            self._head_failures = 0
        else:
            self._record_failure(failed_at)
        self._left_over = failed_at is None and bool(self.pending)
        self._trim_checkpointed()
        return len(batch)

    def poll_interval(self) -> float:
        """How long to wait before the next poll (see the module's docstring): none while
        records already read wait for a batch, else until the next read is due, 250 ms
        after the last one began. No local poller polls faster than Lambda would."""
        if self.pending and self.clock() >= self._retry_at and self._left_over:
            return 0.0
        if self._read_started_at is None:
            return 0.0
        return max(0.0, self._read_started_at + POLL_INTERVAL_SECONDS - self.clock())

    def _read_due(self) -> bool:
        started = self._read_started_at
        return started is None or self.clock() >= started + POLL_INTERVAL_SECONDS

    def read_new_records(self) -> int:
        """Fetch what the shard holds after the last record read; how many records came
        back (those the filter drops included: the mapping read them too)."""
        if self._shard_id is None:
            shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"][
                "Shards"
            ]
            self._shard_id = shards[0]["ShardId"]
        position: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
        if self._last_read is not None:
            position = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "SequenceNumber": self._last_read,
            }
        iterator = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=self._shard_id, **position
        )["ShardIterator"]
        response = self.streams.get_records(ShardIterator=iterator, Limit=FETCH_LIMIT)
        if self.housekeeping is not None:
            self.housekeeping.forget_shard_iterators(
                [iterator, response.get("NextShardIterator", "")]
            )
        records = response.get("Records", [])
        if records:
            pattern = self.filter_pattern
            self.pending.extend(r for r in records if pattern is None or matches_filter(pattern, r))
            self._last_read = sequence_number(records[-1])
        return len(records)

    def _record_failure(self, failed_at: int) -> None:
        """Checkpoint before the failed record; give it up after ``max_retries`` retries."""
        if failed_at > 0:
            del self.pending[:failed_at]
            self._head_failures = 0
        self._head_failures += 1
        if self._head_failures <= self.max_retries:
            delay = FIRST_RETRY_DELAY_SECONDS * 2 ** (self._head_failures - 1)
            self._retry_at = self.clock() + delay
            return
        record = self.pending[0]
        logger.error(
            "%s: giving up on stream record %s (%s %s) after %d attempts; sent to on-failure",
            self.name,
            sequence_number(record),
            record.get("eventName"),
            record["dynamodb"].get("Keys"),
            self._head_failures,
        )
        self.on_failure(
            {
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self._head_failures,
                "streamArn": self.stream_arn,
                "function": self.name,
                "record": dynamodb_stream_record(record, self.stream_arn),
            }
        )
        self.pending.pop(0)  # only once on-failure has it
        self._head_failures = 0
        self._retry_at = 0.0

    def _trim_checkpointed(self) -> None:
        """Let the stream drop what was handled: all but the records still pending."""
        if self.housekeeping is None or self._last_read is None:
            return
        checkpoint = (
            int(sequence_number(self.pending[0])) - 1 if self.pending else int(self._last_read)
        )
        if self._trimmed_through is None or checkpoint > self._trimmed_through:
            self.housekeeping.trim_stream(self.stream_arn, str(checkpoint))
            self._trimmed_through = checkpoint

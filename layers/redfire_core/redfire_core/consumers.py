"""One skeleton for every queue- and schedule-driven handler: a routes table from
detail-type to function, partial batch responses that record why an item failed (so a
message that ends in a DLQ carries its reason: ``redfire dlq show``), the correlation id,
scheduled actions and one log line for an event nobody routes.

A handler declares what it does and hands its event to the consumer::

    consumer = Consumer(
        routes={"OrderAccepted": accept},                    # (envelope, now) -> outcome
        actions={"expire_orders": action(expire)},           # {"action": "expire_orders"}
        queue="orders",                                      # failures recorded under it
    )
    def handler(event, context):
        return consumer(event, context)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict

from redfire_core.adapters.failures import FailureRecords
from redfire_core.events import Envelope
from redfire_core.lambda_events import envelope_from_sqs_body
from redfire_core.observability import logger

Route = Callable[[Envelope, datetime], object]
ExceptionInfo = tuple[Any, Any, Any]
Input = TypeVar("Input", bound=BaseModel)
IGNORED = "ignored"


class ScheduledAction(BaseModel):
    """A schedule's input that names its action and nothing else."""

    model_config = ConfigDict(extra="forbid")

    action: str


@dataclass(frozen=True)
class Scheduled(Generic[Input]):
    """What one scheduled action runs, and the model its input must match."""

    run: Callable[[Input, datetime], Mapping[str, Any]]
    input: type[Input]


def action(run: Callable[[datetime], Mapping[str, Any]]) -> Scheduled[ScheduledAction]:
    """A scheduled action whose input is ``{"action": "<name>"}`` alone."""
    return Scheduled(lambda _, now: run(now), ScheduledAction)


def ignored(event: Envelope) -> str:
    """The one log line of an event a consumer does not route (a rule sends more than it uses)."""
    logger.info("event ignored", extra={"type": event.type, "event_id": event.id})
    return IGNORED


def in_event_order(event: dict[str, Any]) -> None:
    """Sort an SQS batch by event id: a standard queue may hand a batch out of order, and ids
    are ULIDs, so one write's events sort as they happened (accepted before filled)."""
    event["Records"].sort(key=_event_id)


def _event_id(record: dict[str, Any]) -> str:
    try:
        return str(json.loads(record["body"])["detail"]["id"])
    except (ValueError, KeyError, TypeError):
        return ""  # not an event: its own processing fails it


class RecordingBatchProcessor(BatchProcessor):
    """Powertools' SQS batch processor that also writes each failed item's reason (the
    exception's type and message) keyed by the SQS message id. The item still fails: it
    comes back, and after the queue's receives, reaches the DLQ with its reason on record."""

    def __init__(self, queue: str, records: FailureRecords | None = None) -> None:
        super().__init__(event_type=EventType.SQS)
        self.queue = queue
        self._records = records

    @cached_property
    def failure_records(self) -> FailureRecords:
        return self._records or FailureRecords()

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        kind, error = exception[0], exception[1]
        reason = f"{getattr(kind, '__name__', kind)}: {error}"
        message_id = getattr(record, "message_id", None)
        if message_id:
            from botocore.exceptions import BotoCoreError, ClientError  # lazy: failures only

            try:
                self.failure_records.record(message_id, self.queue, reason, datetime.now(UTC))
            except (BotoCoreError, ClientError):  # the item fails all the same; said in logs
                logger.exception("failure reason not recorded", extra={"message_id": message_id})
        return super().failure_handler(record, exception)


@dataclass(frozen=True)
class Consumer:
    """An SQS consumer of EventBridge envelopes and, without ``Records``, a schedule's target.

    ``routes`` maps a detail-type to ``(envelope, now) -> outcome``; an envelope of any other
    type is logged once and acknowledged. ``actions`` maps a schedule's ``action`` (``None``:
    a schedule whose input names none) to what it runs. A route or action that raises fails
    its record (the batch reports it; SQS retries it, then the DLQ) or the invocation.
    """

    routes: Mapping[str, Route]
    actions: Mapping[str | None, Scheduled[Any]] = field(default_factory=dict)
    queue: str | None = None  # the queue's key: failed items' reasons are recorded under it

    def record(self, record: SQSRecord) -> object:
        """Route one SQS record's envelope, under its correlation id."""
        event = envelope_from_sqs_body(record.body)
        logger.set_correlation_id(event.correlation_id)
        route = self.routes.get(event.type)
        if route is None:
            return ignored(event)
        return route(event, datetime.now(UTC))

    def scheduled(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Run the scheduled action ``event`` names, its input validated first."""
        name = event.get("action")
        scheduled = self.actions.get(name)
        if scheduled is None:
            raise ValueError(f"no scheduled action {name!r}")
        return dict(scheduled.run(scheduled.input.model_validate(event), datetime.now(UTC)))

    def __call__(
        self, event: dict[str, Any], context: Any
    ) -> dict[str, Any] | PartialItemFailureResponse:
        if "Records" not in event:
            return self.scheduled(event)
        # A processor per batch: Lambda runs one batch at a time, tests run several threads.
        processor = (
            RecordingBatchProcessor(self.queue)
            if self.queue
            else BatchProcessor(event_type=EventType.SQS)
        )
        return process_partial_response(event, self.record, processor, context)

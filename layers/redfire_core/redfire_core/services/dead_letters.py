"""SQS consumers record why a message failed where its batch item fails, so a message that
ends in a DLQ carries its reason (``redfire dlq show``)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse

from redfire_core.adapters.failures import FailureRecords
from redfire_core.observability import logger

ExceptionInfo = tuple[Any, Any, Any]


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

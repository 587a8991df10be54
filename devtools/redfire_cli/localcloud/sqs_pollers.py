"""SQS pollers: what a Lambda event source mapping with ReportBatchItemFailures does.

Each receive becomes a real Lambda SQS event; messages the handler reports in
``batchItemFailures`` (or all of them, when it raises) stay on the queue, come back after
the visibility timeout, and moto moves them to the DLQ after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from redfire_cli.localcloud.provision import QueueAddress
from redfire_core.lambda_shapes import sqs_record

logger = logging.getLogger("redfire.localcloud")

WAIT_SECONDS = 1  # short long-poll so shutdown never waits long


def failed_message_ids(result: Any, batch_ids: Sequence[str]) -> set[str]:
    """The ids the handler reported as failed; the whole batch if the reply is malformed.

    Lambda treats an unknown or empty ``itemIdentifier`` as a failure of the whole batch.
    """
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return set()
    failures = result["batchItemFailures"]
    identifiers = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    if len(identifiers) != len(failures) or not identifiers <= set(batch_ids):
        logger.error("malformed batchItemFailures %r: the whole batch failed", failures)
        return set(batch_ids)
    return {str(i) for i in identifiers}


class SqsPoller:
    """Receives from one queue and hands each batch to its consumer's handler."""

    def __init__(
        self,
        name: str,
        queue: QueueAddress,
        batch_size: int,
        invoke: Callable[[dict[str, Any]], Any],
        sqs_client: Any,
        wait_seconds: int = WAIT_SECONDS,
        max_receive_count: int | None = None,
    ) -> None:
        self.name = name
        self.queue = queue
        self.batch_size = batch_size
        self.invoke = invoke
        self.sqs = sqs_client
        self.wait_seconds = wait_seconds
        self.max_receive_count = max_receive_count

    def poll_once(self) -> int:
        """Receive one batch, invoke the handler, delete the successes; the batch size."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=min(self.batch_size, 10),
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [sqs_record(m, self.queue.arn) for m in messages]}
        try:
            result = self.invoke(event)
        except Exception:
            logger.exception("%s: handler raised; the whole batch will be retried", self.name)
            self.report_dead_letters(messages)
            return len(messages)
        failed = failed_message_ids(result, [m["MessageId"] for m in messages])
        if failed:
            logger.warning("%s: %d of %d messages failed", self.name, len(failed), len(messages))
            self.report_dead_letters([m for m in messages if m["MessageId"] in failed])
        self.delete([m for m in messages if m["MessageId"] not in failed])
        return len(messages)

    def report_dead_letters(self, failed: list[dict[str, Any]]) -> None:
        """Name each failed message on its last receive: SQS moves it to the DLQ (silently)."""
        if self.max_receive_count is None:
            return
        for message in failed:
            receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0))
            if receives >= self.max_receive_count:
                logger.error(
                    "%s: message %s failed its last receive (%d of %d): it moves to the DLQ",
                    self.name, message["MessageId"], receives, self.max_receive_count,
                )  # fmt: skip

    def delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            response = self.sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
            if response.get("Failed"):
                logger.error("%s: could not delete %r", self.name, response["Failed"])

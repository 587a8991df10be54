"""Failure records: why a queue message last failed, keyed by its SQS message id (which a
message keeps when SQS moves it to the DLQ), so ``redfire dlq show`` can print the reason
beside each dead message. Written where a batch item fails; they expire with the DLQ's
retention (``expires_at``, DynamoDB TTL)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from redfire_core.config import Settings, get_settings

TABLE = "failures"
# Longest a DLQ keeps a message (resources.Queue.dlq_retention_days), plus the days it may
# spend failing in its queue first.
RETENTION = timedelta(days=15)
MAX_REASON = 1000  # characters: an exception text can be long; the head says what happened


class FailureRecords:
    def __init__(self, settings: Settings | None = None, client: Any = None) -> None:
        self.table = (settings or get_settings()).table_name(TABLE)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: only a failing item needs it, and consumers start cold

            self._client = boto3.client("dynamodb")
        return self._client

    def record(self, message_id: str, queue: str, reason: str, at: datetime) -> None:
        """Remember ``reason`` as the latest failure of ``message_id`` (and count it)."""
        self.client.update_item(
            TableName=self.table,
            Key={"message_id": {"S": message_id}},
            UpdateExpression=(
                "SET queue_name = :queue, reason = :reason, failed_at = :at, "
                "expires_at = :expires ADD failures :one"
            ),
            ExpressionAttributeValues={
                ":queue": {"S": queue},
                ":reason": {"S": reason[:MAX_REASON]},
                ":at": {"S": at.isoformat().replace("+00:00", "Z")},
                ":expires": {"N": str(int((at + RETENTION).timestamp()))},
                ":one": {"N": "1"},
            },
        )

    def reasons(self, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Message id -> ``{reason, failed_at, failures}`` for those that have a record."""
        found: dict[str, dict[str, Any]] = {}
        wanted = list(dict.fromkeys(message_ids))
        for start in range(0, len(wanted), 100):  # BatchGetItem takes 100 keys
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [{"message_id": {"S": m}} for m in wanted[start : start + 100]]
                }
            }
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    found[item["message_id"]["S"]] = {
                        "reason": item["reason"]["S"],
                        "failed_at": item["failed_at"]["S"],
                        "failures": int(item["failures"]["N"]),
                    }
                request = response.get("UnprocessedKeys") or {}
        return found

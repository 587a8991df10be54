"""Messages to the venue queues (``venue-alpaca``, ``venue-ccxt``), delayed or not."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from redfire_core.config import Settings, get_settings

MAX_DELAY_SECONDS = 900  # SQS's longest DelaySeconds


class VenueSender(Protocol):
    def send(self, queue: str, body: dict[str, Any], delay_seconds: int = 0) -> None: ...

    def send_all(self, queue: str, bodies: Sequence[dict[str, Any]]) -> None: ...


class SqsVenueSender:
    """Sends to a declared queue by its logical name; a failed send raises (never dropped)."""

    def __init__(self, settings: Settings | None = None, client: Any = None) -> None:
        self.settings = settings or get_settings()
        self._client = client
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: built on the first venue message, never on the paper path

            self._client = boto3.client("sqs")
        return self._client

    def url(self, queue: str) -> str:
        with self._lock:
            if queue not in self._urls:
                name = self.settings.declaration.name(queue)
                self._urls[queue] = self.client.get_queue_url(QueueName=name)["QueueUrl"]
            return self._urls[queue]

    def send(self, queue: str, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self.client.send_message(
            QueueUrl=self.url(queue),
            MessageBody=json.dumps(body, separators=(",", ":")),
            DelaySeconds=max(0, min(int(delay_seconds), MAX_DELAY_SECONDS)),
        )

    def send_all(self, queue: str, bodies: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(bodies), 10):
            chunk = bodies[start : start + 10]
            entries = [
                {"Id": str(n), "MessageBody": json.dumps(body, separators=(",", ":"))}
                for n, body in enumerate(chunk)
            ]
            result = self.client.send_message_batch(QueueUrl=self.url(queue), Entries=entries)
            if result.get("Failed"):
                raise RuntimeError(f"{len(result['Failed'])} messages to {queue} not sent")

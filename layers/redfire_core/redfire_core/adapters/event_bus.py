"""Publishing envelopes to the EventBridge bus."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from redfire_core.config import Settings, get_settings
from redfire_core.events import Envelope
from redfire_core.resources import EVENT_SOURCE

BATCH_SIZE = 10  # PutEvents takes at most 10 entries
MAX_ATTEMPTS = 4


class PublishError(Exception):
    """Some entries were still refused after every retry."""


class EventBridgePublisher:
    """Batches 10 per PutEvents, checks FailedEntryCount, retries only the failed entries."""

    def __init__(self, settings: Settings | None = None, client: Any = None) -> None:
        self.bus_name = (settings or get_settings()).declaration.bus_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: keeps the import off the cold start of callers that never publish

            self._client = boto3.client("events")
        return self._client

    def publish(self, events: Sequence[Envelope]) -> None:
        for start in range(0, len(events), BATCH_SIZE):
            self._put_with_retries([self._entry(e) for e in events[start : start + BATCH_SIZE]])

    def _entry(self, event: Envelope) -> dict[str, Any]:
        return {
            "Source": EVENT_SOURCE,
            "DetailType": event.type,
            "Detail": event.model_dump_json(),
            "EventBusName": self.bus_name,
        }

    def _put_with_retries(self, entries: list[dict[str, Any]]) -> None:
        for attempt in range(MAX_ATTEMPTS):
            response = self.client.put_events(Entries=entries)
            if not response.get("FailedEntryCount"):
                return
            # Results are positional: keep the entries whose result carries an error code.
            entries = [
                entry
                for entry, result in zip(entries, response["Entries"], strict=True)
                if result.get("ErrorCode")
            ]
            time.sleep(0.05 * 2**attempt)
        raise PublishError(f"{len(entries)} events refused by EventBridge after retries")

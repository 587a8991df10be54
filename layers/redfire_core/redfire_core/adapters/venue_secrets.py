"""Accounts' venue credentials in Secrets Manager, one secret per account.

Named ``redfire/<stage>/venues/<account id>`` (IAM grants that prefix only). The secret
never reaches DynamoDB, logs, events or responses: only this adapter reads it, and
``VenueCredentials.__repr__`` leaves it out.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

from redfire_core.config import Settings, get_settings
from redfire_core.venues import VenueCredentials, VenueMode

# How long a container keeps credentials it read: a revoked key is seen as an auth error by
# the venue anyway, and new credentials (PUT /v1/account/gateway) drop the cached ones.
CACHE_SECONDS = 60.0


class VenueSecrets:
    def __init__(self, settings: Settings | None = None, client: Any = None) -> None:
        self.settings = settings or get_settings()
        self._client = client
        self._cache: dict[str, tuple[float, VenueCredentials | None]] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: the paper path never reads a venue secret

            self._client = boto3.client("secretsmanager")
        return self._client

    def name(self, account_id: str) -> str:
        return self.settings.declaration.venue_secrets_prefix + account_id

    def put(self, account_id: str, gateway: str, credentials: VenueCredentials) -> None:
        """Create or overwrite the account's credentials."""
        value = json.dumps(
            {
                "gateway": gateway,
                "key_id": credentials.key_id,
                "secret": credentials.secret,
                "mode": credentials.mode.value,
                "exchange": credentials.exchange,
                "base_url": credentials.base_url,
            }
        )
        name = self.name(account_id)
        try:
            self.client.put_secret_value(SecretId=name, SecretString=value)
        except self.client.exceptions.ResourceNotFoundException:
            self.client.create_secret(Name=name, SecretString=value)
        self.forget(account_id)

    def get(self, account_id: str) -> VenueCredentials | None:
        """The account's credentials (cached for ``CACHE_SECONDS``), None when it has none."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(account_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            value = self.client.get_secret_value(SecretId=self.name(account_id))
        except self.client.exceptions.ResourceNotFoundException:
            credentials = None
        else:
            data = json.loads(value["SecretString"])
            credentials = VenueCredentials(
                key_id=data["key_id"],
                secret=data["secret"],
                mode=VenueMode(data.get("mode") or "paper"),
                exchange=data.get("exchange"),
                base_url=data.get("base_url"),
            )
        with self._lock:
            self._cache[account_id] = (now + CACHE_SECONDS, credentials)
        return credentials

    def delete(self, account_id: str) -> None:
        """Remove the account's credentials at once (no recovery window): back to paper."""
        with contextlib.suppress(self.client.exceptions.ResourceNotFoundException):
            self.client.delete_secret(
                SecretId=self.name(account_id), ForceDeleteWithoutRecovery=True
            )
        self.forget(account_id)

    def forget(self, account_id: str) -> None:
        with self._lock:
            self._cache.pop(account_id, None)


def masked(key_id: str) -> str:
    """A key id as GET /v1/account/gateway shows it: its last 4 characters."""
    return "*" * max(len(key_id) - 4, 4) + key_id[-4:]

"""API keys in DynamoDB (table ``apikeys``), with a short per-container revocation cache."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from redfire_core.adapters import models as m
from redfire_core.config import Settings, get_settings
from redfire_core.domain.keys import ApiKey
from redfire_core.events import iso, parse_iso

# How long a container trusts that a key is not revoked. A revocation takes effect at
# once in the container that made it and within this many seconds everywhere else.
REVOCATION_CACHE_SECONDS = 5.0


class ApiKeyStore:
    def __init__(self, settings: Settings | None = None) -> None:
        m.bind(settings or get_settings())
        self._live: dict[str, float] = {}
        self._lock = threading.Lock()

    def create(self, key: ApiKey) -> None:
        self._item(key).save(condition=m.ApiKeyItem.pk.does_not_exist())

    def get(self, key_id: str) -> ApiKey | None:
        try:
            item = m.ApiKeyItem.get(key_id, "KEY", consistent_read=True)
        except DoesNotExist:
            return None
        return _key_from_item(item)

    def list_for(self, account_id: str) -> list[ApiKey]:
        return [_key_from_item(i) for i in m.ApiKeyItem.by_account.query(account_id)]

    def revoke(self, key: ApiKey, now: datetime) -> None:
        item = self._item(key)
        item.revoked_at = iso(now)
        item.save()
        with self._lock:
            self._live.pop(key.key_id, None)

    def is_live(self, key_id: str) -> bool:
        """True for an existing, unrevoked key (cached briefly: this runs per request)."""
        now = time.monotonic()
        with self._lock:
            checked = self._live.get(key_id)
        if checked is not None and now - checked < REVOCATION_CACHE_SECONDS:
            return True
        key = self.get(key_id)
        if key is None or key.is_revoked:
            return False
        with self._lock:
            self._live[key_id] = now
        return True

    @staticmethod
    def _item(key: ApiKey) -> m.ApiKeyItem:
        return m.ApiKeyItem(
            key.key_id,
            "KEY",
            account_id=key.account_id,
            name=key.name,
            scopes=json.dumps(sorted(key.scopes)),
            secret_hash=key.secret_hash,
            salt=key.salt,
            created_at=iso(key.created_at),
            created_by=key.created_by,
            revoked_at=iso(key.revoked_at) if key.revoked_at else None,
            gsi1pk=key.account_id,
            gsi1sk=f"{iso(key.created_at)}#{key.key_id}",
        )


def _key_from_item(item: m.ApiKeyItem) -> ApiKey:
    return ApiKey(
        key_id=item.pk,
        account_id=item.account_id,
        name=item.name,
        scopes=frozenset(json.loads(item.scopes)),
        secret_hash=item.secret_hash,
        salt=item.salt,
        created_at=parse_iso(item.created_at),
        created_by=item.created_by,
        revoked_at=parse_iso(item.revoked_at) if item.revoked_at else None,
    )

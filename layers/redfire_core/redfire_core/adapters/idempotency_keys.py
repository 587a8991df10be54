"""Idempotency-Key records of the HTTP API, in the ``idempotency`` table.

A request claims its key with a conditional put (``in_progress``); when it is done the
record holds the response (``completed``) for 24 hours, so the same request again is
answered from it. A record belongs to one caller: its id is ``IDEMPOTENCY#`` and a hash of
the account, the principal (token subject), the method, the path and the key, so neither
another caller nor another route ever reaches it, and it cannot collide with Powertools'
records or the rate-limit windows that share the table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.models import Model

from redfire_core.adapters import models as m
from redfire_core.config import Settings, get_settings

IN_PROGRESS = "in_progress"
COMPLETED = "completed"
RECORD_TTL_SECONDS = 24 * 3600
# Longer than the API function's timeout (29 s): a claim older than this is abandoned.
IN_PROGRESS_SECONDS = 30


class IdempotencyKeyItem(Model):
    class Meta:
        table_name = "idempotency"  # bound to the stage's table by IdempotencyKeys

    id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    request_hash = UnicodeAttribute()
    expiration = NumberAttribute()  # epoch seconds; the table's TTL attribute
    in_progress_expiry = NumberAttribute(null=True)  # epoch seconds
    status_code = NumberAttribute(null=True)
    body = UnicodeAttribute(null=True)
    headers = UnicodeAttribute(null=True)  # JSON object


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyRecord:
    id: str
    status: str
    request_hash: str
    response: StoredResponse | None

    @property
    def completed(self) -> bool:
        return self.status == COMPLETED and self.response is not None


def record_id(account_id: str, principal: str, method: str, path: str, key: str) -> str:
    """The record of ``key`` for this caller and route (hashed: the parts are caller input,
    of any length, and may hold ``#``)."""
    parts = json.dumps([account_id, principal, method.upper(), path, key])
    return "IDEMPOTENCY#" + hashlib.sha256(parts.encode()).hexdigest()


class IdempotencyKeys:
    """Claim, complete, release and read Idempotency-Key records."""

    def __init__(self, settings: Settings | None = None) -> None:
        m.bind_model(IdempotencyKeyItem, "idempotency", settings or get_settings())

    def claim(self, record: str, request_hash: str, now: datetime) -> bool:
        """True if this request now owns the key: it was free, expired, or claimed by the
        same request whose attempt was abandoned (its in-progress window has passed)."""
        moment = int(now.timestamp())
        item = IdempotencyKeyItem(
            record,
            status=IN_PROGRESS,
            request_hash=request_hash,
            expiration=moment + RECORD_TTL_SECONDS,
            in_progress_expiry=moment + IN_PROGRESS_SECONDS,
        )
        abandoned = (
            (IdempotencyKeyItem.status == IN_PROGRESS)
            & (IdempotencyKeyItem.in_progress_expiry < moment)
            & (IdempotencyKeyItem.request_hash == request_hash)
        )
        condition = (
            IdempotencyKeyItem.id.does_not_exist()
            | (IdempotencyKeyItem.expiration < moment)
            | abandoned
        )
        try:
            item.save(condition=condition)
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, record: str, now: datetime) -> KeyRecord | None:
        """The live record of the key; an expired one (TTL deletes lazily) counts as none."""
        try:
            item = IdempotencyKeyItem.get(record, consistent_read=True)
        except DoesNotExist:
            return None
        if item.expiration < int(now.timestamp()):
            return None
        response = None
        if item.status == COMPLETED and item.status_code is not None:
            response = StoredResponse(
                status_code=int(item.status_code),
                body=item.body or "",
                headers=json.loads(item.headers) if item.headers else {},
            )
        return KeyRecord(item.id, item.status, item.request_hash, response)

    def complete(
        self, record: str, request_hash: str, response: StoredResponse, now: datetime
    ) -> None:
        """Keep the response for the key's lifetime (24 hours from now)."""
        IdempotencyKeyItem(
            record,
            status=COMPLETED,
            request_hash=request_hash,
            expiration=int(now.timestamp()) + RECORD_TTL_SECONDS,
            status_code=response.status_code,
            body=response.body,
            headers=json.dumps(response.headers),
        ).save()

    def release(self, record: str) -> None:
        """Give the key up (the request failed on our side): the client may retry it."""
        IdempotencyKeyItem(record).delete()

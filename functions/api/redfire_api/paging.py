"""List paging shared by the routes: ``limit`` and an opaque ``cursor`` in the query.

A cursor the API hands out is the store's position (``redfire_core.adapters.paging``)
sealed with an HMAC bound to the list (its route) and the caller's account, under a key
derived from the stage's token signing secret. A cursor that does not verify, forged,
edited, or issued by another list or to another account, is 422 ``REQUEST_INVALID``
before any store sees it, so what reaches a DynamoDB query is only what we issued.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated, TypeVar

from fastapi import Query

from redfire_api.problems import Problem, invalid
from redfire_api.security import signing_secret
from redfire_core.adapters.paging import decode_cursor, encode_cursor
from redfire_core.auth import signing_keys
from redfire_core.snapstart import forget_on_restore

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=500, description="at most this many items")]
Cursor = Annotated[
    str | None, Query(max_length=1024, description="next_cursor of the previous page")
]
# A separate key per purpose: a cursor's MAC can never pass for a token signature.
_KEY_LABEL = b"redfire cursor v1"
_MAC_BYTES = 20  # 160 bits, truncated HMAC-SHA256


def bad_cursor() -> Problem:
    return invalid("cursor", "not a cursor this API issued")


@contextmanager
def cursor_checked() -> Iterator[None]:
    """Turn the store's refusal of a cursor into a 422 that names it."""
    try:
        yield
    except ValueError:
        raise bad_cursor() from None


@forget_on_restore
@lru_cache(maxsize=4)
def _cursor_keys(secret: str) -> tuple[bytes, ...]:
    """Cursor keys derived from the signing secret's keys (current first, then the previous
    one during a rotation); cached per secret value, so per container between refreshes."""
    return tuple(hmac.digest(key.encode(), _KEY_LABEL, "sha256") for key in signing_keys(secret))


def _signature(key: bytes, route: str, account_id: str, position: str) -> str:
    message = "\x00".join((route, account_id, position)).encode()
    mac = hmac.digest(key, message, "sha256")[:_MAC_BYTES]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def seal(position: str | None, route: str, account_id: str) -> str | None:
    """The cursor for the client: the store's ``position``, signed for this list and account."""
    if position is None:
        return None
    return (
        f"{position}.{_signature(_cursor_keys(signing_secret())[0], route, account_id, position)}"
    )


def unseal(cursor: str | None, route: str, account_id: str) -> str | None:
    """The store's position in a cursor this API issued for ``route`` and ``account_id``;
    422 for anything else (malformed, edited, another list's or another account's)."""
    if not cursor:
        return None
    position, dot, signature = cursor.rpartition(".")
    if not dot or not position or not cursor.isascii():
        raise bad_cursor()
    for key in _cursor_keys(signing_secret()):
        if hmac.compare_digest(signature, _signature(key, route, account_id, position)):
            return position
    raise bad_cursor()


def offset_page(
    items: Sequence[T], limit: int, cursor: str | None, route: str, account_id: str
) -> tuple[list[T], str | None]:
    """A page of a list held in full (instruments, positions): the cursor is an offset."""
    start = 0
    position = unseal(cursor, route, account_id)
    if position:
        with cursor_checked():
            key = decode_cursor(position) or {}
        offset = key.get("offset")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise bad_cursor()
        start = offset
    end = start + limit
    next_position = encode_cursor({"offset": end}) if end < len(items) else None
    return list(items[start:end]), seal(next_position, route, account_id)

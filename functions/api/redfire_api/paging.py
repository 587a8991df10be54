"""List paging shared by the routes: ``limit`` and an opaque ``cursor`` in the query."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, TypeVar

from fastapi import Query

from redfire_api.problems import Problem, invalid
from redfire_core.adapters.paging import decode_cursor, encode_cursor

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=500, description="at most this many items")]
Cursor = Annotated[
    str | None, Query(max_length=1024, description="next_cursor of the previous page")
]


def bad_cursor() -> Problem:
    return invalid("cursor", "not a cursor this API issued")


@contextmanager
def cursor_checked() -> Iterator[None]:
    """Turn the store's refusal of a cursor into a 422 that names it."""
    try:
        yield
    except ValueError:
        raise bad_cursor() from None


def offset_page(items: Sequence[T], limit: int, cursor: str | None) -> tuple[list[T], str | None]:
    """A page of a list held in full (instruments, positions): the cursor is an offset."""
    start = 0
    if cursor:
        with cursor_checked():
            key = decode_cursor(cursor) or {}
        offset = key.get("offset")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise bad_cursor()
        start = offset
    end = start + limit
    next_cursor = encode_cursor({"offset": end}) if end < len(items) else None
    return list(items[start:end]), next_cursor

"""Opaque list cursors: DynamoDB's LastEvaluatedKey, base64-encoded JSON."""

from __future__ import annotations

import base64
import json
from typing import Any


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise ValueError("invalid cursor") from None
    if not isinstance(key, dict):
        raise ValueError("invalid cursor")
    return key

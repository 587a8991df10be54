"""What survives a restart of ``redfire dev``: every table's items and the JWT secret.

Saved on a clean shutdown to ``.redfire/state.json`` as DynamoDB-typed JSON (binary
values in base64), restored on the next start. Queue messages in flight and the stream
are not saved: an event between two services when you stop is lost, as it would be if
you deleted the queue; outbox rows not yet published are saved and get published again.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redfire_cli.localcloud import dev_env
from redfire_core.resources import Declaration

FORMAT_VERSION = 1
BATCH_WRITE_LIMIT = 25


@dataclass
class SavedState:
    jwt_secret: str | None = None
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by logical name


def load(path: Path) -> SavedState:
    """The saved state, or an empty one when there is none."""
    if not path.exists():
        return SavedState()
    document = json.loads(path.read_text())
    if document.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unknown state format {document.get('version')!r}")
    return SavedState(
        jwt_secret=document.get("jwt_secret"),
        tables={
            name: [_decode_item(i) for i in items] for name, items in document["tables"].items()
        },
    )


def save(path: Path, state: SavedState) -> None:
    """Write atomically (a crash never leaves half a file), owner-only (it holds the secret)."""
    document = {
        "version": FORMAT_VERSION,
        "saved_at": datetime.now(UTC).isoformat(),
        "jwt_secret": state.jwt_secret,
        "tables": {name: [_encode_item(i) for i in items] for name, items in state.tables.items()},
    }
    temporary = path.with_suffix(".tmp")
    dev_env.write_private(temporary, json.dumps(document, indent=1, sort_keys=True))
    os.replace(temporary, path)


def capture(declaration: Declaration, dynamodb: Any, jwt_secret: str) -> SavedState:
    """Scan every declared table."""
    state = SavedState(jwt_secret=jwt_secret)
    for table in declaration.tables.values():
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=declaration.name(table.logical)
        ):
            items.extend(page.get("Items", []))
        state.tables[table.logical] = items
    return state


def restore(declaration: Declaration, dynamodb: Any, state: SavedState) -> int:
    """Write the saved items back into the (fresh) declared tables; how many."""
    restored = 0
    for logical, items in state.tables.items():
        if logical not in declaration.tables:
            continue  # a table that no longer exists in the declaration
        name = declaration.name(logical)
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            requests = [
                {"PutRequest": {"Item": i}} for i in items[start : start + BATCH_WRITE_LIMIT]
            ]
            pending: dict[str, Any] = {name: requests}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get(
                    "UnprocessedItems", {}
                )
        restored += len(items)
    return restored


def _encode_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _encode_value(value) for name, value in item.items()}


def _decode_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _decode_value(value) for name, value in item.items()}


def _encode_value(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(v).decode() for v in inner]}
    if kind == "M":
        return {"M": _encode_item(inner)}
    if kind == "L":
        return {"L": [_encode_value(v) for v in inner]}
    return value


def _decode_value(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(v) for v in inner]}
    if kind == "M":
        return {"M": _decode_item(inner)}
    if kind == "L":
        return {"L": [_decode_value(v) for v in inner]}
    return value

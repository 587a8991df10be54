"""Append-only audit log: every record is created once and never changed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redfire_core.adapters import models as m
from redfire_core.adapters.paging import decode_cursor, encode_cursor
from redfire_core.config import Settings, get_settings
from redfire_core.domain.account_ids import PLATFORM_KEY
from redfire_core.events import iso, new_id


class AuditLog:
    def __init__(self, settings: Settings | None = None) -> None:
        m.bind(settings or get_settings())

    def record(
        self,
        *,
        account_id: str | None,
        actor: str,
        action: str,
        detail: dict[str, Any],
        now: datetime,
        reason: str | None = None,
        object_id: str | None = None,
    ) -> None:
        item = m.AuditItem(
            account_id or PLATFORM_KEY,
            f"{iso(now)}#{new_id()}",
            action=action,
            actor=actor,
            detail=json.dumps(detail, default=str),
            at=iso(now),
            reason=reason,
            object_id=object_id,
        )
        # The condition makes an accidental overwrite fail instead of rewriting history.
        item.save(condition=m.AuditItem.pk.does_not_exist())

    def list(
        self, account_id: str, limit: int, cursor: str | None
    ) -> tuple[list[AuditRecord], str | None]:
        """An account's records, newest first, with the cursor of the next page."""
        results = m.AuditItem.query(
            account_id,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
        )
        records = [
            AuditRecord(
                action=item.action,
                actor=item.actor,
                at=item.at,
                reason=item.reason,
                object_id=item.object_id,
                detail=json.loads(item.detail),
            )
            for item in results
        ]
        return records, encode_cursor(results.last_evaluated_key)


@dataclass(frozen=True)
class AuditRecord:
    action: str
    actor: str
    at: str
    reason: str | None
    object_id: str | None
    detail: dict[str, Any]

"""Append-only audit log: every record is created once and never changed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from redfire_core.adapters import models as m
from redfire_core.config import Settings, get_settings
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
    ) -> None:
        item = m.AuditItem(
            account_id or "PLATFORM",
            f"{iso(now)}#{new_id()}",
            action=action,
            actor=actor,
            detail=json.dumps(detail, default=str),
            at=iso(now),
        )
        # The condition makes an accidental overwrite fail instead of rewriting history.
        item.save(condition=m.AuditItem.pk.does_not_exist())

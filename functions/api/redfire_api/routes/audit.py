"""The account's audit log, for its admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from redfire_api.deps import audit_log
from redfire_api.paging import cursor_checked, seal, unseal
from redfire_api.security import require
from redfire_core.auth import Principal

router = APIRouter(prefix="/v1/audit", tags=["audit"])
LIST = "/v1/audit"  # what its cursors are bound to


class AuditView(BaseModel):
    action: str
    actor: str
    at: str
    reason: str | None
    object_id: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditView]
    next_cursor: str | None


@router.get("", response_model=AuditPage)
def list_audit(
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = Query(None, max_length=2048),
    principal: Principal = Depends(require("admin")),
) -> AuditPage:
    position = unseal(cursor, LIST, principal.account_id)
    with cursor_checked():
        records, next_position = audit_log().list(principal.account_id, limit, position)
    next_cursor = seal(next_position, LIST, principal.account_id)
    return AuditPage(items=[AuditView(**vars(r)) for r in records], next_cursor=next_cursor)

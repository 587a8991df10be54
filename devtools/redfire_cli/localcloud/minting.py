"""Minting a local developer token, with an audit record (``redfire token`` and ``redfire dev``)."""

from __future__ import annotations

from datetime import datetime

TOKEN_SUBJECT = "local-developer"


def mint_token(secret: str, *, account_id: str, role: str, actor: str, now: datetime) -> str:
    """Issue a token with the stage's settings and leave an audit record of it."""
    from redfire_core.adapters.audit_log import AuditLog
    from redfire_core.auth import issue_token
    from redfire_core.config import get_settings
    from redfire_core.domain.roles import Role

    token = issue_token(
        secret,
        account_id=account_id,
        role=Role(role),
        subject=TOKEN_SUBJECT,
        settings=get_settings(),
        now=now,
    )
    AuditLog().record(
        account_id=account_id, actor=actor, action="token.issued", detail={"role": role}, now=now
    )
    return token

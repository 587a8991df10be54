"""Creating, listing and revoking API keys, and exchanging a key for a token."""

from __future__ import annotations

from datetime import datetime

from redfire_core.adapters.api_keys import ApiKeyStore
from redfire_core.adapters.audit_log import AuditLog
from redfire_core.auth import Principal, issue_token
from redfire_core.config import Settings
from redfire_core.domain.errors import DomainError
from redfire_core.domain.keys import (
    KEY_PREFIX,
    ApiKey,
    check_scopes,
    hash_secret,
    new_salt,
    new_secret,
    secret_matches,
)
from redfire_core.events import new_id

UNKNOWN_KEY_SALT = "00" * 16


def create_key(
    keys: ApiKeyStore,
    audit: AuditLog,
    principal: Principal,
    *,
    name: str,
    scopes: set[str],
    now: datetime,
) -> tuple[ApiKey, str]:
    """A new key of the caller's account and its secret (returned here, never again)."""
    granted = check_scopes(scopes, principal.scopes)
    secret, salt = new_secret(), new_salt()
    key = ApiKey(
        key_id=KEY_PREFIX + new_id().lower(),
        account_id=principal.account_id,
        name=name,
        scopes=granted,
        secret_hash=hash_secret(secret, salt),
        salt=salt,
        created_at=now,
        created_by=principal.subject,
    )
    keys.create(key)
    audit.record(
        account_id=principal.account_id,
        actor=principal.subject,
        action="key.created",
        detail={"name": name, "scopes": sorted(granted)},
        now=now,
        object_id=key.key_id,
    )
    return key, secret


def revoke_key(
    keys: ApiKeyStore,
    audit: AuditLog,
    principal: Principal,
    key_id: str,
    *,
    now: datetime,
    reason: str | None = None,
) -> ApiKey:
    key = keys.get(key_id)
    if key is None or key.account_id != principal.account_id:
        raise DomainError("KEY_NOT_FOUND", f"no key {key_id!r}")
    if not key.is_revoked:
        keys.revoke(key, now)
        audit.record(
            account_id=principal.account_id,
            actor=principal.subject,
            action="key.revoked",
            detail={"name": key.name},
            now=now,
            reason=reason,
            object_id=key_id,
        )
    return keys.get(key_id) or key


def exchange(
    keys: ApiKeyStore,
    secret_value: str,
    settings: Settings,
    *,
    key_id: str,
    secret: str,
    now: datetime,
) -> str:
    """A 30-minute token for a live key whose secret matches; the same refusal otherwise."""
    key = keys.get(key_id) if key_id.startswith(KEY_PREFIX) else None
    if key is None:
        hash_secret(secret, UNKNOWN_KEY_SALT)  # the same work, so timing tells nothing
    if key is None or key.is_revoked or not secret_matches(key, secret):
        raise DomainError("UNAUTHORIZED", "the key id or secret is not valid")
    return issue_token(
        secret_value,
        account_id=key.account_id,
        role=key.role,
        subject=key.key_id,
        settings=settings,
        now=now,
        scopes=sorted(key.scopes),
    )

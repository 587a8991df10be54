"""Creating, listing and revoking API keys, and exchanging a key for a token."""

from __future__ import annotations

import hmac
from datetime import datetime

from redfire_core.adapters.api_keys import ApiKeyStore
from redfire_core.adapters.audit_log import AuditLog
from redfire_core.auth import Principal, issue_token
from redfire_core.config import Settings
from redfire_core.domain.errors import DomainError
from redfire_core.domain.keys import (
    KEY_PREFIX,
    ApiKey,
    check_revoker,
    check_scopes,
    hash_secret,
    new_salt,
    new_secret,
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
    """Revoke a key of the caller's account: its admin for account keys, an operator for
    operator keys (403 otherwise; 404 for another account's key or none)."""
    key = keys.get(key_id)
    if key is None or key.account_id != principal.account_id:
        raise DomainError("KEY_NOT_FOUND", f"no key {key_id!r}")
    check_revoker(key, principal.scopes)
    return _revoke(keys, audit, key, actor=principal.subject, now=now, reason=reason)


def revoke_any_key(
    keys: ApiKeyStore,
    audit: AuditLog,
    key_id: str,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> ApiKey:
    """Revoke any key, of any account and scope: for holders of the stage's AWS
    credentials (``redfire admin revoke-key``), the way out when an operator key leaks."""
    key = keys.get(key_id)
    if key is None:
        raise DomainError("KEY_NOT_FOUND", f"no key {key_id!r}")
    return _revoke(keys, audit, key, actor=actor, now=now, reason=reason)


def _revoke(
    keys: ApiKeyStore,
    audit: AuditLog,
    key: ApiKey,
    *,
    actor: str,
    now: datetime,
    reason: str | None,
) -> ApiKey:
    if not key.is_revoked:
        keys.revoke(key, now)
        audit.record(
            account_id=key.account_id,
            actor=actor,
            action="key.revoked",
            detail={"name": key.name, "scopes": sorted(key.scopes)},
            now=now,
            reason=reason,
            object_id=key.key_id,
        )
    return keys.get(key.key_id) or key


def check_key(keys: ApiKeyStore, key_id: str, secret: str) -> ApiKey:
    """The live key whose secret matches; the same refusal otherwise.

    Exactly one scrypt hash whatever the key id (unknown, revoked or live), so the answer's
    timing does not tell them apart."""
    key = keys.get(key_id) if key_id.startswith(KEY_PREFIX) else None
    computed = hash_secret(secret, key.salt if key is not None else UNKNOWN_KEY_SALT)
    matches = key is not None and hmac.compare_digest(computed, key.secret_hash)
    if key is None or not matches or key.is_revoked:
        raise DomainError("UNAUTHORIZED", "the key id or secret is not valid")
    return key


def exchange(
    keys: ApiKeyStore,
    secret_value: str,
    settings: Settings,
    *,
    key_id: str,
    secret: str,
    now: datetime,
) -> str:
    """A 30-minute token for a live key whose secret matches (``check_key``)."""
    key = check_key(keys, key_id, secret)
    return issue_token(
        secret_value,
        account_id=key.account_id,
        role=key.role,
        subject=key.key_id,
        settings=settings,
        now=now,
        scopes=sorted(key.scopes),
    )

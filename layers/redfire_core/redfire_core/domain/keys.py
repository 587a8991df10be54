"""API keys: what a key may do, and how its secret is checked without being stored.

The secret is shown once; only a salted scrypt hash is kept (memory-hard, so a
leaked table does not give the secrets away cheaply).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from redfire_core.domain.errors import DomainError
from redfire_core.domain.roles import ROLE_SCOPES, Role

ACCOUNT_SCOPES = frozenset({"read", "trade", "admin"})
PLATFORM_SCOPES = frozenset({"operator"})
KEY_PREFIX = "key_"
# scrypt cost: ~16 MiB and tens of milliseconds per check; the check runs only when a
# key is exchanged for a token, never per request.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    account_id: str
    name: str
    scopes: frozenset[str]
    secret_hash: str
    salt: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def role(self) -> Role:
        """The smallest role that holds all of the key's scopes."""
        for role in (Role.VIEWER, Role.TRADER, Role.ADMIN, Role.OPERATOR):
            if self.scopes <= set(ROLE_SCOPES[role]):
                return role
        raise DomainError("KEY_INVALID", "the key's scopes fit no role")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_salt() -> str:
    return secrets.token_hex(16)


def hash_secret(secret: str, salt: str) -> str:
    digest = hashlib.scrypt(
        secret.encode(), salt=bytes.fromhex(salt), n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return digest.hex()


def check_scopes(requested: set[str], granter_scopes: frozenset[str]) -> frozenset[str]:
    """The scopes a new key may get: account scopes the granter holds (admin only), or the
    operator scope for platform keys (operators only); never a mix."""
    if not requested:
        raise DomainError("KEY_SCOPES_INVALID", "a key needs at least one scope", "scopes")
    unknown = requested - ACCOUNT_SCOPES - PLATFORM_SCOPES
    if unknown:
        raise DomainError("KEY_SCOPES_INVALID", f"unknown scope {sorted(unknown)[0]!r}", "scopes")
    if requested & PLATFORM_SCOPES:
        if requested - PLATFORM_SCOPES:
            raise DomainError(
                "KEY_SCOPES_INVALID", "operator keys carry only the operator scope", "scopes"
            )
        if "operator" not in granter_scopes:
            raise DomainError("FORBIDDEN", "only an operator can create operator keys")
        return frozenset(requested)
    if "admin" not in granter_scopes:
        raise DomainError("FORBIDDEN", "only the account's admin can create keys")
    return frozenset(requested)


def check_revoker(key: ApiKey, revoker_scopes: frozenset[str]) -> None:
    """Who may revoke ``key`` over the API: an operator for operator keys, the account's
    admin for account keys (the same rule as for creating them)."""
    if key.scopes & PLATFORM_SCOPES:
        if "operator" not in revoker_scopes:
            raise DomainError("FORBIDDEN", "only an operator can revoke operator keys")
    elif "admin" not in revoker_scopes:
        raise DomainError("FORBIDDEN", "only the account's admin can revoke its keys")

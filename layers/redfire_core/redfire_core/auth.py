"""Bearer tokens: HS256 JWTs with a 30-minute life, as the original design had.

Roles map to scopes; a token carries both. The signing secret lives in Secrets
Manager and is fetched lazily, then cached per container for a few minutes so a
rotation reaches every container without a redeploy.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from redfire_core.config import Settings
from redfire_core.events import new_id

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "account_id", "role", "scopes", "iat", "exp", "iss", "aud", "jti")
LEEWAY_SECONDS = 30


class Role(StrEnum):
    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"
    OPERATOR = "operator"


ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.VIEWER: ("read",),
    Role.TRADER: ("read", "trade"),
    Role.ADMIN: ("read", "trade", "admin"),
    Role.OPERATOR: ("operator",),
}


class InvalidToken(Exception):
    """The token is missing, malformed, expired or not ours (deliberately not saying which)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    account_id: str
    role: Role
    scopes: frozenset[str]
    token_id: str

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def signing_keys(secret: str) -> list[str]:
    """The HMAC keys in a secret value: a plain string, or, during a rotation,
    ``{"current": ..., "previous": ...}`` so tokens signed with either stay valid."""
    if secret.startswith("{"):
        try:
            value = json.loads(secret)
        except ValueError:
            return [secret]
        if isinstance(value, dict) and isinstance(value.get("current"), str):
            previous = value.get("previous")
            return [value["current"], *([previous] if isinstance(previous, str) else [])]
    return [secret]


def key_fingerprint(key: str) -> str:
    """Names a signing key in the token header (``kid``) without revealing it."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def issue_token(
    secret: str,
    *,
    account_id: str,
    role: Role,
    subject: str,
    settings: Settings,
    now: datetime,
    scopes: Sequence[str] | None = None,
) -> str:
    """A signed token; ``scopes`` narrows the role's (an API key may hold fewer)."""
    granted = list(ROLE_SCOPES[role]) if scopes is None else list(scopes)
    if not set(granted) <= set(ROLE_SCOPES[role]):
        raise ValueError("scopes exceed the role")
    claims: dict[str, Any] = {
        "sub": subject,
        "account_id": account_id,
        "role": role.value,
        "scopes": granted,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.token_ttl_seconds)).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": new_id(),
    }
    key = signing_keys(secret)[0]
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": key_fingerprint(key)})


def verify_token(token: str, secret: str, settings: Settings) -> Principal:
    """The principal of a valid token; ``InvalidToken`` for anything else."""
    try:
        keys = signing_keys(secret)
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in keys if key_fingerprint(k) == kid), keys[0])
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],  # pinned: refuses "none" and algorithm confusion
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": list(REQUIRED_CLAIMS)},
        )
        role = Role(claims["role"])
        scopes = claims["scopes"]
        if not isinstance(scopes, list) or not set(scopes) <= set(ROLE_SCOPES[role]):
            raise InvalidToken("scopes exceed the role")
        return Principal(
            subject=str(claims["sub"]),
            account_id=str(claims["account_id"]),
            role=role,
            scopes=frozenset(str(s) for s in scopes),
            token_id=str(claims["jti"]),
        )
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as error:
        raise InvalidToken(str(error)) from None


class SecretCache:
    """The JWT secret from Secrets Manager, refreshed every ``ttl_seconds``."""

    def __init__(self, secret_id: str, ttl_seconds: float = 300) -> None:
        self.secret_id = secret_id
        self.ttl_seconds = ttl_seconds
        self._value: str | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self._value is None or time.monotonic() - self._fetched_at > self.ttl_seconds:
                self._value = self._fetch()
                self._fetched_at = time.monotonic()
            return self._value

    def _fetch(self) -> str:
        import boto3  # lazy: only the API function pays for the client

        client = boto3.client("secretsmanager")
        return str(client.get_secret_value(SecretId=self.secret_id)["SecretString"])

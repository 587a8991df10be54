"""Bearer-token authentication and scope checks, as FastAPI dependencies."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache

from fastapi import Request

from redfire_api.deps import api_keys
from redfire_api.problems import Problem
from redfire_core.adapters.rate_limits import RateLimiter
from redfire_core.auth import (
    InvalidToken,
    JwksCache,
    Principal,
    SecretCache,
    jwks_from_settings,
    verify_token,
)
from redfire_core.config import get_settings
from redfire_core.domain.keys import KEY_PREFIX


def unauthorized() -> Problem:
    """The same answer for every failed check, so it hints at none of them."""
    return Problem(
        401,
        "UNAUTHORIZED",
        "a valid bearer token is required",
        headers={"WWW-Authenticate": 'Bearer realm="redfire"'},
    )


@cache
def _secret() -> SecretCache:
    return SecretCache(get_settings().declaration.jwt_secret_name)


@cache
def _jwks() -> JwksCache | None:
    return jwks_from_settings(get_settings())


@cache
def _rate_limiter() -> RateLimiter:
    return RateLimiter(get_settings().rate_limit_per_second)


def authenticate(request: Request) -> Principal:
    """The token's principal: a valid signature and claims, a key not revoked (also for
    tokens issued before the revocation), and the caller within its request rate."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    try:
        principal = verify_token(token.strip(), _secret().get(), get_settings(), _jwks())
    except InvalidToken:
        raise unauthorized() from None
    if principal.subject.startswith(KEY_PREFIX) and not api_keys().is_live(principal.subject):
        raise unauthorized()
    if not _rate_limiter().allow(principal.subject, int(time.time())):
        raise Problem(
            429,
            "RATE_LIMITED",
            "too many requests for this key; retry shortly",
            headers={"Retry-After": "1"},
        )
    return principal


def signing_secret() -> str:
    return _secret().get()


def require(scope: str) -> Callable[[Request], Principal]:
    """A dependency that authenticates and demands ``scope`` (403 when it is missing)."""

    def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if not principal.has_scope(scope):
            raise Problem(403, "FORBIDDEN", f"this action needs the {scope!r} scope")
        return principal

    return dependency


def require_any(*scopes: str) -> Callable[[Request], Principal]:
    """A dependency that authenticates and demands at least one of ``scopes``."""

    def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if not any(principal.has_scope(scope) for scope in scopes):
            wanted = " or ".join(repr(scope) for scope in scopes)
            raise Problem(403, "FORBIDDEN", f"this action needs the {wanted} scope")
        return principal

    return dependency

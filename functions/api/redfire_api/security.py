"""Bearer-token authentication and scope checks, as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from fastapi import Request

from redfire_api.problems import Problem
from redfire_core.auth import InvalidToken, Principal, SecretCache, verify_token
from redfire_core.config import get_settings


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


def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    try:
        return verify_token(token.strip(), _secret().get(), get_settings())
    except InvalidToken:
        raise unauthorized() from None


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

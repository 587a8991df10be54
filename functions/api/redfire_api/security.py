"""Bearer-token authentication and scope checks, as FastAPI dependencies, and the
throttle of the token exchange."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, compile_path

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
from redfire_core.services.key_checks import (
    KeyThrottled,
    caller_address,
    key_principal,
    throttle_attempt,
)
from redfire_core.snapstart import forget_on_restore

# The outcome of authenticating a request (a Principal or the Problem), kept on its ASGI
# scope: the idempotency middleware and the route's dependency then share one check and
# one count against the rate limit.
_OUTCOME = "redfire.authentication"
# Alpaca's key headers (the `/v2` routes' clients send them instead of a bearer token).
ALPACA_KEY_HEADER = "apca-api-key-id"
ALPACA_SECRET_HEADER = "apca-api-secret-key"


def unauthorized() -> Problem:
    """The same answer for every failed check, so it hints at none of them."""
    return Problem(
        401,
        "UNAUTHORIZED",
        "a valid bearer token is required",
        headers={"WWW-Authenticate": 'Bearer realm="redfire"'},
    )


@forget_on_restore
@cache
def _secret() -> SecretCache:
    return SecretCache(get_settings().declaration.jwt_secret_name)


@forget_on_restore
@cache
def _jwks() -> JwksCache | None:
    return jwks_from_settings(get_settings())


@forget_on_restore
@cache
def _rate_limiter() -> RateLimiter:
    settings = get_settings()
    return RateLimiter(settings.rate_limit_per_second, lease=settings.rate_limit_lease)


def authenticate(request: Request) -> Principal:
    """The token's principal: a valid signature and claims, a key not revoked (also for
    tokens issued before the revocation), and the caller within its request rate.

    Once per request: a second call (the route after the idempotency middleware) gets the
    first call's principal or refusal, and the request counts once against the limit."""
    outcome = request.scope.get(_OUTCOME)
    if outcome is None:
        try:
            outcome = _authenticate(request)
        except Problem as problem:
            outcome = problem
        request.scope[_OUTCOME] = outcome
    if isinstance(outcome, Problem):
        raise outcome
    principal: Principal = outcome
    return principal


def _authenticate(request: Request) -> Principal:
    key_id = request.headers.get(ALPACA_KEY_HEADER)
    if key_id is not None:
        principal = _key_principal(request, key_id, request.headers.get(ALPACA_SECRET_HEADER, ""))
        check_rate(principal.subject)
        return principal
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
    check_rate(principal.subject)
    return principal


def _key_principal(request: Request, key_id: str, secret: str) -> Principal:
    """The principal of an API key sent in Alpaca's headers (redfire_core.services.key_checks)."""
    try:
        principal = key_principal(api_keys(), key_id, secret, source_address(request))
    except KeyThrottled as throttled:
        raise _throttled(throttled) from None
    if principal is None:
        raise unauthorized()
    return principal


def check_rate(caller: str) -> None:
    """Count one request of ``caller`` (a token subject); 429 once its second is full."""
    if not _rate_limiter().allow(caller, int(time.time())):
        raise Problem(
            429,
            "RATE_LIMITED",
            "too many requests for this key; retry shortly",
            headers={"Retry-After": "1"},
        )


def signing_secret() -> str:
    return _secret().get()


class ScopeRequirement:
    """A dependency that authenticates and demands one of ``scopes`` (403 when none is held).

    A class rather than a closure so the idempotency middleware can find a route's
    requirements and run them before it replays a kept answer (``authorize``)."""

    def __init__(self, *scopes: str) -> None:
        self.scopes = scopes

    def __call__(self, request: Request) -> Principal:
        principal = authenticate(request)
        if not any(principal.has_scope(scope) for scope in self.scopes):
            wanted = " or ".join(repr(scope) for scope in self.scopes)
            raise Problem(403, "FORBIDDEN", f"this action needs the {wanted} scope")
        return principal


def require(scope: str) -> ScopeRequirement:
    """A dependency that authenticates and demands ``scope`` (403 when it is missing)."""
    return ScopeRequirement(scope)


def require_any(*scopes: str) -> ScopeRequirement:
    """A dependency that authenticates and demands at least one of ``scopes``."""
    return ScopeRequirement(*scopes)


@dataclass(frozen=True)
class RouteRequirements:
    """The scope requirements one route declares, and how to recognise its requests."""

    path: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    requirements: tuple[ScopeRequirement, ...]


def route_requirements(routes: Sequence[BaseRoute]) -> list[RouteRequirements]:
    """Every API route's requirements, in the order the router tries them."""
    table = []
    for context in iter_route_contexts(routes):
        route, path = context.original_route, context.path
        if isinstance(route, APIRoute) and path is not None:
            pattern, _, _ = compile_path(path)
            requirements = tuple(_requirements(route.dependant))
            table.append(
                RouteRequirements(path, pattern, frozenset(route.methods or ()), requirements)
            )
    return table


def authorize(request: Request, table: Sequence[RouteRequirements]) -> None:
    """Run the scope requirements of the route that ``request`` reaches (the same 403 the
    route would give); nothing for a request that reaches no route."""
    for entry in table:
        if request.method in entry.methods and entry.pattern.match(request.scope["path"]):
            for requirement in entry.requirements:
                requirement(request)
            return


def _requirements(dependant: Dependant) -> Iterator[ScopeRequirement]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, ScopeRequirement):
            yield dependency.call
        yield from _requirements(dependency)


def source_address(request: Request) -> str:
    """Who is calling, for throttling: API Gateway's ``sourceIp`` (Mangum's ``client``),
    never ``X-Forwarded-For``, which the caller writes. An IPv6 caller gets a whole /64,
    since one host usually holds that many addresses."""
    return caller_address(request.client.host if request.client else "")


def throttle_token_exchange(request: Request, key_id: str) -> None:
    """Count one exchange attempt per source address and per (key id, address), before any
    hashing; 429 with Retry-After when either is over (redfire_core.services.key_checks)."""
    try:
        throttle_attempt(source_address(request), key_id)
    except KeyThrottled as throttled:
        raise _throttled(throttled) from None


def _throttled(throttled: KeyThrottled) -> Problem:
    return Problem(
        429,
        "RATE_LIMITED",
        "too many token requests from this address; retry later",
        headers={"Retry-After": str(throttled.retry_after)},
    )

"""Per-container ports and per-request context for the routes."""

from __future__ import annotations

from functools import cache

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from redfire_core.adapters.api_keys import ApiKeyStore
from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.idempotency_keys import IdempotencyKeys
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.events import new_id


@cache
def trading_store() -> TradingStore:
    return TradingStore()


@cache
def audit_log() -> AuditLog:
    return AuditLog()


@cache
def api_keys() -> ApiKeyStore:
    return ApiKeyStore()


@cache
def idempotency_keys() -> IdempotencyKeys:
    return IdempotencyKeys()


_CORRELATION_ID = "redfire.correlation_id"


def correlation_id(request: Request) -> str:
    """The request's correlation id (see ``correlation_id_of``)."""
    return correlation_id_of(request.scope)


def correlation_id_of(scope: Scope) -> str:
    """The caller's X-Correlation-Id when sane, else the API Gateway request id, else new;
    chosen once per request and kept on its scope, so the routes and the echoed header agree."""
    chosen = scope.get(_CORRELATION_ID)
    if chosen is None:
        chosen = scope[_CORRELATION_ID] = _choose(scope)
    return str(chosen)


def _choose(scope: Scope) -> str:
    given = ""
    for name, value in scope.get("headers") or ():
        if name == b"x-correlation-id":
            given = value.decode("latin-1")
            break
    if given and len(given) <= 128 and given.isascii() and given.isprintable():
        return given
    event = scope.get("aws.event") or {}
    return str(event.get("requestContext", {}).get("requestId") or new_id())


class CorrelationIdMiddleware:
    """Echoes the request's correlation id as ``X-Correlation-Id`` on every answer. Plain
    ASGI: Starlette's ``BaseHTTPMiddleware`` cost about 0.9 ms per request here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = correlation_id_of(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Correlation-Id"] = value
            await send(message)

        await self.app(scope, receive, send_with_id)

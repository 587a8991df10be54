"""Per-container ports and per-request context for the routes."""

from __future__ import annotations

from functools import cache

from fastapi import Request

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


def correlation_id(request: Request) -> str:
    """The caller's X-Correlation-Id when sane, else the API Gateway request id, else new."""
    given = request.headers.get("x-correlation-id", "")
    if given and len(given) <= 128 and given.isascii() and given.isprintable():
        return given
    event = request.scope.get("aws.event") or {}
    return str(event.get("requestContext", {}).get("requestId") or new_id())

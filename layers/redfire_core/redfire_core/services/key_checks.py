"""Checking an API key sent as a key id and secret: Alpaca's `/v2` key headers on the API,
Alpaca's stream ``authenticate`` on the WebSocket, and the token exchange's throttle.
One implementation for both functions, so a key is refused, throttled and kept alike.

A successful check is kept per container by a digest of key id and secret, so the scrypt
hash runs once per key and secret; a miss is throttled before any hashing, per source
address and per (key id, address), never per key id alone (key ids are not secret: that
would let anyone lock a key's owner out); revocation is checked on every use.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from functools import cache
from typing import TYPE_CHECKING

from redfire_core.auth import Principal
from redfire_core.config import get_settings
from redfire_core.domain.errors import DomainError
from redfire_core.domain.roles import ROLE_SCOPES
from redfire_core.snapstart import forget_on_restore

if TYPE_CHECKING:
    from redfire_core.adapters.api_keys import ApiKeyStore
    from redfire_core.adapters.rate_limits import RateLimiter


class KeyThrottled(Exception):
    """Too many attempts from this address (or for this key from it)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def caller_address(host: str) -> str:
    """The caller to throttle: its address, a whole /64 for IPv6 (one host usually holds
    that many addresses)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@forget_on_restore
@cache
def checked_keys() -> dict[bytes, Principal]:
    """Keys already checked in this container (digest of key id and secret -> principal)."""
    return {}


@forget_on_restore
@cache
def attempt_limiters() -> tuple[RateLimiter, RateLimiter]:
    """The throttles of key checks and token exchanges: per source address, and per
    (key id, address)."""
    from redfire_core.adapters.rate_limits import RateLimiter  # lazy: pynamodb

    settings = get_settings()
    return (
        RateLimiter(settings.token_exchanges_per_address_per_minute, window_seconds=60),
        RateLimiter(settings.token_exchanges_per_key_per_minute, window_seconds=60),
    )


def throttle_attempt(address: str, key_id: str) -> None:
    """Count one attempt of ``key_id`` from ``address``; KeyThrottled when over."""
    now = int(time.time())
    by_address, by_key = attempt_limiters()
    for limiter, caller in (
        (by_address, f"TOKEN#{address}"),
        (by_key, f"TOKEN#{address}#{key_id}"),
    ):
        if not limiter.allow(caller, now):
            raise KeyThrottled(limiter.retry_after(now))


def key_principal(keys: ApiKeyStore, key_id: str, secret: str, address: str) -> Principal | None:
    """The principal of a live key whose secret matches; None when refused. Raises
    KeyThrottled before hashing when the caller tried too often."""
    digest = hashlib.sha256(f"{key_id}\0{secret}".encode()).digest()
    principal = checked_keys().get(digest)
    if principal is None:
        throttle_attempt(address, key_id)
        from redfire_core.services.keys import check_key  # lazy: pynamodb

        try:
            key = check_key(keys, key_id, secret)
        except DomainError:
            return None
        scopes = frozenset(key.scopes) & frozenset(ROLE_SCOPES[key.role])
        principal = Principal(key.key_id, key.account_id, key.role, scopes, f"apca:{key.key_id}")
        checked_keys()[digest] = principal
    if not keys.is_live(key_id):
        return None
    return principal

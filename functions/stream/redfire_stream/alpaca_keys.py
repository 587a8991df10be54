"""The key check of Alpaca's stream ``authenticate``, as the `/v2` key headers are checked.

Its own module so the stream's wiring (which hands it to the service) and the WebSocket
handler both import it, neither importing the other.
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
from redfire_core.observability import count
from redfire_core.snapstart import forget_on_restore

if TYPE_CHECKING:
    from redfire_core.adapters.api_keys import ApiKeyStore
    from redfire_core.adapters.rate_limits import RateLimiter


@cache
def api_keys() -> ApiKeyStore:
    from redfire_core.adapters.api_keys import ApiKeyStore  # lazy: pynamodb on first use

    return ApiKeyStore()


@forget_on_restore
@cache
def checked_keys() -> dict[bytes, Principal]:
    """Alpaca keys already checked here (digest of key id and secret -> principal)."""
    return {}


@forget_on_restore
@cache
def key_limiters() -> tuple[RateLimiter, RateLimiter]:
    """The token exchange's throttles: per source address, and per (key id, address)."""
    from redfire_core.adapters.rate_limits import RateLimiter  # lazy: pynamodb

    settings = get_settings()
    return (
        RateLimiter(settings.token_exchanges_per_address_per_minute, window_seconds=60),
        RateLimiter(settings.token_exchanges_per_key_per_minute, window_seconds=60),
    )


def _address(source_ip: str) -> str:
    """The caller for throttling: its address (a whole /64 for IPv6), as on the API."""
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return source_ip or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def alpaca_principal(key_id: str, secret: str, source_ip: str) -> Principal | None:
    """The principal of an API key sent in Alpaca's ``authenticate``, checked as the `/v2`
    key headers are: a success is kept per container by key id and secret digest (one
    scrypt hash per key and secret), a miss is throttled before hashing per source address
    and per (key id, address), and revocation is checked every time. None when refused."""
    digest = hashlib.sha256(f"{key_id}\0{secret}".encode()).digest()
    principal = checked_keys().get(digest)
    if principal is None:
        address, now = _address(source_ip), int(time.time())
        by_address, by_key = key_limiters()
        if not by_address.allow(f"TOKEN#{address}", now) or not by_key.allow(
            f"TOKEN#{address}#{key_id}", now
        ):
            count("WebSocketKeyThrottled", 1)
            return None
        from redfire_core.services.keys import check_key  # lazy: pynamodb

        try:
            key = check_key(api_keys(), key_id, secret)
        except DomainError:
            return None
        scopes = frozenset(key.scopes) & frozenset(ROLE_SCOPES[key.role])
        principal = Principal(key.key_id, key.account_id, key.role, scopes, f"apca:{key.key_id}")
        checked_keys()[digest] = principal
    if not api_keys().is_live(key_id):
        return None
    return principal

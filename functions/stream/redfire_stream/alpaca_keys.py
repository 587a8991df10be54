"""The key check of Alpaca's stream ``authenticate``: redfire_core.services.key_checks, as the API
checks the `/v2` key headers.

Its own module so the stream's wiring (which hands it to the service) and the WebSocket
handler both import it, neither importing the other.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from redfire_core.auth import Principal
from redfire_core.observability import count
from redfire_core.services.key_checks import KeyThrottled, caller_address, key_principal

if TYPE_CHECKING:
    from redfire_core.adapters.api_keys import ApiKeyStore


@cache
def api_keys() -> ApiKeyStore:
    from redfire_core.adapters.api_keys import ApiKeyStore  # lazy: pynamodb on first use

    return ApiKeyStore()


def alpaca_principal(key_id: str, secret: str, source_ip: str) -> Principal | None:
    """The principal of an API key sent in Alpaca's ``authenticate``; None when refused or
    throttled (the stream answers both alike)."""
    try:
        return key_principal(api_keys(), key_id, secret, caller_address(source_ip))
    except KeyThrottled:
        count("WebSocketKeyThrottled", 1)
        return None

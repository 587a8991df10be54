"""The stream's ports, built once per container (lazily: nothing at import)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from redfire_core.adapters.stream_store import StreamStore
from redfire_core.adapters.ws_management import ApiGatewayManagement
from redfire_core.config import get_settings
from redfire_core.services.streaming import Stream

if TYPE_CHECKING:
    from redfire_core.adapters.api_keys import ApiKeyStore


@cache
def stream(management_url: str) -> Stream:
    """The stream service posting through the management API at ``management_url``."""
    return Stream(
        StreamStore(),
        ApiGatewayManagement(management_url),
        retention_seconds=get_settings().stream_retention_seconds,
        key_is_live=key_is_live,
    )


@cache
def api_keys() -> ApiKeyStore:
    from redfire_core.adapters.api_keys import ApiKeyStore  # lazy: pynamodb on first use

    return ApiKeyStore()


def key_is_live(key_id: str) -> bool:
    """True while the API key exists unrevoked (the store caches a live answer briefly)."""
    return api_keys().is_live(key_id)


def management_url(domain_name: str = "", stage: str = "") -> str:
    """The configured management endpoint, else the one of the API that sent the event."""
    configured = get_settings().ws_management_url
    if configured:
        return configured
    return f"https://{domain_name}/{stage}"

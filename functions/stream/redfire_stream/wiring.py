"""The stream's ports, built once per container (lazily: nothing at import)."""

from __future__ import annotations

from functools import cache

from redfire_core.adapters.stream_store import StreamStore
from redfire_core.adapters.ws_management import ApiGatewayManagement
from redfire_core.config import get_settings
from redfire_core.services.streaming import Stream


@cache
def stream(management_url: str) -> Stream:
    """The stream service posting through the management API at ``management_url``."""
    return Stream(
        StreamStore(),
        ApiGatewayManagement(management_url),
        retention_seconds=get_settings().stream_retention_seconds,
    )


def management_url(domain_name: str = "", stage: str = "") -> str:
    """The configured management endpoint, else the one of the API that sent the event."""
    configured = get_settings().ws_management_url
    if configured:
        return configured
    return f"https://{domain_name}/{stage}"

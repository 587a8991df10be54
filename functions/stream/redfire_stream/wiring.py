"""The stream's ports, built once per container (lazily: nothing at import)."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from redfire_core.adapters.stream_store import StreamStore
from redfire_core.adapters.ws_management import ApiGatewayManagement
from redfire_core.alpaca_dialect import TRADE_UPDATE_EVENTS
from redfire_core.alpaca_dialect import trade_update as alpaca_trade_update
from redfire_core.config import get_settings
from redfire_core.events import Envelope
from redfire_core.services.streaming import ALPACA_AUTH_SECONDS, Stream
from redfire_stream.alpaca_keys import alpaca_principal, api_keys

if TYPE_CHECKING:
    from redfire_core.adapters.trading_store import TradingStore

STREAM_QUEUE = "stream"  # the pusher's queue, which also carries the auth deadlines
AUTH_DEADLINE = "close_unauthenticated"  # a message of the stream queue that is no event


@cache
def stream(management_url: str) -> Stream:
    """The stream service posting through the management API at ``management_url``."""
    return Stream(
        StreamStore(),
        ApiGatewayManagement(management_url),
        retention_seconds=get_settings().stream_retention_seconds,
        key_is_live=key_is_live,
        check_key=alpaca_principal,
        trade_update=trade_update,
    )


def trade_update(event: Envelope) -> dict[str, Any] | None:
    """Alpaca's trade_updates data of an order event (None for other events)."""
    if event.type not in TRADE_UPDATE_EVENTS:
        return None
    from redfire_core.services.instruments import instrument_cache  # lazy: pynamodb

    order = event.payload["order"]
    instrument = instrument_cache(trading_store()).get(order["symbol"])
    asset_class = (
        "crypto" if instrument is not None and instrument.asset_class == "crypto" else ("us_equity")
    )
    return alpaca_trade_update(event.type, event.payload, event.occurred_at, asset_class)


@cache
def trading_store() -> TradingStore:
    from redfire_core.adapters.trading_store import TradingStore  # lazy: pynamodb

    return TradingStore()


@cache
def _sqs() -> Any:
    import boto3  # lazy: only $connect of an Alpaca stream sends

    return boto3.client("sqs")


@cache
def _stream_queue_url() -> str:
    name = get_settings().declaration.name(STREAM_QUEUE)
    return str(_sqs().get_queue_url(QueueName=name)["QueueUrl"])


def schedule_auth_deadline(connection_id: str) -> None:
    """Ask the pusher, through the stream queue, to close the connection at the Alpaca
    authentication deadline unless it has authenticated by then."""
    _sqs().send_message(
        QueueUrl=_stream_queue_url(),
        MessageBody=json.dumps({"action": AUTH_DEADLINE, "connection_id": connection_id}),
        DelaySeconds=ALPACA_AUTH_SECONDS,
    )


def key_is_live(key_id: str) -> bool:
    """True while the API key exists unrevoked (the store caches a live answer briefly)."""
    return api_keys().is_live(key_id)


def management_url(domain_name: str = "", stage: str = "") -> str:
    """The configured management endpoint, else the one of the API that sent the event."""
    configured = get_settings().ws_management_url
    if configured:
        return configured
    return f"https://{domain_name}/{stage}"

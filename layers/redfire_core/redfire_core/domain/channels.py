"""Stream channels: which channel an event is published on, and who may subscribe.

Pure: no I/O, no clock. Account channels (``orders``, ``trades``, ...) are scoped to
the subscriber's account; market data channels (``quotes:{symbol}``,
``bars:{symbol}:{interval}``) are shared by every subscriber. Each channel of each
scope has its own gap-free sequence, starting at 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ACCOUNT_CHANNELS = frozenset(
    {"orders", "trades", "positions", "account", "risk", "backtests", "strategies"}
)
# Alpaca's trade_updates stream of an account: not a channel clients subscribe to (an
# Alpaca connection's `listen` does); its message is built from the order event by the
# stream service, and only when someone listens.
TRADE_UPDATES = "trade_updates"
MARKET_SCOPE = "*"  # the scope of market data channels: every account sees the same sequence
_SYMBOL = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,31}"
_QUOTES = re.compile(rf"^quotes:{_SYMBOL}$")
_BARS = re.compile(rf"^bars:{_SYMBOL}:[0-9]{{1,4}}[smhdw]$")
# Every event type a client may watch; the stream queue's rule routes exactly these.
ORDER_EVENTS = (
    "OrderSubmitted",
    "OrderAccepted",
    "OrderDenied",
    "OrderRejected",
    "OrderFilled",
    "OrderCancelRequested",
    "OrderCanceled",
    "OrderReplaced",
    "OrderExpired",
)
# The order events a live strategy instance hears about its own orders (the strategy runner's
# queue rule, and the runner's routes).
STRATEGY_ORDER_EVENTS = frozenset(
    {"OrderFilled", "OrderCanceled", "OrderDenied", "OrderRejected", "OrderExpired"}
)
# How a live instance's orders are told apart: their client order ids start with this
# (``si-<instance>-<bar>-<strategy order id>``); the runner's rule routes only those.
STRATEGY_CLIENT_ID_PREFIX = "si-"
STREAMED_EVENTS = (
    *ORDER_EVENTS,
    "PositionChanged",
    "AccountChanged",
    "MarketDataUpdated",
    "RiskLimitBreached",
    "BacktestCompleted",
    "SweepCompleted",
    "StrategyInstanceFailed",
)


class ChannelError(Exception):
    """A channel a client may not subscribe to; ``code`` is the stable error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Subscription:
    """A channel as subscribed: ``scope`` is the account id, or ``*`` for market data."""

    scope: str
    channel: str


def watch_group(sub: Subscription) -> str:
    """The channels whose watches share one item, so the pusher reads it once per batch:
    an account's channels, or one symbol's market data channels (quotes and every bar
    interval), not every market channel at once."""
    if sub.scope != MARKET_SCOPE:
        return sub.scope
    return f"{MARKET_SCOPE}#{sub.channel.split(':')[1]}"


@dataclass(frozen=True)
class Publication:
    """What one event contributes to one channel."""

    scope: str
    channel: str
    data: dict[str, Any]


def resolve(name: object, account_id: str) -> Subscription:
    """The subscription a client asks for with ``name``; raises ``ChannelError``.

    ``orders`` means the caller's own orders; ``orders:<account id>`` is accepted for the
    caller's own account only, so asking for another account's channel is refused.
    """
    if not isinstance(name, str) or not name or len(name) > 80:
        raise ChannelError("CHANNEL_UNKNOWN", f"unknown channel {name!r}")
    if name in ACCOUNT_CHANNELS:
        return Subscription(account_id, name)
    if _QUOTES.match(name) or _BARS.match(name):
        return Subscription(MARKET_SCOPE, name)
    base, _, owner = name.partition(":")
    if base in ACCOUNT_CHANNELS and owner:
        if owner != account_id:
            raise ChannelError("CHANNEL_FORBIDDEN", f"channel {name!r} is another account's")
        return Subscription(account_id, base)
    raise ChannelError("CHANNEL_UNKNOWN", f"unknown channel {name!r}")


def publications(
    event_type: str, account_id: str | None, payload: dict[str, Any]
) -> list[Publication]:
    """The channels an event is published on, each with the resource as REST shows it."""
    if event_type == "MarketDataUpdated":
        symbol, interval = payload["symbol"], payload["interval"]
        quote = {"symbol": symbol, "price": payload["close"], "as_of": payload["last_end"]}
        return [
            Publication(MARKET_SCOPE, f"quotes:{symbol}", quote),
            Publication(MARKET_SCOPE, f"bars:{symbol}:{interval}", dict(payload)),
        ]
    if account_id is None:
        return []
    if event_type in ORDER_EVENTS:
        found = [Publication(account_id, "orders", payload["order"])]
        if event_type == "OrderReplaced" and "replaced" in payload:
            found.insert(0, Publication(account_id, "orders", payload["replaced"]))
        if event_type == "OrderFilled" and "fill" in payload:
            found.append(Publication(account_id, "trades", payload["fill"]))
        found.append(Publication(account_id, TRADE_UPDATES, dict(payload)))
        return found
    if event_type == "PositionChanged":
        return [Publication(account_id, "positions", payload["position"])]
    if event_type.startswith("Risk"):
        return [Publication(account_id, "risk", dict(payload))]
    if event_type.startswith("Backtest"):
        return [Publication(account_id, "backtests", dict(payload))]
    if event_type.startswith("StrategyInstance"):
        return [Publication(account_id, "strategies", dict(payload))]
    if event_type == "AccountChanged":
        data = {**payload["account"], "reason": payload["reason"], "order_id": payload["order_id"]}
        return [Publication(account_id, "account", data)]
    return []

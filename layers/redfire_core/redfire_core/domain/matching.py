"""Paper matching: when and at what price a resting order fills. Pure, shared with backtests.

Semantics: a market order fills at the latest price. A limit order fills against a
bar only if the bar ended after the order was accepted; if the bar started before
that, it fills at its limit price (never the bar's better open, which the order did
not see); a later bar that gaps through the limit fills at its open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from redfire_core.domain.orders import Order, OrderType, Side


@dataclass(frozen=True)
class PriceBar:
    start: datetime
    end: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def match_against_bar(order: Order, bar: PriceBar, accepted_at: datetime) -> Decimal | None:
    """The fill price of ``order`` on ``bar``, or None if the bar does not fill it."""
    if bar.end <= accepted_at:
        return None
    if order.type is OrderType.MARKET:
        return bar.open if bar.start >= accepted_at else bar.close
    if order.type is not OrderType.LIMIT or order.limit_price is None:
        return None
    limit = order.limit_price
    touched = bar.low <= limit if order.side is Side.BUY else bar.high >= limit
    if not touched:
        return None
    if bar.start < accepted_at:
        return limit
    gapped = bar.open <= limit if order.side is Side.BUY else bar.open >= limit
    return bar.open if gapped else limit

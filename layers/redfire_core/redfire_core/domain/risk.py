"""Pre-trade risk rules. Pure: every input (prices, account, limits) is passed in.

All rules run in one pass so a trader sees every reason an order was refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from redfire_core.domain.orders import Order, OrderType, Side
from redfire_core.domain.positions import Account, Position


@dataclass(frozen=True)
class Denial:
    code: str
    message: str
    limit: str | None = None
    actual: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "limit": self.limit,
            "actual": self.actual,
        }


@dataclass(frozen=True)
class RiskLimits:
    max_order_quantity: Decimal = Decimal("1000000")
    max_order_notional: Decimal = Decimal("1000000")
    max_price_age_seconds: int = 300


@dataclass(frozen=True)
class LatestPrice:
    symbol: str
    price: Decimal
    timestamp: datetime


@dataclass(frozen=True)
class RiskContext:
    account: Account
    position: Position
    latest: LatestPrice | None
    limits: RiskLimits
    now: datetime


def reference_price(order: Order, latest: LatestPrice | None) -> Decimal | None:
    """The price an order is valued at: its limit, else its stop, else the market."""
    return order.limit_price or order.stop_price or (latest.price if latest else None)


PRICE_BAND_PCT = Decimal(5)


def reservation(order: Order, latest: LatestPrice | None, account: Account) -> Decimal:
    """Cash an accepted buy holds until it fills or ends: quantity x (limit, else stop,
    else latest price plus the price band) plus commission. Sells hold nothing here."""
    if order.side is Side.SELL:
        return Decimal(0)
    price = order.limit_price or order.stop_price
    if price is None:
        if latest is None:
            return Decimal(0)
        price = latest.price * (1 + PRICE_BAND_PCT / 100)
    quantity = order.remaining_quantity
    return quantity * price + account.execution.commission(quantity, price)


def check_order(order: Order, ctx: RiskContext) -> list[Denial]:
    """Every rule the order breaks, in a stable order (the first is the headline)."""
    denials: list[Denial] = []
    limits = ctx.limits
    if order.quantity > limits.max_order_quantity:
        denials.append(
            Denial(
                "RISK_MAX_ORDER_QTY",
                "order quantity above the limit",
                str(limits.max_order_quantity),
                str(order.quantity),
            )
        )
    latest = ctx.latest
    stale = latest is None or ctx.now - latest.timestamp > timedelta(
        seconds=limits.max_price_age_seconds
    )
    if order.type is OrderType.MARKET and stale:
        age = "none" if latest is None else str(int((ctx.now - latest.timestamp).total_seconds()))
        denials.append(
            Denial(
                "RISK_STALE_PRICE",
                "no recent price for a market order",
                str(limits.max_price_age_seconds),
                age,
            )
        )
    price = reference_price(order, latest)
    if price is not None:
        notional = order.quantity * price
        if notional > limits.max_order_notional:
            denials.append(
                Denial(
                    "RISK_MAX_NOTIONAL",
                    "order notional above the limit",
                    str(limits.max_order_notional),
                    str(notional),
                )
            )
        # What acceptance would hold (band and commission included), not the bare notional.
        needed = reservation(order, latest, ctx.account)
        available = ctx.account.cash - ctx.account.reserved
        if order.side is Side.BUY and not ctx.account.margin_enabled and needed > available:
            denials.append(
                Denial("RISK_BUYING_POWER", "not enough buying power", str(available), str(needed))
            )
    if (
        order.side is Side.SELL
        and not ctx.account.margin_enabled
        and order.quantity > max(ctx.position.quantity, Decimal(0))
    ):
        denials.append(
            Denial(
                "RISK_SHORT_NOT_ALLOWED",
                "a cash account cannot sell short",
                str(max(ctx.position.quantity, Decimal(0))),
                str(order.quantity),
            )
        )
    if ctx.account.margin_enabled and price is not None:
        equity = ctx.account.cash + ctx.position.market_value(latest.price if latest else price)
        buying_power = equity * ctx.account.leverage - ctx.account.reserved
        notional = order.quantity * price
        if notional > buying_power:
            denials.append(
                Denial(
                    "RISK_BUYING_POWER", "not enough buying power", str(buying_power), str(notional)
                )
            )
    return denials

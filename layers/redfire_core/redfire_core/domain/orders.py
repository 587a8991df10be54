"""Orders: the request a client makes, and the strict lifecycle it goes through.

Pure: time is an argument, nothing here does I/O. Every status change goes through
``transition`` so that a duplicated or reordered event can never move an order
backwards or out of a final state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from redfire_core.domain.errors import DomainError, InvalidTransition
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.money import average, parse_decimal


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    DENIED = "denied"
    REJECTED = "rejected"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    PENDING_REPLACE = "pending_replace"
    REPLACED = "replaced"
    EXPIRED = "expired"


S = OrderStatus
FINAL_STATUSES = frozenset({S.DENIED, S.REJECTED, S.FILLED, S.CANCELED, S.REPLACED, S.EXPIRED})
OPEN_STATUSES = frozenset(set(S) - FINAL_STATUSES)

# Allowed moves. A fill may arrive before OrderAccepted (events reorder), so
# submitted -> (partially_)filled is legal: a fill implies the order was accepted.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.SUBMITTED: frozenset(
        {
            S.ACCEPTED,
            S.DENIED,
            S.REJECTED,
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.PENDING_CANCEL,
            S.CANCELED,
        }
    ),
    S.ACCEPTED: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.REJECTED,
            S.PENDING_CANCEL,
            S.CANCELED,
            S.PENDING_REPLACE,
            S.EXPIRED,
        }
    ),
    S.PARTIALLY_FILLED: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELED, S.PENDING_REPLACE, S.EXPIRED}
    ),
    S.PENDING_CANCEL: frozenset({S.CANCELED, S.PARTIALLY_FILLED, S.FILLED, S.EXPIRED}),
    S.PENDING_REPLACE: frozenset(
        {S.REPLACED, S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED}
    ),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


@dataclass(frozen=True)
class OrderRequest:
    """A validated order request, before it has an id."""

    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    time_in_force: TimeInForce
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    client_order_id: str | None = None

    @classmethod
    def parse(cls, body: dict[str, Any], instrument: Instrument | None) -> OrderRequest:
        """Validate a request body statically (no prices, no account state).

        Raises ``DomainError`` with the code of the first problem and the field at fault.
        """
        symbol = str(body.get("symbol") or "")
        if instrument is None or instrument.symbol != symbol:
            raise DomainError("ORDER_UNKNOWN_SYMBOL", f"unknown symbol {symbol!r}", "symbol")
        if not instrument.tradable:
            raise DomainError("ORDER_INVALID", f"{symbol} is not tradable", "symbol")
        side = _enum(Side, body.get("side"), "side")
        order_type = _enum(OrderType, body.get("type"), "type")
        tif = _enum(TimeInForce, body.get("time_in_force", "day"), "time_in_force")
        quantity = parse_decimal(body.get("quantity"), "quantity")
        instrument.check_quantity(quantity)
        limit_price = _price(body, "limit_price", instrument)
        stop_price = _price(body, "stop_price", instrument)
        needs_limit = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        for field, needed, value in (
            ("limit_price", needs_limit, limit_price),
            ("stop_price", needs_stop, stop_price),
        ):
            if needed and value is None:
                raise DomainError(
                    "ORDER_PRICE_REQUIRED", f"a {order_type} order needs {field}", field
                )
            if not needed and value is not None:
                raise DomainError("ORDER_INVALID", f"a {order_type} order takes no {field}", field)
        client_order_id = body.get("client_order_id")
        if client_order_id is not None and (
            not isinstance(client_order_id, str) or not 1 <= len(client_order_id) <= 64
        ):
            raise DomainError(
                "ORDER_INVALID", "client_order_id must be 1 to 64 characters", "client_order_id"
            )
        return cls(
            symbol, side, order_type, quantity, tif, limit_price, stop_price, client_order_id
        )


E = TypeVar("E", bound=StrEnum)


def _enum(kind: type[E], value: object, field: str) -> E:
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise DomainError("ORDER_INVALID", f"{field} must be one of: {allowed}", field) from None


def _price(body: dict[str, Any], field: str, instrument: Instrument) -> Decimal | None:
    if body.get(field) is None:
        return None
    price = parse_decimal(body[field], field)
    instrument.check_price(price, field)
    return price


@dataclass(frozen=True)
class Order:
    id: str
    account_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    time_in_force: TimeInForce
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    client_order_id: str | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    filled_quantity: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)  # sum of quantity x price: keeps the average exact
    reject_reason: dict[str, Any] | None = None
    accepted_at: datetime | None = None
    version: int = 1

    @classmethod
    def submit(cls, order_id: str, account_id: str, request: OrderRequest, now: datetime) -> Order:
        return cls(
            id=order_id,
            account_id=account_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            quantity=request.quantity,
            time_in_force=request.time_in_force,
            status=OrderStatus.SUBMITTED,
            created_at=now,
            updated_at=now,
            client_order_id=request.client_order_id,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
        )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def average_fill_price(self) -> Decimal | None:
        if self.filled_quantity == 0:
            return None
        return average(self.filled_notional, self.filled_quantity)

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    def transition(self, target: OrderStatus, now: datetime, **changes: Any) -> Order:
        """The order in ``target`` status, one version later; refuses illegal moves."""
        if not can_transition(self.status, target):
            raise InvalidTransition(self.status, target)
        return replace(self, status=target, updated_at=now, version=self.version + 1, **changes)

    def accept(self, now: datetime) -> Order:
        return self.transition(OrderStatus.ACCEPTED, now, accepted_at=now)

    def deny(self, reasons: list[dict[str, Any]], now: datetime) -> Order:
        return self.transition(OrderStatus.DENIED, now, reject_reason=reasons[0])

    def fill(self, quantity: Decimal, price: Decimal, now: datetime) -> Order:
        """Apply an execution: cumulative quantity and volume-weighted average price."""
        if quantity <= 0 or quantity > self.remaining_quantity:
            raise DomainError(
                "ORDER_OVERFILL",
                f"fill of {quantity} exceeds the remaining {self.remaining_quantity}",
            )
        filled = self.filled_quantity + quantity
        target = OrderStatus.FILLED if filled == self.quantity else OrderStatus.PARTIALLY_FILLED
        notional = self.filled_notional + quantity * price
        return self.transition(target, now, filled_quantity=filled, filled_notional=notional)

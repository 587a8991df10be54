"""Orders: the request a client makes, and the strict lifecycle it goes through.

Pure: time is an argument, nothing here does I/O. Every status change goes through
``transition`` so that a duplicated or reordered event can never move an order
backwards or out of a final state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any, TypeVar

from redfire_core.domain.calendars import ALWAYS_OPEN, TradingCalendar, WholeDays, day_order_end
from redfire_core.domain.errors import DomainError, InvalidTransition
from redfire_core.domain.identifiers import CLIENT_ORDER_ID_MAX, is_printable_ascii
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.money import average, parse_decimal

ZERO = Decimal(0)
COMMISSION_PLACES = Decimal("1e-8")


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderClass(StrEnum):
    """How an order relates to others (domain/order_classes.py has the group rules)."""

    SIMPLE = "simple"
    BRACKET = "bracket"
    OCO = "oco"
    OTO = "oto"


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"
    HELD = "held"  # a leg of an order class waiting for its activation
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
STOP_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})

# Allowed moves. A fill may arrive before OrderAccepted (events reorder), so
# submitted -> (partially_)filled is legal: a fill implies the order was accepted.
# A partial fill keeps a pending cancel or replace pending (the self-loops).
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    # A held leg is activated (accepted) by its group, or ends with it.
    S.HELD: frozenset({S.ACCEPTED, S.PENDING_CANCEL, S.CANCELED, S.EXPIRED}),
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
    S.PENDING_CANCEL: frozenset({S.PENDING_CANCEL, S.CANCELED, S.FILLED, S.EXPIRED}),
    S.PENDING_REPLACE: frozenset(
        {
            S.PENDING_REPLACE,
            S.REPLACED,
            S.ACCEPTED,
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.CANCELED,
            S.EXPIRED,
        }
    ),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


# The calendar of an order placed without one: every UTC day is a session, so a ``day``
# order ends at the next midnight UTC.
UTC_DAYS = WholeDays(ALWAYS_OPEN)


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
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    # A notional order's quantity is set at its fill (notional / fill price, on the lot grid).
    notional: Decimal | None = None

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
        notional = _notional(body, order_type, tif)
        if notional is None:
            quantity = parse_decimal(body.get("quantity"), "quantity")
            instrument.check_quantity(quantity)
        else:
            quantity = ZERO
        limit_price = _price(body, "limit_price", instrument)
        stop_price = _price(body, "stop_price", instrument)
        trail_price = _price(body, "trail_price", instrument)
        trail_percent = (
            None
            if body.get("trail_percent") is None
            else parse_decimal(body["trail_percent"], "trail_percent")
        )
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
        _check_trail(order_type, trail_price, trail_percent)
        if tif in (TimeInForce.IOC, TimeInForce.FOK) and order_type in STOP_TYPES:
            raise DomainError(
                "ORDER_INVALID", f"a {order_type} order cannot be {tif}", "time_in_force"
            )
        client_order_id = body.get("client_order_id")
        if client_order_id is not None and (
            not isinstance(client_order_id, str)
            or not is_printable_ascii(client_order_id, CLIENT_ORDER_ID_MAX)
        ):
            raise DomainError(
                "ORDER_INVALID",
                f"client_order_id must be 1 to {CLIENT_ORDER_ID_MAX} printable ASCII characters",
                "client_order_id",
            )
        return cls(
            symbol,
            side,
            order_type,
            quantity,
            tif,
            limit_price,
            stop_price,
            client_order_id,
            trail_price,
            trail_percent,
            notional,
        )


def _notional(body: dict[str, Any], order_type: OrderType, tif: TimeInForce) -> Decimal | None:
    """A notional order's amount: market and day only, and never with a quantity."""
    if body.get("notional") is None:
        return None
    if body.get("quantity") is not None:
        raise DomainError("ORDER_INVALID", "give quantity or notional, not both", "notional")
    if order_type is not OrderType.MARKET or tif is not TimeInForce.DAY:
        raise DomainError(
            "ORDER_INVALID", "a notional order must be a market order for the day", "notional"
        )
    return parse_decimal(body["notional"], "notional")


def notional_quantity(notional: Decimal, price: Decimal, instrument: Instrument) -> Decimal:
    """What ``notional`` buys or sells at ``price``: floored to the instrument's lot grid
    (a fraction when the lot is one), so the fill never costs more than the notional."""
    lots = (notional / price / instrument.lot_size).to_integral_value(ROUND_FLOOR)
    return lots * instrument.lot_size


def _check_trail(
    order_type: OrderType, trail_price: Decimal | None, trail_percent: Decimal | None
) -> None:
    given = [
        name
        for name, value in (("trail_price", trail_price), ("trail_percent", trail_percent))
        if value is not None
    ]
    if order_type is not OrderType.TRAILING_STOP:
        if given:
            raise DomainError(
                "ORDER_INVALID", f"a {order_type} order takes no {given[0]}", given[0]
            )
        return
    if len(given) != 1:
        raise DomainError(
            "ORDER_PRICE_REQUIRED",
            "a trailing_stop order needs exactly one of trail_price or trail_percent",
            "trail_price",
        )
    if trail_percent is not None and trail_percent >= 100:
        raise DomainError("ORDER_INVALID", "trail_percent must be below 100", "trail_percent")


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
class ExecutionModel:
    """An account's paper trading costs: commission, slippage and the volume cap."""

    commission_rate: Decimal = ZERO  # share of notional, e.g. 0.001 = 10 bps
    commission_per_unit: Decimal = ZERO
    commission_minimum: Decimal = ZERO  # per fill, when any commission applies
    slippage_bps: Decimal = ZERO  # market and stop fills move this far against the trader
    max_volume_share: Decimal = ZERO  # 0: no cap; 0.1: at most 10% of a bar's volume

    @property
    def charges(self) -> bool:
        """True when fills pay any commission."""
        return bool(self.commission_rate or self.commission_per_unit)

    def commission(self, quantity: Decimal, price: Decimal) -> Decimal:
        """The commission of one fill of ``quantity`` at ``price``."""
        return self.commission_of(quantity, quantity * price)

    def fill_commission(
        self,
        quantity: Decimal,
        price: Decimal,
        *,
        filled_quantity: Decimal,
        filled_notional: Decimal,
        paid: Decimal,
    ) -> Decimal:
        """The commission of a fill of an order that has filled ``filled_quantity`` for
        ``filled_notional`` and paid ``paid`` so far: in all, the order pays what one fill
        of everything it filled would (the minimum once, never once per partial fill), so
        it never pays more than its reservation held for its commission."""
        total = self.commission_of(filled_quantity + quantity, filled_notional + quantity * price)
        return max(total - paid, ZERO)

    def commission_of(self, quantity: Decimal, notional: Decimal) -> Decimal:
        """The commission of one fill of ``quantity`` for ``notional`` (quantity x price)."""
        # Zero terms skipped and no max() call: this runs in every pre-trade check, and
        # the plain branches measured 2.5x faster (same result).
        rate, per_unit = self.commission_rate, self.commission_per_unit
        cost = rate * notional if rate else ZERO
        if per_unit:
            cost += per_unit * quantity
        if not cost:
            return ZERO
        minimum = self.commission_minimum
        return (cost if cost >= minimum else minimum).quantize(COMMISSION_PLACES)

    def slipped(self, price: Decimal, side: Side, instrument: Instrument) -> Decimal:
        """``price`` moved against the trader by the slippage, rounded to a tick the same way."""
        if self.slippage_bps == 0:
            return price
        factor = self.slippage_bps / Decimal(10_000)
        moved = price * (1 + factor) if side is Side.BUY else price * (1 - factor)
        ticks = (moved / instrument.tick_size).to_integral_value(
            ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
        )
        return ticks * instrument.tick_size

    def capped(self, remaining: Decimal, bar_volume: Decimal, instrument: Instrument) -> Decimal:
        if self.max_volume_share == 0:
            return remaining
        lots = (self.max_volume_share * bar_volume / instrument.lot_size).to_integral_value(
            ROUND_FLOOR
        )
        return min(remaining, lots * instrument.lot_size)


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
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    # Best price seen since acceptance (high for a sell, low for a buy): the trail's anchor.
    trail_reference: Decimal | None = None
    triggered: bool = False  # a stop order whose stop was reached
    filled_quantity: Decimal = ZERO
    filled_notional: Decimal = ZERO  # sum of quantity x price: keeps the average exact
    commission: Decimal = ZERO
    reserved: Decimal = ZERO  # cash still held for the unfilled part
    reject_reason: dict[str, Any] | None = None
    reject_reasons: list[dict[str, Any]] | None = None  # every reason risk gave (denied)
    accepted_at: datetime | None = None
    # day orders: the close of the session they were placed in (or of the next one)
    expires_at: datetime | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    # On a replacement: what the original had filled when it was replaced, so fills
    # that race the replace can be taken off the replacement.
    replaced_filled_quantity: Decimal | None = None
    closes_position: bool = False
    # The account's execution settings when risk accepted the order (what its reservation
    # was computed with): its fills are costed with these, whatever changes later.
    execution: ExecutionModel | None = None
    version: int = 1
    # The account's order number (1, 2, 3...) given when it was stored: an account's orders
    # are decided in this order.
    sequence: int | None = None
    order_class: OrderClass = OrderClass.SIMPLE
    parent_order_id: str | None = None  # a leg: the order whose group it belongs to
    leg_ids: tuple[str, ...] = ()  # a parent: its legs, in the order they were placed
    notional: Decimal | None = None  # a notional order: quantity is 0 until it fills
    # A venue account's order: the route it was accepted for ("alpaca", "ccxt:binance";
    # None = the paper gateway) and the venue's id once the venue acknowledged it.
    venue: str | None = None
    venue_order_id: str | None = None

    @classmethod
    def submit(
        cls,
        order_id: str,
        account_id: str,
        request: OrderRequest,
        now: datetime,
        *,
        replaces: str | None = None,
        closes_position: bool = False,
        sequence: int | None = None,
        calendar: TradingCalendar = UTC_DAYS,
    ) -> Order:
        """A new order; a ``day`` order expires at the close of ``calendar``'s session (the
        instrument's) open at ``now``, or of the next session when it is closed."""
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
            trail_price=request.trail_price,
            trail_percent=request.trail_percent,
            expires_at=(
                day_order_end(calendar, now) if request.time_in_force is TimeInForce.DAY else None
            ),
            replaces=replaces,
            closes_position=closes_position,
            sequence=sequence,
            notional=request.notional,
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

    def update(self, now: datetime, **changes: Any) -> Order:
        """A change of working state (trail anchor, trigger) that keeps the status."""
        if self.is_final:
            raise InvalidTransition(self.status, self.status)
        return replace(self, updated_at=now, version=self.version + 1, **changes)

    def accept(
        self,
        now: datetime,
        *,
        reserved: Decimal = ZERO,
        execution: ExecutionModel | None = None,
    ) -> Order:
        """Risk's approval: only a submitted order can be accepted (a working order that
        returns from a refused replace goes back through ``transition``, keeping its hold).
        ``execution`` fixes the settings its fills are costed with."""
        if self.status is not OrderStatus.SUBMITTED:
            raise InvalidTransition(self.status, OrderStatus.ACCEPTED)
        return self.transition(
            OrderStatus.ACCEPTED, now, accepted_at=now, reserved=reserved, execution=execution
        )

    def deny(self, reasons: list[dict[str, Any]], now: datetime) -> Order:
        return self.transition(
            OrderStatus.DENIED, now, reject_reason=reasons[0], reject_reasons=list(reasons)
        )

    def close(
        self, status: OrderStatus, now: datetime, reason: dict[str, Any] | None = None
    ) -> Order:
        """Cancel, expire, reject or replace: the unfilled part is released."""
        return self.transition(
            status, now, reserved=ZERO, reject_reason=reason or self.reject_reason
        )

    def fill(
        self, quantity: Decimal, price: Decimal, now: datetime, commission: Decimal = ZERO
    ) -> Order:
        """Apply an execution: cumulative quantity, notional, commission; release its share
        of the reservation. A partial fill keeps a pending cancel or replace pending.
        A notional order's first fill sets its quantity."""
        if self.notional is not None and self.quantity == 0 and quantity > 0:
            return replace(self, quantity=quantity).fill(quantity, price, now, commission)
        if quantity <= 0 or quantity > self.remaining_quantity:
            raise DomainError(
                "ORDER_OVERFILL",
                f"fill of {quantity} exceeds the remaining {self.remaining_quantity}",
            )
        filled = self.filled_quantity + quantity
        if filled == self.quantity:
            target = OrderStatus.FILLED
        elif self.status in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE):
            target = self.status
        else:
            target = OrderStatus.PARTIALLY_FILLED
        return self.transition(
            target,
            now,
            filled_quantity=filled,
            filled_notional=self.filled_notional + quantity * price,
            commission=self.commission + commission,
            reserved=self.reserved - self.reservation_released_by(quantity),
            accepted_at=self.accepted_at or now,
        )

    def reservation_released_by(self, quantity: Decimal) -> Decimal:
        """The share of the reservation that ``quantity`` of the remainder frees (all of it
        when the remainder is filled, so rounding never leaves a residue)."""
        if quantity >= self.remaining_quantity:
            return self.reserved
        return (self.reserved * quantity / self.remaining_quantity).quantize(Decimal("1e-12"))

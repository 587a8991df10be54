"""Order classes: bracket, OCO and OTO groups, their legs, and how a group moves together.

Pure: time is an argument. A group is a parent and its legs, each an order of its own (own
id, own events). A leg waits ``held`` until its group activates it:

- bracket: an entry, a take-profit limit and a stop-loss stop (or stop-limit). The exit
  legs activate on the entry's fill, sized by what has filled, and are one-cancels-other.
- oto: an entry and one exit leg, activated and sized the same way.
- oco: two exit orders on a position held already: the parent is the take-profit limit,
  its leg the stop; the leg activates when the parent is accepted, and a fill of either
  takes the same quantity off the other.

``settle`` is the one rule: given the group as a change left it, the orders that change
with it (written in the same transaction as the change that causes them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from redfire_core.domain.errors import DomainError
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import (
    Order,
    OrderClass,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)

ZERO = Decimal(0)
ENTRY_CLASSES = frozenset({OrderClass.BRACKET, OrderClass.OTO})
GROUP_TIME_IN_FORCE = frozenset({TimeInForce.DAY, TimeInForce.GTC})
# Ended without filling all: the group ends with it (its one-cancels-other partner too).
ENDED_EARLY = frozenset({OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED})
NOT_ACTIVATED = frozenset({OrderStatus.HELD, OrderStatus.PENDING_CANCEL})


@dataclass(frozen=True)
class GroupRequest:
    """A validated order with its class: the parent's request and its legs' requests."""

    order_class: OrderClass
    parent: OrderRequest
    legs: tuple[OrderRequest, ...] = ()

    @classmethod
    def parse(cls, body: dict[str, Any], instrument: Instrument | None) -> GroupRequest:
        """Validate an order body with ``order_class``, ``take_profit`` and ``stop_loss``.

        Raises ``DomainError`` (``ORDER_INVALID`` / ``ORDER_PRICE_REQUIRED``) naming the field.
        """
        order_class = _order_class(body.get("order_class"))
        take_profit = _leg_body(body, "take_profit")
        stop_loss = _leg_body(body, "stop_loss")
        if order_class is OrderClass.SIMPLE:
            for field, given in (("take_profit", take_profit), ("stop_loss", stop_loss)):
                if given is not None:
                    raise DomainError(
                        "ORDER_INVALID", f"{field} needs order_class bracket, oco or oto", field
                    )
            return cls(order_class, OrderRequest.parse(_plain(body), instrument))
        if body.get("notional") is not None:
            raise DomainError(
                "ORDER_INVALID", f"a {order_class} order takes quantity, not notional", "notional"
            )
        parent_body = _plain(body)
        if order_class is OrderClass.OCO:
            parent_body = _oco_parent(body, take_profit, stop_loss)
        parent = OrderRequest.parse(parent_body, instrument)
        _check_shape(order_class, parent, take_profit, stop_loss)
        exit_side = parent.side.opposite if order_class in ENTRY_CLASSES else parent.side
        legs: list[OrderRequest] = []
        if take_profit is not None and order_class is not OrderClass.OCO:
            legs.append(_take_profit(take_profit, exit_side, parent, instrument))
        if stop_loss is not None:
            legs.append(_stop_loss(stop_loss, exit_side, parent, instrument))
        group = cls(order_class, parent, tuple(legs))
        group.check_prices()
        return group

    def check_prices(self) -> None:
        """Exits on the right sides: a long's take-profit above its stop (and above a limit
        entry, its stop below it); a short's the other way round."""
        exit_sell = (
            self.parent.side.opposite if self.order_class in ENTRY_CLASSES else self.parent.side
        ) is Side.SELL
        take = next((leg for leg in self.legs if leg.type is OrderType.LIMIT), None)
        stop = next((leg for leg in self.legs if leg.stop_price is not None), None)
        take_price = take.limit_price if take else self.take_profit_price
        entry = self.parent.limit_price if self.order_class in ENTRY_CLASSES else None

        def above(high: Decimal | None, low: Decimal | None, field: str, what: str) -> None:
            if high is not None and low is not None and not high > low:
                raise DomainError("ORDER_INVALID", what, field)

        stop_price = stop.stop_price if stop else None
        if exit_sell:
            above(take_price, stop_price, "stop_loss", "the stop_loss must be below take_profit")
            above(take_price, entry, "take_profit", "take_profit must be above the entry limit")
            above(entry, stop_price, "stop_loss", "the stop_loss must be below the entry limit")
        else:
            above(stop_price, take_price, "stop_loss", "the stop_loss must be above take_profit")
            above(entry, take_price, "take_profit", "take_profit must be below the entry limit")
            above(stop_price, entry, "stop_loss", "the stop_loss must be above the entry limit")
        if stop is not None and stop.limit_price is not None and stop.stop_price is not None:
            wrong = (
                stop.limit_price > stop.stop_price
                if exit_sell
                else stop.limit_price < stop.stop_price
            )
            if wrong:
                raise DomainError(
                    "ORDER_INVALID",
                    "a stop_loss limit_price must not be better than its stop_price",
                    "stop_loss",
                )

    @property
    def take_profit_price(self) -> Decimal | None:
        """An oco group's take-profit is its parent."""
        return self.parent.limit_price if self.order_class is OrderClass.OCO else None


def _oco_parent(
    body: dict[str, Any], take_profit: dict[str, Any] | None, stop_loss: dict[str, Any] | None
) -> dict[str, Any]:
    """An oco's parent is its take-profit limit (its limit_price, if given, must agree)."""
    if take_profit is None or stop_loss is None:
        raise DomainError(
            "ORDER_INVALID", "an oco order needs take_profit and stop_loss", "take_profit"
        )
    if (body.get("type") or "limit") != OrderType.LIMIT:
        raise DomainError("ORDER_INVALID", "an oco order is a limit order", "type")
    given = body.get("limit_price")
    if given is not None and str(given) != str(take_profit.get("limit_price")):
        raise DomainError(
            "ORDER_INVALID",
            "an oco order's limit_price is its take_profit limit_price",
            "limit_price",
        )
    return {**_plain(body), "type": "limit", "limit_price": take_profit.get("limit_price")}


def _check_shape(
    order_class: OrderClass,
    parent: OrderRequest,
    take_profit: dict[str, Any] | None,
    stop_loss: dict[str, Any] | None,
) -> None:
    if parent.time_in_force not in GROUP_TIME_IN_FORCE:
        raise DomainError("ORDER_INVALID", f"a {order_class} order is day or gtc", "time_in_force")
    if order_class is OrderClass.BRACKET and (take_profit is None or stop_loss is None):
        missing = "take_profit" if take_profit is None else "stop_loss"
        raise DomainError("ORDER_INVALID", f"a bracket order needs {missing}", missing)
    if order_class is OrderClass.OTO and (take_profit is None) == (stop_loss is None):
        raise DomainError(
            "ORDER_INVALID",
            "an oto order needs exactly one of take_profit or stop_loss",
            "take_profit",
        )
    if order_class in ENTRY_CLASSES and parent.type not in (OrderType.MARKET, OrderType.LIMIT):
        raise DomainError(
            "ORDER_INVALID", f"a {order_class} entry is a market or limit order", "type"
        )


def _order_class(value: object) -> OrderClass:
    if value in (None, ""):
        return OrderClass.SIMPLE
    try:
        return OrderClass(str(value))
    except ValueError:
        allowed = ", ".join(c.value for c in OrderClass)
        raise DomainError(
            "ORDER_INVALID", f"order_class must be one of: {allowed}", "order_class"
        ) from None


def _leg_body(body: dict[str, Any], field: str) -> dict[str, Any] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise DomainError("ORDER_INVALID", f"{field} must be an object", field)
    return value


def _plain(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("order_class", "take_profit", "stop_loss")}


def _take_profit(
    leg: dict[str, Any], side: Side, parent: OrderRequest, instrument: Instrument | None
) -> OrderRequest:
    if leg.get("limit_price") is None:
        raise DomainError(
            "ORDER_PRICE_REQUIRED", "take_profit needs limit_price", "take_profit.limit_price"
        )
    extra = set(leg) - {"limit_price"}
    if extra:
        raise DomainError("ORDER_INVALID", f"take_profit takes no {min(extra)}", "take_profit")
    return _leg_request(parent, side, "limit", {"limit_price": leg["limit_price"]}, instrument)


def _stop_loss(
    leg: dict[str, Any], side: Side, parent: OrderRequest, instrument: Instrument | None
) -> OrderRequest:
    if leg.get("stop_price") is None:
        raise DomainError(
            "ORDER_PRICE_REQUIRED", "stop_loss needs stop_price", "stop_loss.stop_price"
        )
    extra = set(leg) - {"stop_price", "limit_price"}
    if extra:
        raise DomainError("ORDER_INVALID", f"stop_loss takes no {min(extra)}", "stop_loss")
    prices = {k: v for k, v in leg.items() if v is not None}
    kind = "stop_limit" if "limit_price" in prices else "stop"
    return _leg_request(parent, side, kind, prices, instrument)


def _leg_request(
    parent: OrderRequest,
    side: Side,
    kind: str,
    prices: dict[str, Any],
    instrument: Instrument | None,
) -> OrderRequest:
    """A leg: the parent's symbol, quantity and time in force; no client order id."""
    body = {
        "symbol": parent.symbol,
        "side": side.value,
        "type": kind,
        "quantity": format(parent.quantity, "f"),
        "time_in_force": parent.time_in_force.value,
        **prices,
    }
    return OrderRequest.parse(body, instrument)


def held_legs(
    parent: Order, legs: Sequence[tuple[str, OrderRequest]], now: datetime
) -> list[Order]:
    """The legs of a new ``parent`` as they are stored with it: ``held``, with its class."""
    return [
        replace(
            Order.submit(leg_id, parent.account_id, request, now),
            status=OrderStatus.HELD,
            order_class=parent.order_class,
            parent_order_id=parent.id,
            expires_at=parent.expires_at,  # a day group ends at its parent's session close
        )
        for leg_id, request in legs
    ]


def settle(parent: Order, legs: Sequence[Order], now: datetime) -> list[Order]:
    """The group's orders that change because of the state it is in (each a new version);
    nothing when it is settled already, so applying it twice changes nothing.

    Entry classes: the legs protect what the entry filled less what the exits filled;
    held legs are activated on the first fill and canceled when the entry ends unfilled;
    an exit leg that ended early (canceled, expired) ends the other. OCO: the two exits
    share the parent's quantity, and the end of one ends the other."""
    if parent.order_class in ENTRY_CLASSES:
        return _settle_entry(parent, legs, now)
    if parent.order_class is OrderClass.OCO:
        return _settle_oco(parent, legs, now)
    return []


def _settle_entry(parent: Order, legs: Sequence[Order], now: datetime) -> list[Order]:
    open_legs = [leg for leg in legs if not leg.is_final]
    if parent.filled_quantity == 0:
        if parent.is_final:
            return [_cancel(leg, now, "the entry ended unfilled") for leg in open_legs]
        return []
    protect = parent.filled_quantity - sum((leg.filled_quantity for leg in legs), ZERO)
    ended = parent.order_class is OrderClass.BRACKET and any(
        leg.status in ENDED_EARLY for leg in legs
    )
    changed = []
    for leg in open_legs:
        if protect <= 0 or ended:
            reason = "the other exit ended" if ended and protect > 0 else "the position is closed"
            changed.append(_cancel(leg, now, reason))
        else:
            changed += _sized(leg, leg.filled_quantity + protect, now)
    return changed


def _settle_oco(parent: Order, legs: Sequence[Order], now: datetime) -> list[Order]:
    members = [parent, *legs]
    if parent.status is OrderStatus.SUBMITTED:
        return []  # not decided yet: the stop waits
    protect = parent.quantity - sum((m.filled_quantity for m in members), ZERO)
    ended = parent.status is OrderStatus.DENIED or any(m.status in ENDED_EARLY for m in members)
    changed = []
    for member in members:
        if member.is_final:
            continue
        if protect <= 0 or ended:
            reason = "the other exit ended" if protect > 0 else "the other exit filled"
            changed.append(_cancel(member, now, reason))
        else:
            changed += _sized(member, member.filled_quantity + protect, now)
    return changed


def _sized(order: Order, quantity: Decimal, now: datetime) -> list[Order]:
    if order.status is OrderStatus.HELD:
        return [order.transition(OrderStatus.ACCEPTED, now, accepted_at=now, quantity=quantity)]
    if order.quantity != quantity and order.status not in NOT_ACTIVATED:
        return [order.update(now, quantity=quantity)]
    return []


def _cancel(order: Order, now: datetime, reason: str) -> Order:
    return order.close(OrderStatus.CANCELED, now, {"code": "ORDER_CANCELED", "message": reason})


def group_of(order: Order) -> str | None:
    """The id of the parent of ``order``'s group, or None for a simple order."""
    if order.parent_order_id is not None:
        return order.parent_order_id
    return order.id if order.leg_ids else None


def leg_matching_rank(order: Order) -> int:
    """When both exits of a group could fill on one bar, the stop acts first (the bar's
    path is unknown: the conservative reading), here and in the backtester."""
    return 0 if order.parent_order_id is not None and order.stop_price is not None else 1

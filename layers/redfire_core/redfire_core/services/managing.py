"""What a client does to its open orders and positions: cancel, replace, close."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from redfire_core.calendars import calendar_of
from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import (
    UTC_DAYS,
    Order,
    OrderClass,
    OrderRequest,
    OrderStatus,
    can_transition,
)
from redfire_core.events import Envelope, OrderCancelRequested, OrderSubmitted, new_id
from redfire_core.ports import OrderStore
from redfire_core.services.instruments import instrument_cache
from redfire_core.services.placing import Placed, place_order, request_hash
from redfire_core.services.retrying import on_conflict_retry
from redfire_core.views import order_view

REPLACEABLE = frozenset({OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})
CLOSE_ATTEMPTS = 20  # closes of one position version that may end unfilled
REPLACE_FIELDS = (
    "quantity",
    "limit_price",
    "stop_price",
    "trail_price",
    "trail_percent",
    "time_in_force",
    "client_order_id",
)


def not_found(order_id: str) -> DomainError:
    return DomainError("ORDER_NOT_FOUND", f"no order {order_id!r}")


def cancel_order(
    store: OrderStore, account_id: str, order_id: str, *, correlation_id: str, now: datetime
) -> Order:
    """Ask for a cancel: the order becomes ``pending_cancel`` and the orders function
    cancels it (unless a fill gets there first). Asking twice is harmless."""

    def attempt() -> Order:
        order = store.get_order(account_id, order_id)
        if order is None:
            raise not_found(order_id)
        if order.status is OrderStatus.PENDING_CANCEL:
            return order
        if not can_transition(order.status, OrderStatus.PENDING_CANCEL):
            raise DomainError(
                "ORDER_NOT_CANCELABLE", f"an order that is {order.status} cannot be canceled"
            )
        after = order.transition(OrderStatus.PENDING_CANCEL, now)
        event = Envelope.wrap(
            OrderCancelRequested(order=order_view(after)),
            account_id=account_id,
            correlation_id=correlation_id,
            occurred_at=now,
        )
        store.save_transition(order, after, [event])
        return after

    return on_conflict_retry(attempt)


def cancel_all(
    store: OrderStore, account_id: str, *, correlation_id: str, now: datetime
) -> list[Order]:
    """Ask to cancel every open order of the account; returns those now pending cancel."""
    pending = []
    for order in store.open_orders_of(account_id):
        try:
            pending.append(
                cancel_order(store, account_id, order.id, correlation_id=correlation_id, now=now)
            )
        except DomainError as error:
            if error.code not in ("ORDER_NOT_CANCELABLE", "ORDER_NOT_FOUND"):
                raise  # it ended since the index was read: nothing to cancel
    return pending


def replace_order(
    store: OrderStore,
    account_id: str,
    order_id: str,
    changes: dict[str, Any],
    *,
    correlation_id: str,
    now: datetime,
) -> Order:
    """A new order (``replaces``) that goes through risk like any order; the original is
    ``pending_replace`` until the new one is accepted, and then ``replaced``.

    ``quantity`` is the new total, which must exceed what the original has filled; the
    replacement trades the rest.
    """
    unknown = set(changes) - set(REPLACE_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise DomainError("ORDER_INVALID", f"{field} cannot be changed by a replace", field)

    numbers: list[int] = []  # one sequence for the replacement, however many attempts

    def attempt() -> Order:
        original = store.get_order(account_id, order_id)
        if original is None:
            raise not_found(order_id)
        if original.status not in REPLACEABLE:
            raise DomainError(
                "ORDER_NOT_REPLACEABLE", f"an order that is {original.status} cannot be replaced"
            )
        if original.order_class is not OrderClass.SIMPLE or original.notional is not None:
            # A replacement is a new order: it would leave its group (or its notional) behind.
            raise DomainError(
                "ORDER_NOT_REPLACEABLE",
                "an order of a bracket, oco or oto group, or a notional order, cannot be replaced",
            )
        body = {**_request_body(original), **changes}
        if "client_order_id" not in changes:
            body.pop("client_order_id", None)
        instrument = instrument_cache(store).get(original.symbol)
        request = OrderRequest.parse(body, instrument)
        if request.client_order_id and store.find_client_order(account_id, request.client_order_id):
            # Checked here: the claim's put condition would otherwise fail on every retry.
            raise DomainError(
                "ORDER_ID_CONFLICT",
                f"client_order_id {request.client_order_id!r} is already in use",
                "client_order_id",
            )
        if request.quantity <= original.filled_quantity:
            raise DomainError(
                "ORDER_INVALID",
                f"quantity must exceed the {original.filled_quantity} already filled",
                "quantity",
            )
        remaining = replace(request, quantity=request.quantity - original.filled_quantity)
        if not numbers:
            numbers.append(store.next_sequence(account_id))
        new = replace(
            Order.submit(
                new_id(),
                account_id,
                remaining,
                now,
                replaces=original.id,
                sequence=numbers[0],
                calendar=calendar_of(instrument) if instrument else UTC_DAYS,
            ),
            replaced_filled_quantity=original.filled_quantity,
        )
        pending = original.transition(OrderStatus.PENDING_REPLACE, now)
        event = Envelope.wrap(
            OrderSubmitted(order=order_view(new)),
            account_id=account_id,
            correlation_id=correlation_id,
            occurred_at=now,
        )
        store.write(
            orders_created=[(new, request_hash(body))],
            orders_changed=[(original, pending, None)],
            events=[event],
            correlation_id=correlation_id,
        )
        return new

    return on_conflict_retry(attempt)


def close_position(
    store: OrderStore, account_id: str, symbol: str, *, correlation_id: str, now: datetime
) -> Placed | None:
    """A market order that flattens the position; while one is open, that one is returned,
    so a repeated call never doubles it into the opposite side. None when already flat."""
    for order in store.open_orders_of(account_id):
        if order.closes_position and order.symbol == symbol:
            current = store.get_order(account_id, order.id)
            if current is not None and not current.is_final:
                return Placed(current, created=False)
    position = store.get_position(account_id, symbol)
    if position.quantity == 0:
        return None
    body = {
        "symbol": symbol,
        "side": "sell" if position.quantity > 0 else "buy",
        "type": "market",
        "quantity": format(abs(position.quantity), "f"),
        "time_in_force": "day",
    }
    # One close per position version: two racing calls claim the same id. A close of this
    # version that ended unfilled (denied, canceled, expired) takes the next id, so closing
    # again places a new order rather than answering with the dead one.
    placed = None
    for attempt in range(1, CLOSE_ATTEMPTS + 1):
        suffix = "" if attempt == 1 else f"-{attempt}"
        body["client_order_id"] = f"close-{symbol}-{position.version}{suffix}"
        placed = place_order(
            store, account_id, body, correlation_id=correlation_id, now=now, closes_position=True
        )
        if placed.created or not placed.order.is_final:
            break
    return placed


def _request_body(order: Order) -> dict[str, Any]:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")

    body = {
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "quantity": text(order.quantity),
        "limit_price": text(order.limit_price),
        "stop_price": text(order.stop_price),
        "trail_price": text(order.trail_price),
        "trail_percent": text(order.trail_percent),
        "time_in_force": order.time_in_force.value,
        "client_order_id": order.client_order_id,
    }
    return {key: value for key, value in body.items() if value is not None}

"""Order groups in the store: what a change to one order of a bracket, OCO or OTO group
does to the others, as extra writes of the transaction that makes the change.

The group's rule is ``domain.order_classes.settle``; this reads the group's other orders
(consistently) and turns the rule's answer into conditional writes and events. Each write
is conditional on the version read, so a race re-reads and decides again, and a
redelivered change finds the group settled and adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redfire_core.domain.order_classes import group_of, settle
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.events import Envelope, OrderAccepted, OrderCanceled, Payload, new_id
from redfire_core.ports import OrderStore
from redfire_core.views import order_view

OrderChange = tuple[Order, Order, list[dict[str, Any]] | None]


def group_changes(
    store: OrderStore, changed: Sequence[Order], now: datetime, cause: Envelope | None
) -> tuple[list[OrderChange], list[Envelope]]:
    """(order writes, events) that the groups of ``changed`` (orders as this transaction
    writes them) need with it. Nothing for simple orders (no read either)."""
    writes: list[OrderChange] = []
    events: list[Envelope] = []
    written = {order.id: order for order in changed}
    for group in dict.fromkeys(g for g in (group_of(o) for o in changed) if g is not None):
        account_id = changed[0].account_id
        parent = written.get(group) or store.get_order(account_id, group)
        if parent is None:
            raise LookupError(f"order {group} of {account_id} does not exist")
        legs = []
        for leg_id in parent.leg_ids:
            leg = written.get(leg_id) or store.get_order(account_id, leg_id)
            if leg is None:
                raise LookupError(f"leg {leg_id} of {group} does not exist")
            legs.append(leg)
        before = {o.id: o for o in (parent, *legs)}
        # The changed orders are written by the caller; the rule never moves them again.
        for after in settle(parent, legs, now):
            if after.id in written:
                continue
            writes.append((before[after.id], after, None))
            payload = _event_of(before[after.id], after)
            if payload is not None:
                events.append(_wrap(payload, after, cause, now))
    return writes, events


def _event_of(before: Order, after: Order) -> Payload | None:
    if before.status is OrderStatus.HELD and after.status is OrderStatus.ACCEPTED:
        return OrderAccepted(order=order_view(after))
    if after.status is OrderStatus.CANCELED:
        return OrderCanceled(order=order_view(after))
    return None  # a leg resized to what the entry has filled: the order shows it


def _wrap(payload: Payload, order: Order, cause: Envelope | None, now: datetime) -> Envelope:
    return Envelope.wrap(
        payload,
        account_id=order.account_id,
        correlation_id=cause.correlation_id if cause else new_id(),
        causation_id=cause.id if cause else None,
        occurred_at=now,
    )

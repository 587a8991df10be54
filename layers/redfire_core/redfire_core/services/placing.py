"""Placing an order: validate statically, then write it with its OrderSubmitted event."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from redfire_core.calendars import calendar_of
from redfire_core.domain.errors import DomainError
from redfire_core.domain.order_classes import GroupRequest, held_legs
from redfire_core.domain.orders import UTC_DAYS, Order
from redfire_core.events import Envelope, OrderSubmitted, new_id
from redfire_core.ports import ConflictError, OrderStore
from redfire_core.services.instruments import instrument_cache
from redfire_core.views import order_view


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool  # False: an earlier request with the same client_order_id


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def place_order(
    store: OrderStore,
    account_id: str,
    body: dict[str, Any],
    *,
    correlation_id: str,
    now: datetime,
    closes_position: bool = False,
) -> Placed:
    """Store a new order, or return the one already placed with this client_order_id."""
    instrument = instrument_cache(store).get(str(body.get("symbol") or ""))
    group = GroupRequest.parse(body, instrument)
    request = group.parent
    digest = request_hash(body)
    if request.client_order_id:
        earlier = _earlier(store, account_id, request.client_order_id, digest)
        if earlier is not None:
            return Placed(earlier, created=False)
    sequence = store.next_sequence(account_id)  # a crash after this leaves a gap: see order_stream
    order = Order.submit(
        new_id(),
        account_id,
        request,
        now,
        closes_position=closes_position,
        sequence=sequence,
        calendar=calendar_of(instrument) if instrument else UTC_DAYS,
    )
    # A group's legs are written with their parent, held until the group activates them.
    legs = [(new_id(), leg) for leg in group.legs]
    if legs:
        order = replace(
            order, order_class=group.order_class, leg_ids=tuple(leg_id for leg_id, _ in legs)
        )
    orders = [order, *held_legs(order, legs, now)]
    events = [
        Envelope.wrap(
            OrderSubmitted(order=order_view(placed)),
            account_id=account_id,
            correlation_id=correlation_id,
            occurred_at=now,
        )
        for placed in orders
    ]
    try:
        store.write(
            orders_created=[(placed, digest) for placed in orders],
            events=events,
            correlation_id=correlation_id,
        )
    except ConflictError:
        # A concurrent duplicate claimed the client_order_id first: answer with its order.
        if request.client_order_id:
            earlier = _earlier(store, account_id, request.client_order_id, digest)
            if earlier is not None:
                return Placed(earlier, created=False)
        raise
    return Placed(order, created=True)


def _earlier(store: OrderStore, account_id: str, client_order_id: str, digest: str) -> Order | None:
    claim = store.find_client_order(account_id, client_order_id)
    if claim is None:
        return None
    order_id, earlier_digest = claim
    if earlier_digest != digest:
        raise DomainError(
            "ORDER_ID_CONFLICT",
            f"client_order_id {client_order_id!r} was used for a different order",
            "client_order_id",
        )
    # The claim and the order are written in one transaction, so the order exists.
    return store.get_order(account_id, order_id)

"""Bringing a venue account's order to the state the venue reports.

A venue decides fills far away; RedFire learns them by asking (``venue_intake``) and
applies what it learns here, one change per transaction, through the same fill
transaction as paper fills (order, trade, position, book, ledger, events). Reports arrive
at least once and in any order: an execution is recorded once (its trade id derives from
the venue's execution id, and the trade's put is conditional on it not existing), and
the order's state machine refuses backward moves.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.matching import Decision
from redfire_core.domain.orders import Order, OrderStatus, can_transition
from redfire_core.domain.positions import Account
from redfire_core.events import Envelope, iso, new_id
from redfire_core.observability import logger
from redfire_core.ports import OrderStore
from redfire_core.services.execution import close_order, fill_of
from redfire_core.services.retrying import on_conflict_retry
from redfire_core.venues import VenueFill, VenueOrder, VenueStatus

VENUE_REJECTED = "VENUE_REJECTED"
MAX_STEPS = 1000  # one change per step; an order has far fewer executions than this
CLOSING: dict[VenueStatus, OrderStatus] = {
    VenueStatus.CANCELED: OrderStatus.CANCELED,
    VenueStatus.EXPIRED: OrderStatus.EXPIRED,
    VenueStatus.REJECTED: OrderStatus.REJECTED,
}


@cache
def _default_store() -> TradingStore:
    return TradingStore()


def venue_trade_id(order_id: str, execution_id: str) -> str:
    """The trade id of a venue execution: the same report always maps to the same trade."""
    return f"{order_id}-x{execution_id}"


def apply_venue_order(
    account_id: str,
    order_id: str,
    venue: VenueOrder,
    *,
    now: datetime,
    store: OrderStore | None = None,
) -> bool:
    """Bring RedFire's order to the venue's state: the venue order id recorded, each
    VenueFill not yet recorded (dedup by execution_id) through the SAME fill transaction as
    paper fills, canceled/expired/rejected (VENUE_REJECTED + venue message) closing it.
    Idempotent; out-of-order safe. Returns True when the order is final."""
    store = store or _default_store()
    cause = Envelope(
        id=new_id(),
        type="VenueOrderReported",
        occurred_at=iso(now),
        account_id=account_id,
        correlation_id=new_id(),
        payload={"order_id": order_id, "venue_order_id": venue.venue_order_id},
    )
    for _ in range(MAX_STEPS):
        step = on_conflict_retry(lambda: _step(store, account_id, order_id, venue, cause, now))
        if step != "changed":
            return step == "final"
    raise RuntimeError(f"order {order_id}: venue report did not settle")


def _step(
    store: OrderStore,
    account_id: str,
    order_id: str,
    venue: VenueOrder,
    cause: Envelope,
    now: datetime,
) -> str:
    """Make the one next change the report calls for: "changed", "final" or "unchanged"."""
    order = store.get_order(account_id, order_id)
    account = store.get_account(account_id)
    if order is None or account is None:
        raise LookupError(f"order {order_id} or account {account_id} does not exist")
    if order.is_final:
        return "final"
    if order.status is OrderStatus.SUBMITTED:
        return "unchanged"  # not decided yet: nothing was sent to the venue
    if order.venue_order_id is None and venue.venue_order_id:
        store.save_transition(order, order.update(now, venue_order_id=venue.venue_order_id), [])
        return "changed"
    fill = _next_fill(store, order, venue)
    if fill is not None:
        _record_fill(store, order, account, fill, cause)
        return "changed"
    closing = CLOSING.get(venue.status)
    if closing is None:
        return "unchanged"
    if closing is OrderStatus.REJECTED and not can_transition(order.status, closing):
        closing = OrderStatus.CANCELED  # a pending cancel the venue refused to keep
    if not can_transition(order.status, closing):
        return "unchanged"
    if closing is OrderStatus.REJECTED:
        reason = venue.reason or "the venue rejected the order"
        close_order(store, order, account, closing, reason, cause, now, code=VENUE_REJECTED)
    else:
        reason = venue.reason or f"{closing.value} at the venue"
        close_order(store, order, account, closing, reason, cause, now)
    return "changed"


def _next_fill(store: OrderStore, order: Order, venue: VenueOrder) -> VenueFill | None:
    """The first execution of the report not recorded yet. A venue that reports only the
    cumulative quantity and average price gets one execution per increase of it."""
    if venue.fills:
        for fill in sorted(venue.fills, key=lambda f: (f.at, f.execution_id)):
            recorded = store.has_trade(
                order.account_id, venue_trade_id(order.id, fill.execution_id)
            )
            if not recorded:
                if fill.quantity > order.remaining_quantity:
                    logger.warning(
                        "venue execution exceeds the order",
                        extra={"order_id": order.id, "execution_id": fill.execution_id},
                    )
                    return None
                return fill
        return None
    increase = venue.filled_quantity - order.filled_quantity
    if increase <= 0 or venue.average_price is None:
        return None  # an older report than what is applied, or nothing new
    price = (venue.average_price * venue.filled_quantity - order.filled_notional) / increase
    return VenueFill(
        execution_id=f"{venue.venue_order_id}@{format(venue.filled_quantity, 'f')}",
        quantity=min(increase, order.remaining_quantity),
        price=price,
        at=venue.updated_at or order.updated_at,
    )


def _record_fill(
    store: OrderStore, order: Order, account: Account, fill: VenueFill, cause: Envelope
) -> None:
    commission = fill.fee if fill.fee_currency in (None, account.currency) else Decimal(0)
    position = store.get_position(order.account_id, order.symbol)
    filled = fill_of(
        order,
        account,
        position,
        Decision(fill_quantity=fill.quantity, fill_price=fill.price),
        cause,
        fill.at,
        trade_id=venue_trade_id(order.id, fill.execution_id),
        commission=commission,
    )
    store.apply_fill(
        filled.order, filled.fill, filled.position, filled.account, filled.activities, filled.events
    )
    logger.info(
        "venue execution recorded",
        extra={"order_id": order.id, "trade_id": filled.fill.trade_id},
    )

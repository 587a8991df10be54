"""The gateway's side of the lifecycle: fills, cancels, expiries and replaces.

Each change is decided from freshly read state and written in one transaction that is
conditional on the versions read; a lost race re-reads and decides again. Replayed
or reordered events find the order already moved on and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from redfire_core.config import get_settings
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.ledger import Activity, fill_activities
from redfire_core.domain.matching import Decision
from redfire_core.domain.order_classes import leg_matching_rank
from redfire_core.domain.orders import ExecutionModel, Order, OrderStatus
from redfire_core.domain.positions import Account, Fill, Position
from redfire_core.events import (
    Envelope,
    MarketDataUpdated,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    Payload,
    PositionChanged,
)
from redfire_core.gateways import stage_gateway
from redfire_core.observability import logger
from redfire_core.ports import OrderStore
from redfire_core.services.instruments import instrument_cache
from redfire_core.services.order_groups import group_changes
from redfire_core.services.retrying import on_conflict_retry
from redfire_core.views import (
    account_changed,
    bar_of_update,
    fill_view,
    order_view,
    position_view,
)

WORKING = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.PENDING_REPLACE,
    }
)
CLOSE_EVENTS: dict[OrderStatus, type[OrderCanceled | OrderExpired | OrderRejected]] = {
    OrderStatus.CANCELED: OrderCanceled,
    OrderStatus.EXPIRED: OrderExpired,
    OrderStatus.REJECTED: OrderRejected,
}
Decide = Callable[[Order, Account, Instrument], Decision]


def execution_of(order: Order, account: Account) -> ExecutionModel:
    """The settings fixed on the order when it was accepted. An order accepted before they
    were fixed uses the account's current ones, cut down to the stage caps."""
    if order.execution is not None:
        return order.execution
    return get_settings().caps().execution(account.execution)


def on_order_accepted(store: OrderStore, event: Envelope, now: datetime) -> str:
    """Finish a replace if this order is one, then let the gateway act on it. Any other
    order was given to the gateway when it was decided (``risk_review.decide_order``)."""
    account_id, order_id = str(event.account_id), str(event.payload["order"]["id"])
    if not event.payload["order"].get("replaces"):
        return "decided"
    order = store.get_order(account_id, order_id)
    if order is None:
        raise LookupError(f"order {order_id} of {account_id} does not exist")
    if order.venue:  # the venue function replaces it once the venue confirms
        return "venue"
    if order.replaces and complete_replace(store, order, event, now) != "replaced":
        return "replace refused"

    def decide(order: Order, account: Account, instrument: Instrument) -> Decision:
        if order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
            return Decision()
        latest = store.latest_price(order.symbol)
        return stage_gateway().on_accept(
            order, latest.price if latest else None, execution_of(order, account), instrument
        )

    return act(store, account_id, order_id, decide, event, now)


def on_market_data(store: OrderStore, event: Envelope, now: datetime) -> int:
    """Let the gateway match every open order on the symbol against the new bar(s)."""
    update = MarketDataUpdated.model_validate(event.payload)
    bar = bar_of_update(update)

    def decide(order: Order, account: Account, instrument: Instrument) -> Decision:
        if order.status not in WORKING or order.venue:  # a venue fills its own orders
            return Decision()
        return stage_gateway().on_bar(order, bar, execution_of(order, account), instrument)

    # A group's stop acts before its take-profit when one bar reaches both (order_classes).
    outcomes = [
        act(store, order.account_id, order.id, decide, event, now)
        for order in sorted(store.open_orders(update.symbol), key=leg_matching_rank)
    ]
    return outcomes.count("filled")


def on_cancel_requested(store: OrderStore, event: Envelope, now: datetime) -> str:
    def decide(order: Order, account: Account, instrument: Instrument) -> Decision:
        if order.status is not OrderStatus.PENDING_CANCEL or order.venue:
            # Filled meanwhile, or a replayed request; a venue order waits for the venue.
            return Decision()
        return Decision(close=OrderStatus.CANCELED, reason="canceled at the client's request")

    return act(store, str(event.account_id), str(event.payload["order"]["id"]), decide, event, now)


def expire_due(store: OrderStore, now: datetime, cause: Envelope) -> int:
    """Expire every open order whose time in force has ended (the scheduled sweep)."""
    expired = 0
    for instrument in store.list_instruments():
        for order in store.open_orders(instrument.symbol):
            if order.expires_at is None or order.expires_at > now or order.venue:
                continue  # a venue expires its own orders (polls, reconciliation)

            def decide(order: Order, account: Account, instrument: Instrument) -> Decision:
                if order.is_final or order.expires_at is None or order.expires_at > now:
                    return Decision()
                return Decision(close=OrderStatus.EXPIRED, reason="the trading day ended")

            if act(store, order.account_id, order.id, decide, cause, now) == "expired":
                expired += 1
    return expired


def act(
    store: OrderStore,
    account_id: str,
    order_id: str,
    decide: Decide,
    cause: Envelope,
    now: datetime,
) -> str:
    """Read, decide, write: retried from the read when a conditional write loses."""

    def attempt() -> str:
        order = store.get_order(account_id, order_id)
        account = store.get_account(account_id)
        if order is None or account is None:
            raise LookupError(f"order {order_id} or account {account_id} does not exist")
        instrument = instrument_cache(store).get(order.symbol)
        if instrument is None:
            raise LookupError(f"instrument {order.symbol} does not exist")
        decision = decide(order, account, instrument)
        if decision.fills:
            return _fill(store, order, account, decision, cause, now)
        if decision.close is not None:
            close_order(store, order, account, decision.close, decision.reason or "", cause, now)
            return decision.close.value
        if decision.changes:
            after = order.update(now, **decision.changes)
            store.save_transition(order, after, [])
            return "updated"
        return "unchanged"

    return on_conflict_retry(attempt)


@dataclass(frozen=True)
class Filled:
    """Everything one fill changes, computed from what was read: written together."""

    order: tuple[Order, Order]
    fill: Fill
    position: tuple[Position, Position]
    account: tuple[Account, Account]
    activities: Sequence[Activity]
    events: list[Envelope]


def fill_of(
    order: Order,
    account: Account,
    position: Position,
    decision: Decision,
    cause: Envelope,
    now: datetime,
    *,
    trade_id: str | None = None,
    commission: Decimal | None = None,
) -> Filled:
    """The fill a gateway decided, as the changes it makes (pure: no reads, no writes).
    A venue's execution brings its own ``trade_id`` (from its execution id) and fee."""
    quantity, price = decision.fill_quantity, decision.fill_price
    assert price is not None
    if commission is None:
        commission = execution_of(order, account).fill_commission(
            quantity,
            price,
            filled_quantity=order.filled_quantity,
            filled_notional=order.filled_notional,
            paid=order.commission,
        )
    # The trade id derives from the order version it fills, so a replayed event that
    # races the original computes the same id and the trade's put condition stops it.
    fill = Fill(
        trade_id=trade_id or f"{order.id}-{order.version}",
        order_id=order.id,
        account_id=order.account_id,
        symbol=order.symbol,
        side=order.side,
        quantity=quantity,
        price=price,
        commission=commission,
        executed_at=now,
    )
    released = order.reservation_released_by(quantity)
    after = replace(order.fill(quantity, price, now, commission), **decision.changes)
    position_after = position.apply(fill)
    account_after = account.apply(
        fill, position_after.realized_pnl - position.realized_pnl, released
    ).counted_trade(order.symbol, now)
    events = [
        _event(
            OrderFilled(
                order=order_view(after),
                fill=fill_view(fill),
                position_quantity=format(position_after.quantity, "f"),
            ),
            order,
            cause,
            now,
        ),
        _event(
            PositionChanged(position=position_view(position_after), trade_id=fill.trade_id),
            order,
            cause,
            now,
        ),
        _event(account_changed(account_after, "fill", order.id), order, cause, now),
    ]
    return Filled(
        (order, after),
        fill,
        (position, position_after),
        (account, account_after),
        fill_activities(fill),
        events,
    )


def _fill(
    store: OrderStore,
    order: Order,
    account: Account,
    decision: Decision,
    cause: Envelope,
    now: datetime,
) -> str:
    position = store.get_position(order.account_id, order.symbol)
    filled = fill_of(order, account, position, decision, cause, now)
    # A fill activates or sizes its group's legs, or cancels its one-cancels-other partner.
    legs, leg_events = group_changes(store, [filled.order[1]], now, cause)
    store.write(
        orders_changed=[(order, filled.order[1], None), *legs],
        trades=[filled.fill],
        positions_changed=[filled.position],
        accounts_changed=[filled.account],
        activities=filled.activities,
        events=[*filled.events, *leg_events],
    )
    logger.info("order filled", extra={"order_id": order.id, "trade_id": filled.fill.trade_id})
    return "filled"


def close_reason(status: OrderStatus, reason: str, code: str | None = None) -> dict[str, str]:
    """The ``reject_reason`` of an order closed with ``status`` (``code`` overrides)."""
    code = code or {"canceled": "ORDER_CANCELED", "expired": "ORDER_EXPIRED"}.get(
        status.value, "ORDER_REJECTED"
    )
    return {"code": code, "message": reason}


def close_order(
    store: OrderStore,
    order: Order,
    account: Account,
    status: OrderStatus,
    reason: str,
    cause: Envelope,
    now: datetime,
    code: str | None = None,
) -> None:
    """Cancel, expire or reject the order and release what it still holds, together."""
    after = order.close(status, now, close_reason(status, reason, code))
    payload = CLOSE_EVENTS[status](order=order_view(after))
    released = account.reserve(-order.reserved)
    if status is OrderStatus.CANCELED:  # the daily cancel limits count it
        released = released.counted_cancel(order.symbol, now)
    events = [_event(payload, order, cause, now)]
    if order.reserved:
        events.append(_event(account_changed(released, "released", order.id), order, cause, now))
    legs, leg_events = group_changes(store, [after], now, cause)  # the group ends with it
    store.write(
        orders_changed=[(order, after, None), *legs],
        accounts_changed=[(account, released)],
        events=[*events, *leg_events],
    )
    logger.info(
        "order closed", extra={"order_id": order.id, "status": status.value, "reason": reason}
    )


def complete_replace(store: OrderStore, new: Order, cause: Envelope, now: datetime) -> str:
    """The replacement was accepted: retire the original, or refuse the replacement when
    the original already ended (filled or canceled first). Fills of the original that
    raced the replace are taken off the replacement."""

    def attempt() -> str:
        replacement = store.get_order(new.account_id, new.id)
        original = store.get_order(new.account_id, str(new.replaces))
        account = store.get_account(new.account_id)
        if replacement is None or original is None or account is None:
            raise LookupError(f"replace of {new.replaces} by {new.id} lost an order")
        if replacement.status is not OrderStatus.ACCEPTED:
            return "replaced" if original.status is OrderStatus.REPLACED else "skipped"
        if original.status is not OrderStatus.PENDING_REPLACE:
            close_order(
                store,
                replacement,
                account,
                OrderStatus.REJECTED,
                f"the original order is already {original.status.value}",
                cause,
                now,
            )
            return "refused"
        raced = original.filled_quantity - (replacement.replaced_filled_quantity or Decimal(0))
        quantity = replacement.quantity - raced
        if quantity <= 0:
            close_order(
                store,
                replacement,
                account,
                OrderStatus.REJECTED,
                "the original order filled while it was being replaced",
                cause,
                now,
            )
            return "refused"
        retired_order = replace(
            original.close(OrderStatus.REPLACED, now), replaced_by=replacement.id
        )
        adjusted = replace(
            replacement, quantity=quantity, version=replacement.version + 1, updated_at=now
        )
        if raced:
            adjusted = replace(
                adjusted, reserved=replacement.reserved * quantity / replacement.quantity
            )
        released = original.reserved + (replacement.reserved - adjusted.reserved)
        event = _event(
            OrderReplaced(order=order_view(adjusted), replaced=order_view(retired_order)),
            new,
            cause,
            now,
        )
        account_after = account.reserve(-released)
        events = [event]
        if released:
            changed = account_changed(account_after, "released", original.id)
            events.append(_event(changed, new, cause, now))
        store.write(
            orders_changed=[(original, retired_order, None), (replacement, adjusted, None)],
            accounts_changed=[(account, account_after)],
            events=events,
        )
        return "replaced"

    return on_conflict_retry(attempt)


def _event(payload: Payload, order: Order, cause: Envelope, now: datetime) -> Envelope:
    return Envelope.wrap(
        payload,
        account_id=order.account_id,
        correlation_id=cause.correlation_id,
        causation_id=cause.id,
        occurred_at=now,
    )

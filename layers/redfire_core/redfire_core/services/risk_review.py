"""Pre-trade review of a submitted order: accept it or deny it with every reason."""

from __future__ import annotations

from datetime import datetime

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.domain.risk import RiskContext, RiskLimits, check_order, reservation
from redfire_core.events import Envelope, OrderAccepted, OrderDenied
from redfire_core.observability import logger
from redfire_core.services.retrying import on_conflict_retry
from redfire_core.views import order_view


def _restore_original(
    store: TradingStore, replacement: Order, now: datetime
) -> list[tuple[Order, Order, None]]:
    """A denied replacement leaves the original working as it was."""
    if replacement.replaces is None:
        return []
    original = store.get_order(replacement.account_id, replacement.replaces)
    if original is None or original.status is not OrderStatus.PENDING_REPLACE:
        return []
    working = OrderStatus.PARTIALLY_FILLED if original.filled_quantity else OrderStatus.ACCEPTED
    return [(original, original.transition(working, now), None)]


def review_order(store: TradingStore, event: Envelope, now: datetime) -> str:
    """Decide on the order of an OrderSubmitted event; returns what happened.

    Idempotent: an order that is no longer ``submitted`` was decided already (or moved
    on through a reordered event) and is left as it is.
    """
    order_id = str(event.payload["order"]["id"])
    account_id = str(event.account_id)

    def decide() -> str:
        order = store.get_order(account_id, order_id)
        if order is None:
            raise LookupError(f"order {order_id} of {account_id} does not exist")
        if order.status is not OrderStatus.SUBMITTED:
            logger.info(
                "order already reviewed", extra={"order_id": order_id, "status": order.status.value}
            )
            return "skipped"
        account = store.get_account(account_id)
        if account is None:
            raise LookupError(f"account {account_id} does not exist")
        ctx = RiskContext(
            account=account,
            position=store.get_position(account_id, order.symbol),
            latest=store.latest_price(order.symbol),
            limits=RiskLimits(max_price_age_seconds=get_settings().max_price_age_seconds),
            now=now,
        )
        denials = check_order(order, ctx)
        if denials:
            reasons = [d.as_dict() for d in denials]
            after = order.deny(reasons, now)
            outcome = Envelope.wrap(
                OrderDenied(order=order_view(after), reject_reasons=reasons),
                account_id=account_id,
                correlation_id=event.correlation_id,
                causation_id=event.id,
                occurred_at=now,
            )
            store.write(
                orders_changed=[(order, after, reasons), *_restore_original(store, order, now)],
                events=[outcome],
            )
            logger.info(
                "order denied", extra={"order_id": order_id, "codes": [d.code for d in denials]}
            )
            return "denied"
        held = reservation(order, ctx.latest, account)
        after = order.accept(now, reserved=held)
        outcome = Envelope.wrap(
            OrderAccepted(order=order_view(after)),
            account_id=account_id,
            correlation_id=event.correlation_id,
            causation_id=event.id,
            occurred_at=now,
        )
        store.save_transition(order, after, [outcome], account=(account, account.reserve(held)))
        logger.info("order accepted", extra={"order_id": order_id})
        return "accepted"

    return on_conflict_retry(decide)

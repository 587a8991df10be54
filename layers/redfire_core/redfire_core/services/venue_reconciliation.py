"""Reconciliation of a venue account: RedFire's orders, positions and cash against the venue's.

The per-order intake polls an order for up to 10 minutes after its submit; what it misses
(a GTC order filled hours later, a lost poll message, an order placed at the venue by
hand) is found here, every 5 minutes (the ``venue-reconcile`` schedule). A difference is a
``ReconciliationDrift`` event (through the outbox, like every event), an audit record and,
through the handler, a metric that raises an alarm; where the venue's record of an order
is final, RedFire's order is brought to it through the same path the intake uses
(``venue_orders.apply_venue_order``: the fill transaction of paper fills).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.routed_accounts import accounts_on
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import Settings
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.events import Envelope, ReconciliationDrift, new_id
from redfire_core.observability import logger
from redfire_core.services.venue_accounts import CONNECTED, record_gateway_error
from redfire_core.services.venue_orders import apply_venue_order
from redfire_core.venues import (
    VenueAuthError,
    VenueError,
    VenueGateway,
    VenueNotFound,
    VenueOrder,
)

RECONCILER_ACTOR = "venue-reconciler"
AUDIT_ACTION = "venue.drift"
# An order accepted this recently may still wait in its venue queue for its submit (or be
# backing off a rate limit): the venue not knowing it yet is no drift.
SUBMIT_GRACE = timedelta(minutes=5)
# The outbox rows of one reconciliation go out in transactions of at most this many.
EVENTS_PER_WRITE = 25

# apply_venue_order(account_id, order_id, venue, *, now) -> True when the order is final.
ApplyVenueOrder = Callable[..., bool]


@dataclass(frozen=True)
class Drift:
    """One difference between RedFire's record and the venue's (see ``ReconciliationDrift``)."""

    kind: str
    symbol: str | None = None
    order_id: str | None = None
    ours: str | None = None
    theirs: str | None = None
    repaired: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "symbol": self.symbol,
            "order_id": self.order_id,
            "ours": self.ours,
            "theirs": self.theirs,
            "repaired": self.repaired,
        }


@dataclass
class Reconciliation:
    """What one run found and did for one account."""

    account_id: str
    drifts: list[Drift] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # order ids brought to the venue's state
    caught_up: list[str] = field(default_factory=list)  # open orders whose new fills were applied


def reconcile_account(
    account_id: str,
    gateway: VenueGateway,
    *,
    now: datetime,
    venue: str = "",
    store: TradingStore | None = None,
    audit: AuditLog | None = None,
    apply: ApplyVenueOrder | None = None,
) -> Reconciliation:
    """Compare the account's open orders, positions and cash with ``gateway``'s; repair the
    orders the venue holds final; record every difference (event, audit record).

    Venue errors propagate (the caller decides per account); drift is recorded only once
    every venue read succeeded (repairs made before a failure stay: they are idempotent)."""
    store = store or TradingStore()
    apply = apply or apply_venue_order
    result = Reconciliation(account_id)
    ours = {o.id: o for o in store.open_orders_of(account_id) if _sent_to_venue(o)}
    theirs = {o.client_order_id: o for o in gateway.open_orders()}
    _open_here(store, gateway, apply, ours, theirs, now, result)
    _open_there(store, account_id, ours, theirs, result)
    _balances(store, gateway, account_id, result)
    if result.drifts:
        _record(store, audit or AuditLog(), account_id, venue, result.drifts, now)
    return result


def _open_here(
    store: TradingStore,
    gateway: VenueGateway,
    apply: ApplyVenueOrder,
    ours: dict[str, Order],
    theirs: dict[str, VenueOrder],
    now: datetime,
    result: Reconciliation,
) -> None:
    """Orders open here: catch up on fills of those open there too, repair the others."""
    for order_id, order in ours.items():
        at_venue = theirs.get(order_id)
        if at_venue is None:
            _reconcile_closed(store, order, gateway, apply, now, result)
        elif at_venue.filled_quantity > order.filled_quantity:
            # Fills the intake has not applied (it stops polling after 10 minutes).
            apply(order.account_id, order_id, _with_fills(gateway, at_venue, order), now=now)
            result.caught_up.append(order_id)


def _open_there(
    store: TradingStore,
    account_id: str,
    ours: dict[str, Order],
    theirs: dict[str, VenueOrder],
    result: Reconciliation,
) -> None:
    """Orders open at the venue that RedFire does not hold open: never placed here, or
    closed here (a cancel the venue never got)."""
    for client_order_id, at_venue in theirs.items():
        if client_order_id in ours:
            continue
        known = store.get_order(account_id, client_order_id)
        if known is not None and not known.is_final and not _sent_to_venue(known):
            continue  # still waiting for risk here: the venue cannot hold it; ids collide
        result.drifts.append(
            Drift(
                kind="order_unknown",
                order_id=client_order_id,
                ours=known.status.value if known is not None else None,
                theirs=at_venue.status.value,
            )
        )


def _balances(
    store: TradingStore, gateway: VenueGateway, account_id: str, result: Reconciliation
) -> None:
    """Positions (non-zero quantities per symbol) and cash, after the repairs above."""
    balances = gateway.balances()
    held = {p.symbol: p.quantity for p in store.list_positions(account_id) if p.quantity != 0}
    at_venue_held = {p.symbol: p.quantity for p in balances.positions if p.quantity != 0}
    for symbol in sorted(held.keys() | at_venue_held.keys()):
        mine, venues = held.get(symbol), at_venue_held.get(symbol)
        if mine != venues:
            result.drifts.append(
                Drift(kind="position", symbol=symbol, ours=_text(mine), theirs=_text(venues))
            )
    account = store.get_account(account_id)
    if account is None:
        raise LookupError(f"account {account_id} does not exist")
    if account.cash != balances.cash:
        result.drifts.append(
            Drift(kind="cash", symbol=None, ours=_text(account.cash), theirs=_text(balances.cash))
        )


def _sent_to_venue(order: Order) -> bool:
    """Orders still waiting for risk were never sent; every other open order was."""
    return order.status is not OrderStatus.SUBMITTED


def _with_fills(gateway: VenueGateway, listed: VenueOrder, order: Order) -> VenueOrder:
    """The order with its executions: a listing may leave them out."""
    if listed.fills or listed.filled_quantity == 0:
        return listed
    return gateway.find(listed.client_order_id, order.symbol)


def _reconcile_closed(
    store: TradingStore,
    order: Order,
    gateway: VenueGateway,
    apply: ApplyVenueOrder,
    now: datetime,
    result: Reconciliation,
) -> None:
    """An order open here that the venue does not list as open: look it up by its id."""
    try:
        at_venue = gateway.find(order.id, order.symbol)
    except VenueNotFound:
        sent_at = order.accepted_at or order.updated_at
        if now - sent_at >= SUBMIT_GRACE:
            result.drifts.append(
                Drift(
                    kind="order_missing_at_venue",
                    symbol=order.symbol,
                    order_id=order.id,
                    ours=order.status.value,
                )
            )
        return
    if not at_venue.status.is_final:
        return  # listed late (the listing and the lookup raced): the intake has it
    current = store.get_order(order.account_id, order.id)  # the index may lag a write
    if current is None or current.is_final:
        return
    repaired = apply(order.account_id, order.id, at_venue, now=now)
    if repaired:
        result.repaired.append(order.id)
    result.drifts.append(
        Drift(
            kind="order_closed_at_venue",
            symbol=order.symbol,
            order_id=order.id,
            ours=current.status.value,
            theirs=at_venue.status.value,
            repaired=bool(repaired),
        )
    )


def _record(
    store: TradingStore,
    audit: AuditLog,
    account_id: str,
    venue: str,
    drifts: Sequence[Drift],
    now: datetime,
) -> None:
    correlation_id = new_id()
    events = [
        Envelope.wrap(
            ReconciliationDrift(venue=venue, **drift.as_dict()),
            account_id=account_id,
            correlation_id=correlation_id,
            occurred_at=now,
        )
        for drift in drifts
    ]
    for start in range(0, len(events), EVENTS_PER_WRITE):
        store.write(events=events[start : start + EVENTS_PER_WRITE])
    for drift in drifts:
        audit.record(
            account_id=account_id,
            actor=RECONCILER_ACTOR,
            action=AUDIT_ACTION,
            detail={"venue": venue, **drift.as_dict()},
            now=now,
            object_id=drift.order_id or drift.symbol,
        )
    logger.warning(
        "venue drift",
        extra={
            "account_id": account_id,
            "venue": venue,
            "kinds": sorted({d.kind for d in drifts}),
            "drifts": len(drifts),
        },
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


@dataclass
class VenueSweep:
    """One run of the ``venue-reconcile`` schedule over a venue's accounts."""

    accounts: int = 0  # reconciled
    skipped: int = 0  # not connected (connecting, or in error until the admin fixes it)
    failed: int = 0  # the venue could not be read (unavailable, rate limited, refused)
    drifts: int = 0
    repaired: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "accounts": self.accounts,
            "skipped": self.skipped,
            "failed": self.failed,
            "drifts": self.drifts,
            "repaired": self.repaired,
        }


def reconcile_venue(
    kind: str,
    gateway_for: Callable[[str], VenueGateway],
    *,
    now: datetime,
    apply: ApplyVenueOrder | None = None,
    settings: Settings | None = None,
) -> VenueSweep:
    """Reconcile every connected account routed to venue ``kind`` (``alpaca``, ``ccxt``).

    One account's venue failing does not stop the others: its error is logged and counted,
    and the next run, 5 minutes later, tries again; a refused key puts the account's gateway
    in ``error`` (as the intake does: new orders denied, the gateway-errors alarm), which
    this sweep then skips until the admin sets working credentials."""
    swept = VenueSweep()
    store = TradingStore(settings)
    audit = AuditLog(settings)
    for routed in accounts_on(kind, settings):
        if routed.status != CONNECTED:
            swept.skipped += 1
            continue
        try:
            result = reconcile_account(
                routed.account_id,
                gateway_for(routed.account_id),
                now=now,
                venue=routed.gateway,
                store=store,
                audit=audit,
                apply=apply,
            )
        except VenueError as failed:
            swept.failed += 1
            if isinstance(failed, VenueAuthError):  # revoked: new orders are denied, alarm
                record_gateway_error(store, routed.account_id, failed.message)
            logger.warning(
                "venue reconciliation failed",
                extra={
                    "account_id": routed.account_id,
                    "venue": routed.gateway,
                    "error": type(failed).__name__,
                    "venue_message": failed.message,
                },
            )
            continue
        swept.accounts += 1
        swept.drifts += len(result.drifts)
        swept.repaired += len(result.repaired)
    return swept

"""Pre-trade review of a submitted order: accept it or deny it with every reason.

The order's move, its reservation and the counters it uses up (both on the account's
book item, conditional on the version read) are one transaction: two orders racing for
the last of the buying power, or of a daily or rate limit, cannot both pass; the loser
re-reads and is judged again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from redfire_core.adapters.risk_store import RiskStore
from redfire_core.config import Settings, get_settings
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.matching import Decision
from redfire_core.domain.orders import Order, OrderRequest, OrderStatus, notional_quantity
from redfire_core.domain.positions import Account, Position
from redfire_core.domain.risk import (
    AccountBook,
    Denial,
    LatestPrice,
    RiskContext,
    RiskLimits,
    TradingState,
    book_of_context,
    evaluate,
    limits_from,
    reservation,
    timed_out,
    timeout_denial,
)
from redfire_core.events import Envelope, OrderAccepted, OrderDenied, new_id
from redfire_core.gateways import stage_gateway
from redfire_core.observability import logger
from redfire_core.ports import OrderFilter, OrderStore, RiskPort, RiskSnapshot
from redfire_core.services.execution import CLOSE_EVENTS, close_reason, execution_of, fill_of
from redfire_core.services.instruments import instrument_cache
from redfire_core.services.order_groups import group_changes
from redfire_core.services.retrying import on_conflict_retry
from redfire_core.services.venue_accounts import CONNECTED, ERROR, GATEWAY_UNAVAILABLE, PAPER
from redfire_core.views import account_changed, order_view

RECENT_ORDERS_PAGE = 200
# How long an order waits for the account's order numbered just before it (a gap in the
# sequence: an API call that took its number and has not stored its order yet, or crashed)
# before it is decided anyway. Within the stream mapping's retry budget (see order_stream).
SEQUENCE_GAP_WAIT_SECONDS = 1.0


class SequenceGap(Exception):
    """The account's previous order (by sequence) is not decided yet: decide this one later."""


@dataclass(frozen=True)
class Assessment:
    """A pre-trade check's inputs, the account's book built from them, and the verdicts."""

    context: RiskContext
    book: AccountBook
    snapshot: RiskSnapshot
    limits: RiskLimits
    symbol_limits: RiskLimits
    verdicts: list[Any]
    judged: Order | None = None  # a notional order: sized at the latest price for the rules

    @property
    def denials(self) -> list[Denial]:
        return [v.denial() for v in self.verdicts if not v.passed]

    def reservation(self, order: Order) -> Decimal:
        """What accepting ``order`` holds of the account, from the assessed inputs."""
        ctx = self.context
        if self.judged is not None and self.judged.id == order.id:
            order = self.judged
        return reservation(
            order,
            ctx.latest,
            ctx.account,
            ctx.position,
            self.symbol_limits.price_band_pct,
            ctx.tick_size,
        )


def effective_limits(
    settings: Settings, snapshot_overrides: Any, symbol: str | None
) -> tuple[RiskLimits, RiskLimits]:
    """(account limits, limits for ``symbol``): stage defaults, account, symbol overrides,
    none above the stage caps (an override stored before a cap was lowered is cut down)."""
    defaults = settings.risk_limit_defaults()
    caps = settings.caps()
    account = caps.limits(limits_from(defaults, snapshot_overrides.account))
    if symbol is None:
        return account, account
    per_symbol = snapshot_overrides.symbols.get(symbol) or {}
    return account, caps.limits(limits_from(defaults, snapshot_overrides.account, per_symbol))


def assess(
    store: OrderStore,
    risk: RiskPort,
    order: Order,
    now: datetime,
    settings: Settings | None = None,
) -> Assessment:
    """Read everything the rules need (fresh, consistent reads) and run them all."""
    settings = settings or get_settings()
    account_id = order.account_id
    account = store.get_account(account_id)
    if account is None:
        raise LookupError(f"account {account_id} does not exist")
    snapshot = risk.snapshot(account_id)
    limits, symbol_limits = effective_limits(settings, snapshot.overrides, order.symbol)
    positions = store.list_positions(account_id)
    position = next(
        (p for p in positions if p.symbol == order.symbol), Position(account_id, order.symbol)
    )
    latest = store.latest_price(order.symbol)
    prices: dict[str, Decimal] = {}
    for held in positions:
        if held.quantity != 0 and held.symbol != order.symbol:
            mark = store.latest_price(held.symbol)
            if mark is not None:
                prices[held.symbol] = mark.price
    window = symbol_limits.duplicate_window_seconds
    recent = (
        store.list_orders(
            account_id,
            RECENT_ORDERS_PAGE,
            None,
            OrderFilter(symbol=order.symbol, created_from=now - timedelta(seconds=window)),
        ).items
        if window
        else []
    )
    instrument = instrument_cache(store).get(order.symbol)
    context = RiskContext(
        account=account,
        position=position,
        latest=latest,
        limits=limits,
        now=now,
        symbol_limits=symbol_limits,
        positions=positions,
        prices=prices,
        # Held legs are not working yet, and the order's own legs only ever reduce what it
        # opens: risk judges a group by its entry (order_classes).
        open_orders=[
            o
            for o in store.open_orders_of(account_id)
            if o.status is not OrderStatus.HELD and o.parent_order_id != order.id
        ],
        recent_orders=recent,
        counters=account.counters,
        state=snapshot.state.state,
        global_state=snapshot.global_state.state,
        instrument_known=instrument is not None,
        tick_size=instrument.tick_size if instrument is not None else Decimal(0),
    )
    book = book_of_context(context)
    judged = _sized_for_risk(order, latest, instrument)
    verdicts = evaluate(judged, context, book)
    return Assessment(context, book, snapshot, limits, symbol_limits, verdicts, judged)


def _sized_for_risk(
    order: Order, latest: LatestPrice | None, instrument: Instrument | None
) -> Order:
    """A notional order as the rules judge it: the quantity its notional buys at the latest
    price (its fill sets the real one); any other order as it is."""
    if order.notional is None or order.quantity != 0 or latest is None or instrument is None:
        return order
    return replace(order, quantity=notional_quantity(order.notional, latest.price, instrument))


def _restore_original(
    store: OrderStore, replacement: Order, now: datetime
) -> list[tuple[Order, Order, None]]:
    """A denied replacement leaves the original working as it was."""
    if replacement.replaces is None:
        return []
    original = store.get_order(replacement.account_id, replacement.replaces)
    if original is None or original.status is not OrderStatus.PENDING_REPLACE:
        return []
    working = OrderStatus.PARTIALLY_FILLED if original.filled_quantity else OrderStatus.ACCEPTED
    return [(original, original.transition(working, now), None)]


def deny(
    store: OrderStore,
    order: Order,
    denials: list[Denial],
    cause: Envelope | None,
    now: datetime,
    book: tuple[Account, Account] | None = None,
) -> None:
    """``denied`` with the headline and every reason, and OrderDenied, in one transaction
    (with the book's last decided sequence, when given)."""
    reasons = [d.as_dict() for d in denials]
    after = order.deny(reasons, now)
    outcome = Envelope.wrap(
        OrderDenied(order=order_view(after), reject_reasons=reasons),
        account_id=order.account_id,
        correlation_id=cause.correlation_id if cause else new_id(),
        causation_id=cause.id if cause else None,
        occurred_at=now,
    )
    legs, leg_events = group_changes(store, [after], now, cause)
    store.write(
        orders_changed=[(order, after, reasons), *_restore_original(store, order, now), *legs],
        accounts_changed=[book] if book and book[0] != book[1] else [],
        events=[outcome, *leg_events],
    )
    logger.debug("order denied", extra={"order_id": order.id, "codes": [d.code for d in denials]})


def review_order(
    store: OrderStore,
    event: Envelope,
    now: datetime,
    risk: RiskPort | None = None,
    settings: Settings | None = None,
) -> str:
    """Decide on the order of an OrderSubmitted event; returns what happened."""
    order = store.get_order(str(event.account_id), str(event.payload["order"]["id"]))
    if order is None:
        raise LookupError(f"order {event.payload['order']['id']} does not exist")
    return decide_order(store, order, event, now, risk, settings)


def decide_order(
    store: OrderStore,
    submitted: Order,
    cause: Envelope,
    now: datetime,
    risk: RiskPort | None = None,
    settings: Settings | None = None,
    *,
    in_sequence: bool = False,
) -> str:
    """Accept or deny ``submitted`` and, when the gateway fills an accepted order at once
    (a paper market order with a price), fill it: one transaction either way.

    Idempotent: an order that is no longer ``submitted`` was decided already and is left
    as it is. ``submitted`` is the order as the caller saw it (a stream image); a lost
    race re-reads it. With ``in_sequence``, an order whose predecessor (by the account's
    sequence) is not decided yet raises ``SequenceGap`` for up to
    ``SEQUENCE_GAP_WAIT_SECONDS`` after it was stored; the book records the last decided.
    """
    settings = settings or get_settings()
    risk = risk or RiskStore(settings)
    account_id, order_id = submitted.account_id, submitted.id
    seen: list[Order] = [submitted]

    def decide() -> str:
        order = seen.pop() if seen else store.get_order(account_id, order_id)
        if order is None:
            raise LookupError(f"order {order_id} of {account_id} does not exist")
        if order.status is not OrderStatus.SUBMITTED:
            logger.debug("order already decided", extra={"order_id": order_id})
            if in_sequence:
                _mark_decided(store, order)  # canceled before its decision: not a gap
            return "skipped"
        assessment = assess(store, risk, order, now, settings)
        ctx = assessment.context
        book = ctx.account
        if in_sequence and _waits_for_predecessor(order, book, now):
            raise SequenceGap(f"order {order.sequence} waits for {book.last_sequence + 1}")
        denials = assessment.denials + gateway_denials(book) + paper_only_denials(order, book)
        if denials:
            deny(store, order, denials, cause, now, book=(book, book.decided(order.sequence)))
            return "denied"
        held = assessment.reservation(order)
        # The settings the hold was computed with are the ones its fills will pay.
        accepted = order.accept(now, reserved=held, execution=ctx.account.execution)
        if book.gateway != PAPER:
            # A venue account's order is accepted here and sent to its venue after this
            # write (order_stream routes the accepted image): the venue decides the fills.
            accepted = replace(accepted, venue=book.gateway)
        reserved = (
            ctx.account.reserve(held).decided(order.sequence).counted_order(order.symbol, now)
        )
        accepted_event = _caused(OrderAccepted(order=order_view(accepted)), cause, now)
        decision = gateway_decision(store, accepted, reserved, ctx.latest)
        if decision.fills:
            filled = fill_of(accepted, reserved, ctx.position, decision, cause, now)
            legs, leg_events = group_changes(store, [filled.order[1]], now, cause)
            store.write(
                orders_changed=[(order, filled.order[1], None), *legs],
                trades=[filled.fill],
                positions_changed=[filled.position],
                accounts_changed=[(ctx.account, filled.account[1])],
                activities=filled.activities,
                events=[accepted_event, *filled.events, *leg_events],
            )
            logger.debug("order accepted and filled", extra={"order_id": order_id})
            return "filled"
        if decision.close is not None:  # ioc / fok not marketable: nothing was held
            closed = accepted.close(
                decision.close, now, close_reason(decision.close, decision.reason or "")
            )
            closing = CLOSE_EVENTS[decision.close](order=order_view(closed))
            book = ctx.account.decided(order.sequence).counted_order(order.symbol, now)
            if decision.close is OrderStatus.CANCELED:
                book = book.counted_cancel(order.symbol, now)
            legs, leg_events = group_changes(store, [closed], now, cause)
            store.write(
                orders_changed=[(order, closed, None), *legs],
                accounts_changed=[(ctx.account, book)],
                events=[accepted_event, _caused(closing, cause, now), *leg_events],
            )
            return decision.close.value
        if decision.changes:
            accepted = accepted.update(now, **decision.changes)
        events = [accepted_event]
        if held:
            events.append(_caused(account_changed(reserved, "reserved", order.id), cause, now))
        legs, leg_events = group_changes(store, [accepted], now, cause)  # an oco's stop
        events += leg_events
        store.write(
            orders_changed=[(order, accepted, None), *legs],
            accounts_changed=[(ctx.account, reserved)],
            events=events,
        )
        logger.debug("order accepted", extra={"order_id": order_id, "reserved": str(held)})
        return "accepted"

    return on_conflict_retry(decide)


def gateway_denials(book: Account) -> list[Denial]:
    """GATEWAY_UNAVAILABLE for a venue account whose gateway is not ``connected``
    (credentials refused, or still being checked): checked with the risk rules."""
    if book.gateway == PAPER or book.gateway_status == CONNECTED:
        return []
    if book.gateway_status == ERROR:
        message = f"the account's gateway {book.gateway} is in error: {book.gateway_error}"
    else:
        message = f"the account's gateway {book.gateway} is not connected yet"
    return [Denial(GATEWAY_UNAVAILABLE, message, actual=book.gateway_status)]


def paper_only_denials(order: Order, book: Account) -> list[Denial]:
    """ORDER_PAPER_ONLY for an order class or a notional order on a venue account: their
    legs and sizing are the paper gateway's (order_classes), no venue runs them yet."""
    if book.gateway == PAPER or not (order.leg_ids or order.notional is not None):
        return []
    kind = "a notional order" if order.notional is not None else f"an {order.order_class} order"
    return [Denial("ORDER_PAPER_ONLY", f"{kind} trades on the paper gateway only")]


def _mark_decided(store: OrderStore, order: Order) -> None:
    """Move the book past an order that left ``submitted`` without a decision here."""
    book = store.get_account(order.account_id)
    if book is not None and book.decided(order.sequence) != book:
        store.save_account(book, book.decided(order.sequence))


def _waits_for_predecessor(order: Order, book: Account, now: datetime) -> bool:
    if order.sequence is None or order.sequence <= book.last_sequence + 1:
        return False
    return (now - order.created_at).total_seconds() < SEQUENCE_GAP_WAIT_SECONDS


def gateway_decision(
    store: OrderStore, accepted: Order, account: Account, latest: LatestPrice | None
) -> Decision:
    """What the gateway does with a newly accepted order. A replacement is not acted on
    here: the orders function first retires the order it replaces (``OrderAccepted``).
    A venue account's order is the venue's to fill."""
    instrument = instrument_cache(store).get(accepted.symbol)
    if accepted.replaces or accepted.venue or instrument is None:
        return Decision()
    return stage_gateway().on_accept(
        accepted, latest.price if latest else None, execution_of(accepted, account), instrument
    )


def _caused(payload: Any, cause: Envelope, now: datetime) -> Envelope:
    return Envelope.wrap(
        payload,
        account_id=cause.account_id,
        correlation_id=cause.correlation_id,
        causation_id=cause.id,
        occurred_at=now,
    )


def dry_run(
    store: OrderStore,
    risk: RiskPort,
    account_id: str,
    body: dict[str, Any],
    now: datetime,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Every rule's verdict for an order body, with the numbers: reads only, writes nothing."""
    request = OrderRequest.parse(body, instrument_cache(store).get(str(body.get("symbol") or "")))
    order = Order.submit(new_id(), account_id, request, now)
    assessment = assess(store, risk, order, now, settings)
    ctx, book = assessment.context, assessment.book
    denials = assessment.denials
    held = assessment.reservation(order)
    return {
        "passed": not denials,
        "reject_reason": denials[0].as_dict() if denials else None,
        "reject_reasons": [d.as_dict() for d in denials],
        "rules": [v.as_dict() for v in assessment.verdicts],
        "reservation": format(held, "f"),
        "buying_power": format(book.buying_power, "f"),
        "equity": format(book.equity, "f"),
        "gross_exposure": format(book.gross, "f"),
        "state": max(ctx.state, ctx.global_state, key=lambda s: s.severity).value,
        "limits": assessment.symbol_limits.as_strings(),
    }


def deny_timed_out(store: OrderStore, now: datetime, max_age_seconds: int) -> int:
    """Deny (RISK_TIMEOUT) every order still ``submitted`` past ``max_age_seconds``: an
    order never waits for risk forever, even when its message went to the DLQ. One query
    of the submitted index finds the candidates, however many instruments there are."""
    denied = 0
    for candidate in store.submitted_before(now - timedelta(seconds=max_age_seconds)):
        if not timed_out(candidate, now, max_age_seconds):
            continue

        def attempt(order_id: str = candidate.id, account_id: str = candidate.account_id) -> int:
            order = store.get_order(account_id, order_id)  # the index may lag: read again
            if order is None or not timed_out(order, now, max_age_seconds):
                return 0
            deny(store, order, [timeout_denial(order, now, max_age_seconds)], None, now)
            return 1

        denied += on_conflict_retry(attempt)
    if denied:
        logger.info("timed out orders denied", extra={"count": denied})
    return denied


__all__ = [
    "SEQUENCE_GAP_WAIT_SECONDS",
    "Assessment",
    "SequenceGap",
    "TradingState",
    "assess",
    "decide_order",
    "deny",
    "deny_timed_out",
    "dry_run",
    "effective_limits",
    "review_order",
]

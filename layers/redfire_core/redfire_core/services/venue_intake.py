"""One message of a venue queue: submit, poll, cancel, replace or connect.

Lambda has no always-on listener, so an open venue order is followed by delayed SQS
messages (polls with backoff) for up to ``POLL_WINDOW_SECONDS`` after it was submitted;
an order still open then (a GTC limit) is left to reconciliation. Faults: a submit whose
outcome is unknown (timeout, 5xx) is looked up by its client order id (= RedFire's order
id) before it is ever sent again, so the venue never holds a second order; a rate limit
re-queues the message after the venue's ``retry_after``; an auth error puts the account's
gateway in ``error``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.adapters.venue_queues import SqsVenueSender, VenueSender
from redfire_core.adapters.venue_secrets import VenueSecrets
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.events import Envelope, iso, new_id, parse_iso
from redfire_core.observability import count, logger
from redfire_core.ports import OrderStore
from redfire_core.resources import venue_queue
from redfire_core.services.execution import close_order, complete_replace
from redfire_core.services.instruments import instrument_cache
from redfire_core.services.retrying import on_conflict_retry
from redfire_core.services.venue_accounts import (
    GATEWAY_UNAVAILABLE,
    record_connected,
    record_gateway_error,
)
from redfire_core.services.venue_orders import VENUE_REJECTED, apply_venue_order
from redfire_core.venues import (
    VenueAuthError,
    VenueCredentials,
    VenueError,
    VenueGateway,
    VenueNotFound,
    VenueOrder,
    VenueRateLimited,
    VenueRejected,
    VenueUnavailable,
)

# Seconds before each poll after a submit (then POLL_DELAYS[-1] until the window ends).
POLL_DELAYS = (1, 2, 5, 10, 20, 30, 60)
POLL_WINDOW_SECONDS = 600
# Retries of a submit whose outcome stayed unknown (each one looks the order up first).
MAX_SUBMIT_ATTEMPTS = 8
GATEWAY_CACHE_SECONDS = 60.0
# Checks of new credentials while the venue does not answer (about 40 s), then ``error``.
MAX_CONNECT_ATTEMPTS = 6
ACTIONS = frozenset({"submit", "poll", "cancel", "replace", "connect"})


@cache
def _store() -> TradingStore:
    return TradingStore()


@cache
def _sender() -> VenueSender:
    return SqsVenueSender()


@cache
def _secrets() -> VenueSecrets:
    return VenueSecrets()


def poll_delay(attempt: int) -> int:
    return POLL_DELAYS[min(attempt, len(POLL_DELAYS) - 1)]


def handle_venue_message(
    body: dict[str, Any],
    gateway: VenueGateway,
    *,
    now: datetime,
    store: OrderStore | None = None,
    sender: VenueSender | None = None,
    audit: AuditLog | None = None,
) -> None:
    """One SQS message of a venue queue: {"action": "submit"|"poll"|"cancel"|"replace"
    |"connect", "account_id", "order_id"?, "attempt"?, ...}; schedules the next poll as a
    delayed SQS message (1, 2, 5, 10, 20, 30, 60 s ... up to 10 min after submit)."""
    action = body["action"]
    if action not in ACTIONS:
        raise ValueError(f"unknown venue action {action!r}")
    intake = _Intake(body, gateway, now, store or _store(), sender or _sender(), audit)
    try:
        getattr(intake, action)()
    except VenueRateLimited as limited:
        delay = int(limited.retry_after or poll_delay(int(body.get("attempt", 0))))
        logger.info("venue rate limit", extra={"action": action, "delay": delay})
        count("VenueRateLimited", 1)
        intake.resend(body, max(delay, 1))
    except VenueUnavailable:
        # The outcome is unknown (a lookup that failed too): try again later; a submit
        # with an attempt looks the order up before sending it.
        attempt = int(body.get("attempt", 0))
        if action == "connect" and attempt + 1 >= MAX_CONNECT_ATTEMPTS:
            record_gateway_error(intake.store, body["account_id"], "the venue does not answer")
        else:
            intake.resend({**body, "attempt": attempt + 1}, poll_delay(attempt))
    except VenueAuthError as refused:
        record_gateway_error(intake.store, body["account_id"], refused.message)
        if action == "submit":  # never reached the venue: it ends here
            intake.reject(refused.message, GATEWAY_UNAVAILABLE)


class _Intake:
    def __init__(
        self,
        body: dict[str, Any],
        gateway: VenueGateway,
        now: datetime,
        store: OrderStore,
        sender: VenueSender,
        audit: AuditLog | None,
    ) -> None:
        self.body = body
        self.gateway = gateway
        self.now = now
        self.store = store
        self.sender = sender
        self.audit = audit
        self.account_id = str(body["account_id"])
        self.order_id = str(body.get("order_id") or "")
        self.attempt = int(body.get("attempt", 0))

    # --- actions ------------------------------------------------------------------------

    def connect(self) -> None:
        try:
            balances = self.gateway.check()
        except (VenueAuthError, VenueRejected) as refused:
            record_gateway_error(self.store, self.account_id, refused.message)
            return
        record_connected(self.store, self.audit or AuditLog(), self.account_id, balances, self.now)
        logger.info("venue gateway connected", extra={"account_id": self.account_id})

    def submit(self) -> None:
        order = self._order()
        if order.is_final or order.venue_order_id:
            self._follow(order)  # a repeated message: the order is known to the venue
            return
        if order.status is OrderStatus.PENDING_CANCEL:
            self._close(order, OrderStatus.CANCELED, "canceled before it reached the venue")
            return
        if self.attempt:  # an earlier submit's outcome is unknown: never send twice
            found = self._find(order.symbol)
            if found is not None:
                self._apply(found, order)
                return
        instrument = instrument_cache(self.store).get(order.symbol)
        if instrument is None:
            raise LookupError(f"instrument {order.symbol} does not exist")
        try:
            venue = self.gateway.submit(order, instrument)
        except VenueUnavailable:
            found = self._find(order.symbol)
            if found is not None:
                self._apply(found, order)
            elif self.attempt + 1 >= MAX_SUBMIT_ATTEMPTS:
                self.reject("the venue did not answer the submit", VENUE_REJECTED)
            else:
                self.resend({**self.body, "attempt": self.attempt + 1}, poll_delay(self.attempt))
            return
        except VenueRejected as rejected:
            # A duplicate client order id is refused too: the order may be there already.
            found = self._find(order.symbol)
            if found is not None:
                self._apply(found, order)
            else:
                self.reject(rejected.message, VENUE_REJECTED)
            return
        self._apply(venue, order)

    def poll(self) -> None:
        order = self._order()
        if order.is_final:
            return
        try:
            venue = self.gateway.find(self.order_id, order.symbol)
        except VenueNotFound:
            venue = None
        except VenueUnavailable:
            venue = None
        if venue is None:
            self._schedule_poll(order)
            return
        self._apply(venue, order)

    def cancel(self) -> None:
        order = self._order()
        if order.is_final:
            return
        try:
            venue = self.gateway.cancel(self.order_id, order.symbol)
        except VenueNotFound:
            if order.venue_order_id is None:  # never reached the venue (the submit checks)
                self._close(order, OrderStatus.CANCELED, "canceled before it reached the venue")
            return
        except VenueUnavailable:
            self.resend({**self.body, "attempt": self.attempt + 1}, poll_delay(self.attempt))
            return
        except VenueRejected:
            found = self._find(order.symbol)  # too late to cancel: it filled or ended meanwhile
            if found is not None:
                self._apply(found, order)
            return
        self._apply(venue, order)

    def replace(self) -> None:
        """``order_id`` is the replacement (accepted by risk); the venue replaces the
        original with it, then RedFire retires the original (fills that raced are taken
        off the replacement, as on paper)."""
        replacement = self._order()
        if replacement.is_final or replacement.venue_order_id:
            self._follow(replacement)
            return
        original_id = str(replacement.replaces)
        instrument = instrument_cache(self.store).get(replacement.symbol)
        if instrument is None:
            raise LookupError(f"instrument {replacement.symbol} does not exist")
        try:
            venue = self.gateway.replace(original_id, replacement, instrument)
        except VenueUnavailable:
            found = self._find(replacement.symbol)
            if found is None:
                self.resend({**self.body, "attempt": self.attempt + 1}, poll_delay(self.attempt))
                return
            venue = found
        except (VenueRejected, VenueNotFound) as refused:
            self._refuse_replace(replacement, refused)
            return
        if complete_replace(self.store, replacement, self._cause(), self.now) == "replaced":
            self._apply(venue, replacement)
        else:  # the original ended first; the venue's replacement is followed all the same
            self._follow(replacement)

    # --- steps --------------------------------------------------------------------------

    def _order(self) -> Order:
        order = self.store.get_order(self.account_id, self.order_id)
        if order is None:
            raise LookupError(f"order {self.order_id} of {self.account_id} does not exist")
        return order

    def _find(self, symbol: str) -> VenueOrder | None:
        """The order at the venue by its client order id (a venue like Binance looks orders
        up per market, so the symbol goes along)."""
        try:
            return self.gateway.find(self.order_id, symbol)
        except VenueNotFound:
            return None

    def _apply(self, venue: VenueOrder, order: Order) -> None:
        final = apply_venue_order(
            self.account_id, self.order_id, venue, now=self.now, store=self.store
        )
        if not final:
            self._schedule_poll(order)

    def _follow(self, order: Order) -> None:
        if not order.is_final:
            self._schedule_poll(order)

    def _schedule_poll(self, order: Order) -> None:
        started = parse_iso(str(self.body.get("submitted_at") or iso(self.now)))
        if (self.now - started).total_seconds() >= POLL_WINDOW_SECONDS:
            logger.info("venue order left to reconciliation", extra={"order_id": order.id})
            return
        attempt = self.attempt + 1 if self.body["action"] == "poll" else 0
        message = {
            "action": "poll",
            "account_id": self.account_id,
            "order_id": order.id,
            "attempt": attempt,
            "submitted_at": iso(started),
        }
        self.sender.send(self._queue(order), message, poll_delay(attempt))

    def resend(self, body: dict[str, Any], delay: int) -> None:
        order = self.store.get_order(self.account_id, self.order_id) if self.order_id else None
        started = parse_iso(str(body.get("submitted_at") or iso(self.now)))
        if order is not None and (self.now - started).total_seconds() >= POLL_WINDOW_SECONDS:
            logger.warning("venue order left to reconciliation", extra={"order_id": order.id})
            return
        self.sender.send(self._queue(order), {**body, "submitted_at": iso(started)}, delay)

    def _queue(self, order: Order | None) -> str:
        if order is not None and order.venue:
            return venue_queue(order.venue)
        account = self.store.get_account(self.account_id)
        assert account is not None
        return venue_queue(account.gateway)

    def reject(self, message: str, code: str) -> None:
        order = self._order()
        if order.is_final:
            return
        self._close(order, OrderStatus.REJECTED, message, code)

    def _close(
        self, order: Order, status: OrderStatus, reason: str, code: str | None = None
    ) -> None:
        cause = self._cause()

        def attempt() -> None:
            current = self._order()
            account = self.store.get_account(self.account_id)
            if current.is_final or account is None:
                return
            target = status
            if target is OrderStatus.REJECTED and current.status is OrderStatus.PENDING_CANCEL:
                target = OrderStatus.CANCELED
            close_order(self.store, current, account, target, reason, cause, self.now, code=code)

        on_conflict_retry(attempt)

    def _refuse_replace(self, replacement: Order, refused: VenueError) -> None:
        """The venue kept the original: the replacement is rejected, the original works on."""
        self.reject(refused.message, VENUE_REJECTED)
        original = self.store.get_order(self.account_id, str(replacement.replaces))

        def attempt() -> None:
            current = self.store.get_order(self.account_id, str(replacement.replaces))
            if current is None or current.status is not OrderStatus.PENDING_REPLACE:
                return
            working = (
                OrderStatus.PARTIALLY_FILLED if current.filled_quantity else OrderStatus.ACCEPTED
            )
            self.store.save_transition(current, current.transition(working, self.now), [])

        if original is not None:
            on_conflict_retry(attempt)

    def _cause(self) -> Envelope:
        return Envelope(
            id=new_id(),
            type="VenueMessage",
            occurred_at=iso(self.now),
            account_id=self.account_id,
            correlation_id=new_id(),
            payload={"action": self.body["action"], "order_id": self.order_id},
        )


_gateways: dict[str, tuple[float, VenueCredentials, VenueGateway]] = {}
_gateways_lock = threading.Lock()


def venue_gateway_for(
    account_id: str,
    factory: Callable[[VenueCredentials], VenueGateway],
    secrets: VenueSecrets | None = None,
) -> VenueGateway:
    """The account's credentials from Secrets Manager (cached per container briefly)."""
    now = time.monotonic()
    credentials = (secrets or _secrets()).get(account_id)
    if credentials is None:  # paper again, or never set: every call is an auth error
        return _NoCredentials()
    with _gateways_lock:
        cached = _gateways.get(account_id)
        if cached is not None and cached[0] > now and cached[1] == credentials:
            return cached[2]
        gateway = factory(credentials)
        _gateways[account_id] = (now + GATEWAY_CACHE_SECONDS, credentials, gateway)
        return gateway


class _NoCredentials:
    """The gateway of an account without credentials: refuses every call, so the message
    ends as an auth error does (gateway in ``error``, a submit rejected)."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise VenueAuthError("the account has no venue credentials")

        return refuse

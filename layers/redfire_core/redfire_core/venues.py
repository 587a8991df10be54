"""The venue port: what a live broker or exchange gateway does for RedFire.

The paper gateway (``redfire_core.gateways``) decides fills itself, synchronously. A
venue decides them far away: RedFire submits, then learns what happened by asking
(Lambda has no always-on listener). This module holds the port and its vocabulary
only; no venue SDK is imported here, so the paper path never loads one. Adapters live
in their own function packages (``functions/venue_alpaca``, ``functions/venue_ccxt``)
and are found through the ``redfire.venues`` entry point group.

Identity: RedFire's order id is the venue's client order id, so an order whose submit
timed out is found again by that id and is never sent twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import Order

ENTRY_POINT_GROUP = "redfire.venues"


class VenueKind(StrEnum):
    """Which adapter serves an account; ``ccxt`` takes an exchange id (``ccxt:binance``)."""

    PAPER = "paper"
    ALPACA = "alpaca"
    CCXT = "ccxt"


class VenueMode(StrEnum):
    """Alpaca's paper endpoint or a ccxt exchange's sandbox, versus real money."""

    PAPER = "paper"
    LIVE = "live"


class VenueStatus(StrEnum):
    """An order's state as the venue reports it, in RedFire's words."""

    NEW = "new"  # acknowledged, resting or working
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    PENDING = "pending"  # the venue has it but has not acknowledged it yet

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {VenueStatus.FILLED, VenueStatus.CANCELED, VenueStatus.EXPIRED, VenueStatus.REJECTED}
)


@dataclass(frozen=True)
class VenueCredentials:
    """What an account's admin gave us; lives in Secrets Manager, never in DynamoDB.

    ``base_url`` overrides the venue's endpoint (tests point it at a fake venue on
    127.0.0.1); ``exchange`` names the ccxt exchange (``binance``)."""

    key_id: str
    secret: str
    mode: VenueMode = VenueMode.PAPER
    exchange: str | None = None
    base_url: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return (
            f"VenueCredentials(key_id={self.key_id!r}, mode={self.mode}, "
            f"exchange={self.exchange!r})"
        )


@dataclass(frozen=True)
class VenueFill:
    """One execution at the venue; ``execution_id`` deduplicates it (at-least-once intake)."""

    execution_id: str
    quantity: Decimal
    price: Decimal
    at: datetime
    fee: Decimal = Decimal("0")
    fee_currency: str | None = None


@dataclass(frozen=True)
class VenueOrder:
    """The venue's record of one order, found by RedFire's order id (client order id)."""

    client_order_id: str
    venue_order_id: str
    status: VenueStatus
    filled_quantity: Decimal
    average_price: Decimal | None = None
    reason: str | None = None  # the venue's message when rejected
    fills: tuple[VenueFill, ...] = ()  # when the venue reports executions with the order
    updated_at: datetime | None = None


@dataclass(frozen=True)
class VenuePosition:
    symbol: str  # RedFire's symbol (the adapter maps BTC/USDT <-> BTC-USDT)
    quantity: Decimal  # signed: negative is short
    average_price: Decimal | None = None


@dataclass(frozen=True)
class VenueBalances:
    """Cash and positions as the venue holds them: the opening entry and reconciliation."""

    cash: Decimal
    currency: str
    positions: tuple[VenuePosition, ...] = field(default_factory=tuple)


class VenueError(Exception):
    """Base of what a venue call can raise; ``message`` is the venue's own words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class VenueAuthError(VenueError):
    """Revoked or wrong credentials: the account's gateway goes to ``error``."""


class VenueRejected(VenueError):
    """The venue refused the order: it ends ``rejected`` with ``VENUE_REJECTED``."""


class VenueRateLimited(VenueError):
    """Slow down; ``retry_after`` seconds when the venue says."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class VenueUnavailable(VenueError):
    """Timeout, connection error or 5xx: the outcome of the call is unknown."""


class VenueNotFound(VenueError):
    """The venue has no such order (for lookups by client order id)."""


class VenueGateway(Protocol):
    """One account's connection to one venue. Every method may raise a ``VenueError``.

    Adapters map the venue's symbols, statuses and numbers (always ``Decimal``) to these
    types, and never retry on their own: retries, backoff and lookups after an unknown
    outcome belong to the intake service, which sees every attempt.
    """

    def check(self) -> VenueBalances:
        """A read-only call that proves the credentials work (and returns the balances)."""
        ...

    def submit(self, order: Order, instrument: Instrument) -> VenueOrder:
        """Send ``order`` with ``order.order_id`` as the client order id."""
        ...

    def find(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """The order with this client order id, with its fills; ``VenueNotFound`` if none.
        Pass the order's ``symbol``: some venues (Binance) look orders up per market."""
        ...

    def cancel(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """Ask to cancel; returns the order as the venue has it after the request.
        ``symbol`` as for ``find``."""
        ...

    def replace(self, client_order_id: str, order: Order, instrument: Instrument) -> VenueOrder:
        """Replace the open order with ``order`` (its own id as the new client order id).
        A venue without a native replace cancels, then submits; the result is the new order."""
        ...

    def open_orders(self) -> Sequence[VenueOrder]:
        """Every order the venue holds open for this account (reconciliation)."""
        ...

    def balances(self) -> VenueBalances:
        """Cash and positions (reconciliation, opening entry)."""
        ...

    def instrument(self, symbol: str) -> Instrument | None:
        """The venue's tick and lot for ``symbol`` (ccxt market precision), if it lists it."""
        ...

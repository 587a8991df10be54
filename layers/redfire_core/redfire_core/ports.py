"""The order path's ports: what the services need of storage, as Protocols (issue 14, Seams).

``adapters.trading_store.TradingStore`` and ``adapters.risk_store.RiskStore`` implement
them on DynamoDB; ``tests/support/memory_store.py`` implements them in memory, and one
contract suite (``tests/contract/test_order_store.py``) holds both to the same behaviour.
The value types the signatures use and the conflict errors live here too (one
declaration; the adapters re-export them), so the ports import only the domain and events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

from redfire_core.domain.instruments import Instrument
from redfire_core.domain.ledger import Activity
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.domain.positions import Account, Fill, Position
from redfire_core.domain.risk import LatestPrice, TradingState
from redfire_core.events import Envelope

T = TypeVar("T")


class ConflictError(Exception):
    """A conditional write lost: the item changed since it was read, or already exists."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


class RiskConflict(Exception):
    """A conditional write of the limits table lost (changed meanwhile, or seen before)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class OrderFilter:
    status: frozenset[OrderStatus] | None = None
    symbol: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class StateRecord:
    state: TradingState = TradingState.ACTIVE
    reason: str | None = None
    changed_by: str | None = None
    changed_at: str | None = None
    version: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "reason": self.reason,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at,
        }


@dataclass(frozen=True)
class Overrides:
    account: dict[str, str]
    symbols: dict[str, dict[str, str]]
    version: int = 0


@dataclass(frozen=True)
class RiskSnapshot:
    """What one read of the limits table returns for a pre-trade check."""

    overrides: Overrides
    state: StateRecord
    global_state: StateRecord


# One order change in ``OrderStore.write``: (as read, as written, reject reasons or None).
OrderChange = tuple[Order, Order, list[dict[str, Any]] | None]


class OrderStore(Protocol):
    """Orders, claims, books, positions, trades, the ledger, instruments and latest prices.

    Reads are consistent (an acknowledged write is seen), except the open-order and
    submitted indexes, which may lag a write. Every write is conditional: a new item must
    not exist, a changed aggregate must still have the version it was read at; a lost
    condition raises ``ConflictError`` and writes nothing (``write`` is all or nothing).
    """

    # Hashable: the instrument cache keeps one cache per store (``instrument_cache``).
    def __hash__(self) -> int: ...

    # --- orders ---
    def create_order(
        self, order: Order, event: Envelope, request_hash: str, correlation_id: str
    ) -> None: ...

    def next_sequence(self, account_id: str) -> int: ...

    def get_order(self, account_id: str, order_id: str) -> Order | None: ...

    def find_client_order(
        self, account_id: str, client_order_id: str
    ) -> tuple[str, str] | None: ...

    def list_orders(
        self, account_id: str, limit: int, cursor: str | None, where: OrderFilter | None = None
    ) -> Page[Order]: ...

    # Working orders on a symbol: non-final and decided (``submitted`` ones are not here).
    def open_orders(self, symbol: str) -> list[Order]: ...

    # Every non-final order of an account, ``submitted`` ones included.
    def open_orders_of(self, account_id: str) -> list[Order]: ...

    # Orders still ``submitted`` (waiting for their decision), created before ``moment``.
    def submitted_before(self, moment: datetime) -> list[Order]: ...

    def save_transition(
        self,
        before: Order,
        after: Order,
        events: Iterable[Envelope],
        *,
        account: tuple[Account, Account] | None = None,
        reject_reasons: list[dict[str, Any]] | None = None,
    ) -> None: ...

    def apply_fill(
        self,
        order: tuple[Order, Order],
        fill: Fill,
        position: tuple[Position, Position],
        account: tuple[Account, Account],
        activities: Sequence[Activity],
        events: Sequence[Envelope],
    ) -> None: ...

    def write(
        self,
        *,
        orders_created: Sequence[tuple[Order, str]] = (),
        orders_changed: Sequence[OrderChange] = (),
        trades: Sequence[Fill] = (),
        positions_changed: Sequence[tuple[Position, Position]] = (),
        accounts_changed: Sequence[tuple[Account, Account]] = (),
        activities: Sequence[Activity] = (),
        events: Sequence[Envelope] = (),
        correlation_id: str | None = None,
        raw_puts: Sequence[dict[str, Any]] = (),
    ) -> None: ...

    # --- accounts, positions, trades, ledger ---
    def get_account(self, account_id: str) -> Account | None: ...

    def create_account(self, account: Account, opening: Sequence[Activity] = ()) -> bool: ...

    def save_account(self, before: Account, after: Account) -> None: ...

    def get_position(self, account_id: str, symbol: str) -> Position: ...

    def list_positions(self, account_id: str) -> list[Position]: ...

    def list_trades(
        self,
        account_id: str,
        limit: int = 100,
        cursor: str | None = None,
        *,
        symbol: str | None = None,
        order_id: str | None = None,
    ) -> Page[Fill]: ...

    def has_trade(self, account_id: str, trade_id: str) -> bool: ...

    def list_activities(
        self, account_id: str, limit: int = 100, cursor: str | None = None
    ) -> Page[Activity]: ...

    # --- reference data and prices ---
    def get_instrument(self, symbol: str) -> Instrument | None: ...

    def list_instruments(self) -> list[Instrument]: ...

    def put_instrument(self, instrument: Instrument, *, create: bool = False) -> None: ...

    def latest_price(self, symbol: str) -> LatestPrice | None: ...


class RiskPort(Protocol):
    """Limit overrides, trading states and the day's equity marks (the limits table).

    A state change is a low-level put (``state_put``) so that it can commit in the same
    ``OrderStore.write`` (``raw_puts``) as the events that report it; ``put`` writes one
    alone. Conditional on the version read: a lost race raises ``RiskConflict``.
    """

    def snapshot(self, account_id: str) -> RiskSnapshot: ...

    def get_overrides(self, account_id: str) -> Overrides: ...

    def get_state(self, scope: str) -> StateRecord: ...

    def put_overrides(self, account_id: str, before: Overrides, after: Overrides) -> None: ...

    def state_put(
        self,
        scope: str,
        before: StateRecord,
        state: TradingState,
        reason: str,
        actor: str,
        now: datetime,
    ) -> dict[str, Any]: ...

    def put(self, operation: dict[str, Any]) -> None: ...

    def mark_equity(
        self, account_id: str, equity: Decimal, now: datetime
    ) -> tuple[Decimal, Decimal]: ...

    def holders(self, symbol: str) -> list[str]: ...

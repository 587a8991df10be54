"""In-memory ``OrderStore`` and ``RiskPort`` for unit tests of the order path (no moto).

They keep the DynamoDB adapters' semantics, which tests/contract/test_order_store.py
checks against both: conditional writes on versions and must-not-exist keys raise
``ConflictError`` (``RiskConflict`` for the limits), a ``write`` is all or nothing, reads
see every acknowledged write, open-order and submitted views follow the status, client
order id claims, the per-account sequence counter, and a trade is recorded once by id.
Everything is copied in and out, so a caller can never change what is stored.

They live with the tests, not in the product: nothing deployed or run locally stores
orders anywhere but DynamoDB (the local cloud runs the real adapters on moto).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from ulid import ULID

from redfire_core.adapters.risk_store import day_key
from redfire_core.domain.account_ids import PLATFORM_KEY
from redfire_core.domain.counters import SECONDS_PER_DAY
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.ledger import Activity
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.domain.positions import Account, Fill, Position
from redfire_core.domain.risk import LatestPrice, TradingState
from redfire_core.events import Envelope, iso
from redfire_core.ports import (
    ConflictError,
    OrderChange,
    OrderFilter,
    Overrides,
    Page,
    RiskConflict,
    RiskSnapshot,
    StateRecord,
)

T = TypeVar("T")
LIMITS_TABLE = "memory:limits"  # the TableName of the in-memory risk store's puts
CONFLICT = ["ConditionalCheckFailed"]


def _open_key(order: Order) -> str:
    """The adapter's open/submitted index sort key: creation time, then id."""
    return iso(order.created_at) + "#" + order.id


def _ulid_bound(moment: datetime, *, upper: bool) -> str:
    prefix = str(ULID.from_datetime(moment))[:10]
    return prefix + ("Z" * 16 if upper else "0" * 16)


def _page(
    keyed: list[tuple[str, T]],
    limit: int,
    cursor: str | None,
    keep: Callable[[T], bool],
    *,
    newest_first: bool = False,
) -> Page[T]:
    """A DynamoDB query page: ``limit`` items are examined (in key order, after the
    cursor's key), then filtered; the cursor is the last key examined, while more remain."""
    ordered = sorted(keyed, key=lambda kv: kv[0], reverse=newest_first)
    if cursor is not None:
        after = cursor.removeprefix("mem:")
        ordered = [kv for kv in ordered if (kv[0] < after if newest_first else kv[0] > after)]
    examined = ordered[:limit]
    more = len(ordered) > limit
    return Page(
        [deepcopy(item) for _, item in examined if keep(item)],
        "mem:" + examined[-1][0] if more and examined else None,
    )


@dataclass
class _Tables:
    """Everything stored, by the keys the DynamoDB tables use."""

    orders: dict[tuple[str, str], Order] = field(default_factory=dict)
    claims: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    trades: dict[tuple[str, str], Fill] = field(default_factory=dict)
    activities: dict[tuple[str, str], Activity] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    prices: dict[str, LatestPrice] = field(default_factory=dict)
    limits: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


class InMemoryOrderStore:
    """An ``OrderStore`` in dictionaries, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tables = _Tables()
        self.events: list[Envelope] = []  # what the stream would relay, in commit order
        self.writes = 0  # committed transactions (a test can count them)

    # --- test helpers (not part of the port) ---

    def set_latest_price(self, symbol: str, price: Decimal, at: datetime) -> None:
        with self._lock:
            self._tables.prices[symbol] = LatestPrice(symbol, price, at)

    def event_types(self) -> list[str]:
        with self._lock:
            return [event.type for event in self.events]

    # --- orders ---

    def create_order(
        self, order: Order, event: Envelope, request_hash: str, correlation_id: str
    ) -> None:
        self.write(
            orders_created=[(order, request_hash)], events=[event], correlation_id=correlation_id
        )

    def next_sequence(self, account_id: str) -> int:
        with self._lock:
            number = self._tables.sequences.get(account_id, 0) + 1
            self._tables.sequences[account_id] = number
            return number

    def get_order(self, account_id: str, order_id: str) -> Order | None:
        with self._lock:
            return deepcopy(self._tables.orders.get((account_id, order_id)))

    def find_client_order(self, account_id: str, client_order_id: str) -> tuple[str, str] | None:
        with self._lock:
            return self._tables.claims.get((account_id, client_order_id))

    def list_orders(
        self, account_id: str, limit: int, cursor: str | None, where: OrderFilter | None = None
    ) -> Page[Order]:
        where = where or OrderFilter()
        low = _ulid_bound(where.created_from, upper=False) if where.created_from else ""
        high = _ulid_bound(where.created_to, upper=True) if where.created_to else "~"

        def keep(order: Order) -> bool:
            if where.status and order.status not in where.status:
                return False
            return not (where.symbol and order.symbol != where.symbol)

        with self._lock:
            keyed = [
                (order_id, order)
                for (owner, order_id), order in self._tables.orders.items()
                if owner == account_id and low <= order_id <= high
            ]
            return _page(keyed, limit, cursor, keep, newest_first=True)

    def _open(self, belongs: Callable[[Order], bool]) -> list[Order]:
        with self._lock:
            found = [o for o in self._tables.orders.values() if not o.is_final and belongs(o)]
            return deepcopy(sorted(found, key=_open_key))

    def open_orders(self, symbol: str) -> list[Order]:
        # Working orders only: a submitted one waits for its decision (submitted_before).
        return self._open(
            lambda order: order.symbol == symbol and order.status is not OrderStatus.SUBMITTED
        )

    def open_orders_of(self, account_id: str) -> list[Order]:
        return self._open(lambda order: order.account_id == account_id)

    def submitted_before(self, moment: datetime) -> list[Order]:
        bound = iso(moment)
        with self._lock:
            found = [
                o
                for o in self._tables.orders.values()
                if o.status is OrderStatus.SUBMITTED and _open_key(o) < bound
            ]
            return deepcopy(sorted(found, key=_open_key))

    def save_transition(
        self,
        before: Order,
        after: Order,
        events: Iterable[Envelope],
        *,
        account: tuple[Account, Account] | None = None,
        reject_reasons: list[dict[str, Any]] | None = None,
    ) -> None:
        self.write(
            orders_changed=[(before, after, reject_reasons)],
            accounts_changed=[account] if account else [],
            events=list(events),
        )

    def apply_fill(
        self,
        order: tuple[Order, Order],
        fill: Fill,
        position: tuple[Position, Position],
        account: tuple[Account, Account],
        activities: Sequence[Activity],
        events: Sequence[Envelope],
    ) -> None:
        self.write(
            orders_changed=[(order[0], order[1], None)],
            trades=[fill],
            positions_changed=[position],
            accounts_changed=[account],
            activities=activities,
            events=events,
        )

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
    ) -> None:
        """Check every condition first, then apply everything: all or nothing."""
        t = self._tables
        with self._lock:
            keys: list[tuple[str, ...]] = []
            failed = False
            for order, _ in orders_created:
                keys.append(("order", order.account_id, order.id))
                failed |= (order.account_id, order.id) in t.orders
                if order.client_order_id:
                    keys.append(("claim", order.account_id, order.client_order_id))
                    failed |= (order.account_id, order.client_order_id) in t.claims
            for before, after, _ in orders_changed:
                keys.append(("order", after.account_id, after.id))
                stored = t.orders.get((after.account_id, after.id))
                failed |= stored is None or stored.version != before.version
            for fill in trades:
                keys.append(("trade", fill.account_id, fill.trade_id))
                failed |= (fill.account_id, fill.trade_id) in t.trades
            for position_before, position_after in positions_changed:
                key = (position_after.account_id, position_after.symbol)
                keys.append(("position", *key))
                held = t.positions.get(key)
                failed |= (
                    held is not None
                    if position_before.version == 0
                    else held is None or held.version != position_before.version
                )
            for account_before, account_after in accounts_changed:
                keys.append(("account", account_after.id))
                book = t.accounts.get(account_after.id)
                failed |= book is None or book.version != account_before.version
            for activity in activities:
                key = (activity.account_id, _activity_key(activity))
                keys.append(("activity", *key))
                failed |= key in t.activities
            for put in raw_puts:
                item = put["Item"]
                keys.append(("limits", item["pk"], item["sk"]))
                failed |= _limits_version(t.limits, item) != put["version"]
            if len(set(keys)) != len(keys):
                # DynamoDB refuses a transaction that names one item twice (not a conflict).
                raise ValueError("a transaction cannot write one item twice")
            if failed:
                raise ConflictError(CONFLICT)
            for order, request_hash in orders_created:
                t.orders[(order.account_id, order.id)] = deepcopy(order)
                if order.client_order_id:
                    claim = (order.id, request_hash)
                    t.claims[(order.account_id, order.client_order_id)] = claim
            for _, after, reasons in orders_changed:
                if reasons is not None:
                    after = replace(after, reject_reasons=reasons)
                t.orders[(after.account_id, after.id)] = deepcopy(after)
            for fill in trades:
                t.trades[(fill.account_id, fill.trade_id)] = fill
            for _, position_after in positions_changed:
                key = (position_after.account_id, position_after.symbol)
                t.positions[key] = position_after
            for _, account_after in accounts_changed:
                t.accounts[account_after.id] = _stored_account(account_after)
            for activity in activities:
                t.activities[(activity.account_id, _activity_key(activity))] = activity
            for put in raw_puts:
                item = put["Item"]
                t.limits[(item["pk"], item["sk"])] = deepcopy(item)
            self.events.extend(deepcopy(list(events)))
            self.writes += 1

    # --- accounts, positions, trades, ledger ---

    def get_account(self, account_id: str) -> Account | None:
        with self._lock:
            return deepcopy(self._tables.accounts.get(account_id))

    def create_account(self, account: Account, opening: Sequence[Activity] = ()) -> bool:
        with self._lock:
            if account.id in self._tables.accounts:
                return False
            self._tables.accounts[account.id] = _stored_account(account)
            for activity in opening:
                self._tables.activities[(activity.account_id, _activity_key(activity))] = activity
            return True

    def save_account(self, before: Account, after: Account) -> None:
        self.write(accounts_changed=[(before, after)])

    def get_position(self, account_id: str, symbol: str) -> Position:
        with self._lock:
            return self._tables.positions.get((account_id, symbol), Position(account_id, symbol))

    def list_positions(self, account_id: str) -> list[Position]:
        with self._lock:
            held = [p for (owner, _), p in self._tables.positions.items() if owner == account_id]
            return sorted(held, key=lambda p: p.symbol)

    def list_trades(
        self,
        account_id: str,
        limit: int = 100,
        cursor: str | None = None,
        *,
        symbol: str | None = None,
        order_id: str | None = None,
    ) -> Page[Fill]:
        def keep(fill: Fill) -> bool:
            if symbol and fill.symbol != symbol:
                return False
            return not (order_id and fill.order_id != order_id)

        with self._lock:
            keyed = [
                (trade_id, fill)
                for (owner, trade_id), fill in self._tables.trades.items()
                if owner == account_id
            ]
            return _page(keyed, limit, cursor, keep)

    def has_trade(self, account_id: str, trade_id: str) -> bool:
        with self._lock:
            return (account_id, trade_id) in self._tables.trades

    def list_activities(
        self, account_id: str, limit: int = 100, cursor: str | None = None
    ) -> Page[Activity]:
        with self._lock:
            keyed = [
                (key, line)
                for (owner, key), line in self._tables.activities.items()
                if owner == account_id
            ]
            return _page(keyed, limit, cursor, lambda _: True)

    # --- reference data and prices ---

    def get_instrument(self, symbol: str) -> Instrument | None:
        with self._lock:
            return self._tables.instruments.get(symbol)

    def list_instruments(self) -> list[Instrument]:
        with self._lock:
            return sorted(self._tables.instruments.values(), key=lambda i: i.symbol)

    def put_instrument(self, instrument: Instrument, *, create: bool = False) -> None:
        with self._lock:
            if create and instrument.symbol in self._tables.instruments:
                raise ConflictError(CONFLICT)
            self._tables.instruments[instrument.symbol] = instrument

    def latest_price(self, symbol: str) -> LatestPrice | None:
        with self._lock:
            return self._tables.prices.get(symbol)


def _activity_key(activity: Activity) -> str:
    return f"{iso(activity.at)}#{activity.id}"


def _stored_account(account: Account) -> Account:
    """As the adapter stores a book: a paper account has no gateway mode of its own."""
    if account.gateway == "paper":
        account = replace(account, gateway_mode="paper")
    return deepcopy(account)


def _limits_version(limits: dict[tuple[str, str], dict[str, Any]], item: dict[str, Any]) -> int:
    stored = limits.get((item["pk"], item["sk"]))
    return 0 if stored is None else int(stored["version"])


class InMemoryRiskStore:
    """A ``RiskPort`` over the limits items of an ``InMemoryOrderStore`` (so that a state
    put commits inside the order store's ``write``, as ``raw_puts`` do on DynamoDB)."""

    def __init__(self, orders: InMemoryOrderStore) -> None:
        self._orders = orders
        self._lock = orders._lock
        self._limits = orders._tables.limits

    def snapshot(self, account_id: str) -> RiskSnapshot:
        with self._lock:
            return RiskSnapshot(
                self.get_overrides(account_id),
                self.get_state(account_id),
                self.get_state(PLATFORM_KEY),
            )

    def get_overrides(self, account_id: str) -> Overrides:
        with self._lock:
            item = self._limits.get((account_id, "LIMITS"))
            if item is None:
                return Overrides({}, {}, 0)
            return Overrides(
                deepcopy(item["account"]), deepcopy(item["symbols"]), int(item["version"])
            )

    def get_state(self, scope: str) -> StateRecord:
        with self._lock:
            item = self._limits.get((scope, "STATE"))
            if item is None:
                return StateRecord()
            return StateRecord(
                TradingState(item["state"]),
                item["reason"],
                item["changed_by"],
                item["changed_at"],
                int(item["version"]),
            )

    def put_overrides(self, account_id: str, before: Overrides, after: Overrides) -> None:
        item = {
            "pk": account_id,
            "sk": "LIMITS",
            "account": deepcopy(after.account),
            "symbols": deepcopy(after.symbols),
            "version": before.version + 1,
        }
        self.put({"TableName": LIMITS_TABLE, "Item": item, "version": before.version})

    def state_put(
        self,
        scope: str,
        before: StateRecord,
        state: TradingState,
        reason: str,
        actor: str,
        now: datetime,
    ) -> dict[str, Any]:
        item = {
            "pk": scope,
            "sk": "STATE",
            "state": state.value,
            "reason": reason,
            "changed_by": actor,
            "changed_at": iso(now),
            "version": before.version + 1,
        }
        return {"TableName": LIMITS_TABLE, "Item": item, "version": before.version}

    def put(self, operation: dict[str, Any]) -> None:
        item = operation["Item"]
        with self._lock:
            if _limits_version(self._limits, item) != operation["version"]:
                raise RiskConflict(f"{item['pk']}/{item['sk']} changed")
            self._limits[(item["pk"], item["sk"])] = deepcopy(item)

    def mark_equity(
        self, account_id: str, equity: Decimal, now: datetime
    ) -> tuple[Decimal, Decimal]:
        day = int(now.timestamp()) // SECONDS_PER_DAY
        key = (account_id, day_key(day))
        with self._lock:
            marks = self._limits.setdefault(
                key, {"pk": key[0], "sk": key[1], "start_equity": equity, "peak_equity": equity}
            )
            marks["peak_equity"] = max(marks["peak_equity"], equity)
            return marks["start_equity"], marks["peak_equity"]

    def holders(self, symbol: str) -> list[str]:
        with self._lock:
            positions = self._orders._tables.positions
            return sorted(
                owner for (owner, held), p in positions.items() if held == symbol and p.quantity
            )


def memory_stores() -> tuple[InMemoryOrderStore, InMemoryRiskStore]:
    """An order store and the risk store that shares its transactions."""
    orders = InMemoryOrderStore()
    return orders, InMemoryRiskStore(orders)

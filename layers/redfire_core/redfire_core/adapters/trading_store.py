"""DynamoDB persistence of orders, fills, positions and accounts, with the outbox.

Every state change and the events that report it are written in one
``TransactWriteItems``: either all exist or none does. Aggregates carry a ``version``
and every write is conditional on the version that was read, so a concurrent or
replayed change fails (``ConflictError``) instead of overwriting.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite
from ulid import ULID

from redfire_core.adapters import models as m
from redfire_core.adapters.paging import decode_cursor, encode_cursor
from redfire_core.config import Settings, get_settings
from redfire_core.domain.account_ids import PLATFORM_KEY
from redfire_core.domain.counters import RiskCounters, counters_from_dict, counters_to_dict
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.ledger import Activity, ActivityType
from redfire_core.domain.orders import (
    ExecutionModel,
    Order,
    OrderClass,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from redfire_core.domain.positions import Account, Fill, Position
from redfire_core.domain.risk import LatestPrice
from redfire_core.events import Envelope, iso, parse_iso

# The port's types, re-exported where the adapter's callers import them.
from redfire_core.ports import ConflictError as ConflictError
from redfire_core.ports import OrderFilter as OrderFilter
from redfire_core.ports import Page as Page
from redfire_core.views import order_view

OUTBOX_TTL_SECONDS = 2 * 86400  # rows are never deleted: TTL removes them once relayed
ORDER_PREFIX = "ORDER#"
SUBMITTED_KEY = "SUBMITTED"  # gsi1pk of an order waiting for its decision


def _ulid_bound(moment: datetime, *, upper: bool) -> str:
    """The smallest (or largest) ULID of ``moment``'s millisecond: ids sort by time."""
    prefix = str(ULID.from_datetime(moment))[:10]
    return prefix + ("Z" * 16 if upper else "0" * 16)


class TradingStore:
    """The orders, trades, positions and accounts tables behind one small interface."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        m.bind(self.settings)
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(region=m.region())
        return self._connection

    # --- orders ---------------------------------------------------------------------

    def create_order(
        self, order: Order, event: Envelope, request_hash: str, correlation_id: str
    ) -> None:
        """Write a new order, its client-order-id claim and its OrderSubmitted outbox row."""
        self.write(
            orders_created=[(order, request_hash)], events=[event], correlation_id=correlation_id
        )

    def next_sequence(self, account_id: str) -> int:
        """The account's next order number: one ``UpdateItem ADD`` on an item that no
        transaction touches (an item in a concurrent transaction would make a plain update
        fail with TransactionConflict)."""
        counter = m.SequenceItem(account_id, "SEQUENCE")
        counter.update(actions=[m.SequenceItem.seq.add(1)])
        return int(counter.seq)

    def get_order(self, account_id: str, order_id: str) -> Order | None:
        try:
            item = m.OrderItem.get(account_id, ORDER_PREFIX + order_id, consistent_read=True)
        except DoesNotExist:
            return None
        return order_from_item(item)

    def find_client_order(self, account_id: str, client_order_id: str) -> tuple[str, str] | None:
        """(order id, request hash) of the order that claimed ``client_order_id``."""
        try:
            claim = m.ClientOrderIdItem.get(
                account_id, f"CID#{client_order_id}", consistent_read=True
            )
        except DoesNotExist:
            return None
        return claim.order_id, claim.request_hash

    def list_orders(
        self, account_id: str, limit: int, cursor: str | None, where: OrderFilter | None = None
    ) -> Page[Order]:
        """Newest first. ULID ids sort by creation time, so a time range is a key range."""
        where = where or OrderFilter()
        low = ORDER_PREFIX + (
            _ulid_bound(where.created_from, upper=False) if where.created_from else ""
        )
        high = ORDER_PREFIX + (
            _ulid_bound(where.created_to, upper=True) if where.created_to else "~"
        )
        condition: Any = None
        if where.status:
            condition = m.OrderItem.status.is_in(*[s.value for s in where.status])
        if where.symbol:
            by_symbol = m.OrderItem.symbol == where.symbol
            condition = by_symbol if condition is None else condition & by_symbol
        results = m.OrderItem.query(
            account_id,
            m.OrderItem.sk.between(low, high),
            filter_condition=condition,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
            consistent_read=True,
        )
        items = [order_from_item(item) for item in results]
        return Page(items, encode_cursor(results.last_evaluated_key))

    def open_orders(self, symbol: str) -> list[Order]:
        """Every working order on ``symbol`` across accounts (non-final and past its
        decision: ``submitted`` ones are not here), oldest first (sparse GSI)."""
        query = m.OrderItem.waiting.query(_open_key(symbol))
        return [order_from_item(item) for item in query]

    def open_orders_of(self, account_id: str) -> list[Order]:
        """Every open order of an account, oldest first (sparse GSI; may lag a write)."""
        query = m.OrderItem.open_by_account.query(f"OPEN#{account_id}")
        return [order_from_item(item) for item in query]

    def submitted_before(self, moment: datetime) -> list[Order]:
        """Every order still ``submitted`` that was created before ``moment``, oldest first:
        one query of the sparse gsi1's ``SUBMITTED`` partition (which may lag a write)."""
        query = m.OrderItem.waiting.query(SUBMITTED_KEY, m.WaitingIndex.gsi1sk < iso(moment))
        return [order_from_item(item) for item in query]

    def save_transition(
        self,
        before: Order,
        after: Order,
        events: Iterable[Envelope],
        *,
        account: tuple[Account, Account] | None = None,
        reject_reasons: list[dict[str, Any]] | None = None,
    ) -> None:
        """Write ``after`` if the stored order is still ``before``, with its events and,
        when given, the account change (reservations) that belongs to it."""
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
        """Order, trade, position, cash, ledger lines and events: all or nothing."""
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
        orders_changed: Sequence[tuple[Order, Order, list[dict[str, Any]] | None]] = (),
        trades: Sequence[Fill] = (),
        positions_changed: Sequence[tuple[Position, Position]] = (),
        accounts_changed: Sequence[tuple[Account, Account]] = (),
        activities: Sequence[Activity] = (),
        events: Sequence[Envelope] = (),
        correlation_id: str | None = None,
        raw_puts: Sequence[dict[str, Any]] = (),
    ) -> None:
        """One transaction of conditional writes: new items must not exist, changed
        aggregates must still have the version they were read at. ``raw_puts`` are
        low-level Puts of other tables (a trading state change) that must commit with
        the rest.

        Events ride on the order item they report (the stream carries them to the relay);
        only events of a write without an order become outbox rows."""
        written = [order for order, _ in orders_created] + [a for _, a, _ in orders_changed]
        attached, rows = attach_events(events, written)
        before_correlation = {
            after.id: events[0].correlation_id for _, after, _ in orders_changed if events
        }
        writes: list[tuple[Model, Any, bool]] = []  # (item, condition, the item is new)
        for order, request_hash in orders_created:
            item = _order_item(order, correlation_id)
            item.events = attached.get(order.id)
            writes.append((item, m.OrderItem.pk.does_not_exist(), True))
            if order.client_order_id:
                claim = m.ClientOrderIdItem(
                    order.account_id,
                    f"CID#{order.client_order_id}",
                    order_id=order.id,
                    request_hash=request_hash,
                )
                writes.append((claim, m.ClientOrderIdItem.pk.does_not_exist(), True))
        for before, after, reasons in orders_changed:
            item = _order_item(after, correlation_id or before_correlation.get(after.id))
            item.events = attached.get(after.id)
            if reasons is not None:
                item.reject_reasons = json.dumps(reasons)
            writes.append((item, m.OrderItem.version == before.version, False))
        for fill in trades:
            writes.append((_trade_item(fill), m.TradeItem.pk.does_not_exist(), True))
        for position_before, position_after in positions_changed:
            new = position_before.version == 0
            condition = (
                m.PositionItem.pk.does_not_exist()
                if new
                else m.PositionItem.version == position_before.version
            )
            writes.append((_position_item(position_after), condition, new))
        for account_before, account_after in accounts_changed:
            condition = m.AccountItem.version == account_before.version
            writes.append((_account_item(account_after), condition, False))
        for activity in activities:
            writes.append((_activity_item(activity), m.ActivityItem.pk.does_not_exist(), True))
        writes.extend((outbox_item(event), None, True) for event in rows)
        self._commit(writes, raw_puts)

    def _commit(self, writes: Sequence[tuple[Model, Any, bool]], raw_puts: Sequence[Any]) -> None:
        """Write all or nothing. A new item alone (an order without a client order id) is
        a conditional put: a transaction bills twice the write units, and no concurrent
        transaction can hold an item that does not exist yet."""
        if len(writes) == 1 and not raw_puts and writes[0][2]:
            item, condition, _ = writes[0]
            try:
                item.save(condition=condition)
            except PutError as error:
                if error.cause_response_code == "ConditionalCheckFailedException":
                    raise ConflictError(["ConditionalCheckFailed"]) from error
                raise
            return
        with self._transaction() as tx:
            tx._put_items.extend(raw_puts)
            for item, condition, _ in writes:
                tx.save(item, condition=condition)

    # --- accounts, positions, trades, ledger ----------------------------------------

    def get_account(self, account_id: str) -> Account | None:
        try:
            item = m.AccountItem.get(account_id, "ACCOUNT", consistent_read=True)
        except DoesNotExist:
            return None
        return Account(
            id=item.pk,
            currency=item.currency,
            cash=item.cash,
            created_at=parse_iso(item.created_at),
            margin_enabled=item.margin_enabled,
            leverage=item.leverage,
            realized_pnl=item.realized_pnl,
            commissions=item.commissions,
            reserved=item.reserved,
            execution=ExecutionModel(
                commission_rate=item.commission_rate,
                commission_per_unit=item.commission_per_unit,
                commission_minimum=item.commission_minimum,
                slippage_bps=item.slippage_bps,
                max_volume_share=item.max_volume_share,
            ),
            version=int(item.version),
            last_sequence=int(item.last_sequence or 0),
            counters=counters_from_dict(json.loads(item.counters))
            if item.counters
            else RiskCounters(),
            gateway=item.gateway or "paper",
            gateway_mode=item.gateway_mode or "paper",
            gateway_status=item.gateway_status,
            gateway_error=item.gateway_error,
        )

    def create_account(self, account: Account, opening: Sequence[Activity] = ()) -> bool:
        """False if the account already exists (creating is idempotent)."""
        try:
            with self._transaction() as tx:
                tx.save(_account_item(account), condition=m.AccountItem.pk.does_not_exist())
                for activity in opening:
                    tx.save(_activity_item(activity))
        except ConflictError:
            return False
        return True

    def save_account(self, before: Account, after: Account) -> None:
        self.write(accounts_changed=[(before, after)])

    def get_position(self, account_id: str, symbol: str) -> Position:
        try:
            item = m.PositionItem.get(account_id, f"POSITION#{symbol}", consistent_read=True)
        except DoesNotExist:
            return Position(account_id, symbol)
        return _position_from_item(item)

    def list_positions(self, account_id: str) -> list[Position]:
        query = m.PositionItem.query(
            account_id, m.PositionItem.sk.startswith("POSITION#"), consistent_read=True
        )
        return [_position_from_item(item) for item in query]

    def list_trades(
        self,
        account_id: str,
        limit: int = 100,
        cursor: str | None = None,
        *,
        symbol: str | None = None,
        order_id: str | None = None,
    ) -> Page[Fill]:
        condition = None
        if symbol:
            condition = m.TradeItem.symbol == symbol
        if order_id:
            by_order = m.TradeItem.order_id == order_id
            condition = by_order if condition is None else condition & by_order
        results = m.TradeItem.query(
            account_id,
            m.TradeItem.sk.startswith("TRADE#"),
            filter_condition=condition,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
            consistent_read=True,
        )
        items = [_fill_from_item(item) for item in results]
        return Page(items, encode_cursor(results.last_evaluated_key))

    def has_trade(self, account_id: str, trade_id: str) -> bool:
        """Whether the trade is recorded (a venue execution is recorded once)."""
        try:
            m.TradeItem.get(account_id, f"TRADE#{trade_id}", consistent_read=True)
        except DoesNotExist:
            return False
        return True

    def accounts_routed_to(self, kind: str) -> list[Account]:
        """Every account whose gateway is of ``kind`` (``alpaca``, ``ccxt``): a scan of the
        accounts table, for the reconciliation schedule (a few accounts per stage)."""
        condition = (m.AccountItem.sk == "ACCOUNT") & (
            (m.AccountItem.gateway == kind) | m.AccountItem.gateway.startswith(f"{kind}:")
        )
        ids = [item.pk for item in m.AccountItem.scan(condition)]
        return [a for a in (self.get_account(i) for i in ids) if a is not None]

    def list_activities(
        self, account_id: str, limit: int = 100, cursor: str | None = None
    ) -> Page[Activity]:
        """The cash ledger, oldest first."""
        results = m.ActivityItem.query(
            account_id,
            m.ActivityItem.sk.startswith("ACTIVITY#"),
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
            consistent_read=True,
        )
        items = [_activity_from_item(item) for item in results]
        return Page(items, encode_cursor(results.last_evaluated_key))

    # --- reference data and prices --------------------------------------------------

    def get_instrument(self, symbol: str) -> Instrument | None:
        try:
            item = m.InstrumentItem.get(symbol, "INSTRUMENT")
        except DoesNotExist:
            return None
        return _instrument_from_item(item)

    def list_instruments(self) -> list[Instrument]:
        return sorted(
            (_instrument_from_item(i) for i in m.InstrumentItem.scan()), key=lambda i: i.symbol
        )

    def put_instrument(self, instrument: Instrument, *, create: bool = False) -> None:
        """Save an instrument; with ``create``, refuse (ConflictError) if it exists."""
        item = m.InstrumentItem(
            instrument.symbol,
            "INSTRUMENT",
            asset_class=instrument.asset_class,
            currency=instrument.currency,
            tick_size=instrument.tick_size,
            lot_size=instrument.lot_size,
            min_quantity=instrument.min_quantity,
            price_precision=instrument.price_precision,
            tradable=instrument.tradable,
            calendar=instrument.calendar,
        )
        try:
            item.save(condition=m.InstrumentItem.pk.does_not_exist() if create else None)
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise ConflictError(["ConditionalCheckFailed"]) from error
            raise

    def latest_price(self, symbol: str) -> LatestPrice | None:
        try:
            item = m.LatestPriceItem.get(f"LATEST#{symbol}", "LATEST")
        except DoesNotExist:
            return None
        return LatestPrice(symbol, item.price, parse_iso(item.timestamp))

    def _transaction(self) -> Transaction:
        return Transaction(self.connection)


class Transaction:
    """TransactWrite that turns cancellation for a failed condition into ConflictError."""

    def __init__(self, connection: Connection) -> None:
        self._tx = TransactWrite(connection=connection)

    def __enter__(self) -> TransactWrite:
        return self._tx.__enter__()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self._tx.__exit__(exc_type, exc, tb)  # type: ignore[no-untyped-call]
        except TransactWriteError as error:
            reasons = [r.code for r in (error.cancellation_reasons or []) if r is not None]
            if "ConditionalCheckFailed" in reasons:
                raise ConflictError(reasons) from error
            raise


# --- mapping between items and the domain ---------------------------------------------


def _open_key(symbol: str) -> str:
    return f"OPEN#{symbol}"


def _waits_for(order: Order) -> str | None:
    """The order's gsi1 partition: what it waits for. One index for both waits, so an
    order that fills at its decision enters and leaves one index, not two."""
    if order.is_final:
        return None
    if order.status is OrderStatus.SUBMITTED:
        return SUBMITTED_KEY  # its decision (the risk-timeout sweep)
    return _open_key(order.symbol)  # prices and expiry


def _order_item(order: Order, correlation_id: str | None) -> m.OrderItem:
    open_ = not order.is_final  # open orders are found by account
    waits_for = _waits_for(order)
    sort_key = iso(order.created_at) + "#" + order.id
    return m.OrderItem(
        order.account_id,
        ORDER_PREFIX + order.id,
        id=order.id,
        account_id=order.account_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side.value,
        type=order.type.value,
        quantity=order.quantity,
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        trail_price=order.trail_price,
        trail_percent=order.trail_percent,
        trail_reference=order.trail_reference,
        triggered=order.triggered,
        time_in_force=order.time_in_force.value,
        status=order.status.value,
        filled_quantity=order.filled_quantity,
        filled_notional=order.filled_notional,
        average_fill_price=order.average_fill_price,
        commission=order.commission,
        reserved=order.reserved,
        reject_reason=json.dumps(order.reject_reason) if order.reject_reason else None,
        reject_reasons=json.dumps(order.reject_reasons) if order.reject_reasons else None,
        created_at=iso(order.created_at),
        updated_at=iso(order.updated_at),
        accepted_at=iso(order.accepted_at) if order.accepted_at else None,
        expires_at=iso(order.expires_at) if order.expires_at else None,
        replaces=order.replaces,
        replaced_by=order.replaced_by,
        replaced_filled_quantity=order.replaced_filled_quantity,
        closes_position=order.closes_position,
        execution=_execution_json(order.execution),
        version=order.version,
        sequence=order.sequence,
        order_class=None if order.order_class is OrderClass.SIMPLE else order.order_class.value,
        parent_order_id=order.parent_order_id,
        leg_ids=",".join(order.leg_ids) or None,
        notional=order.notional,
        venue=order.venue,
        venue_order_id=order.venue_order_id,
        correlation_id=correlation_id,
        gsi1pk=waits_for,
        gsi1sk=sort_key if waits_for else None,
        gsi2pk=f"OPEN#{order.account_id}" if open_ else None,
        gsi2sk=sort_key if open_ else None,
    )


def order_from_item(item: m.OrderItem) -> Order:
    return Order(
        id=item.id,
        account_id=item.account_id,
        symbol=item.symbol,
        side=Side(item.side),
        type=OrderType(item.type),
        quantity=item.quantity,
        time_in_force=TimeInForce(item.time_in_force),
        status=OrderStatus(item.status),
        created_at=parse_iso(item.created_at),
        updated_at=parse_iso(item.updated_at),
        client_order_id=item.client_order_id,
        limit_price=item.limit_price,
        stop_price=item.stop_price,
        trail_price=item.trail_price,
        trail_percent=item.trail_percent,
        trail_reference=item.trail_reference,
        triggered=bool(item.triggered),
        filled_quantity=item.filled_quantity,
        filled_notional=item.filled_notional,
        commission=item.commission,
        reserved=item.reserved,
        reject_reason=json.loads(item.reject_reason) if item.reject_reason else None,
        reject_reasons=json.loads(item.reject_reasons) if item.reject_reasons else None,
        accepted_at=parse_iso(item.accepted_at) if item.accepted_at else None,
        expires_at=parse_iso(item.expires_at) if item.expires_at else None,
        replaces=item.replaces,
        replaced_by=item.replaced_by,
        replaced_filled_quantity=item.replaced_filled_quantity,
        closes_position=bool(item.closes_position),
        execution=_execution_from_json(item.execution),
        version=int(item.version),
        sequence=int(item.sequence) if item.sequence is not None else None,
        order_class=OrderClass(item.order_class or OrderClass.SIMPLE),
        parent_order_id=item.parent_order_id,
        leg_ids=tuple(item.leg_ids.split(",")) if item.leg_ids else (),
        notional=item.notional,
        venue=item.venue,
        venue_order_id=item.venue_order_id,
    )


def _execution_json(execution: ExecutionModel | None) -> str | None:
    if execution is None:
        return None
    # Only the costs that apply (absent fields are zero): most accounts pay none.
    costs = {f.name: getattr(execution, f.name) for f in fields(execution)}
    return json.dumps({name: format(value, "f") for name, value in costs.items() if value})


def _execution_from_json(text: str | None) -> ExecutionModel | None:
    if not text:
        return None
    return ExecutionModel(**{name: Decimal(value) for name, value in json.loads(text).items()})


def outbox_item(event: Envelope) -> m.OutboxItem:
    return m.OutboxItem(
        event.account_id or PLATFORM_KEY,
        f"OUTBOX#{event.id}",
        events=json.dumps([event.model_dump(mode="json")], separators=(",", ":")),
        event_type=event.type,
        ttl=int(time.time()) + OUTBOX_TTL_SECONDS,
    )


# --- events carried by the items they report ------------------------------------------

FROM_ITEM = "o"  # an encoded event whose payload's ``order`` is the order item itself
ORDER_DIFF = "d"  # ... or the item's order view with these fields changed (an earlier state)
SHARED = "h"  # the envelope fields every event of the write shares, stored once
EVENTS = "e"
_ABSENT = object()
# Events are stored deflated against a preset dictionary of what they usually say: a
# decision that fills goes from about 920 to under 300 bytes, which keeps the filled order
# item under the 1 KB a write unit buys. Base64 keeps the attribute a string (the stream's
# event filter matches it). The dictionary is part of the stored format: never edit it;
# a new one needs a new prefix.
COMPRESSED = "z1:"
EVENTS_ZDICT = (
    b'"type":"OrderCanceled","payload":{},"d":{"status":"canceled"}},'
    b'"type":"OrderDenied","payload":{"reasons":[{"code":"'
    b'"type":"OrderRejected","payload":{"reason":'
    b'"type":"OrderExpired","payload":{},"o":1},"type":"OrderReplaced","payload":{'
    b'"type":"OrderCancelRequested","payload":{},"o":1},'
    b'"time_in_force":"day","limit_price":null,"stop_price":null,"type":"limit",'
    b'{"h":{"version":1,"occurred_at":"2026-01-01T00:00:00.000Z","correlation_id":"'
    b'","causation_id":"01'
    b'"},"e":[{"type":"OrderAccepted","payload":{},"d":{"status":"accepted",'
    b'"filled_quantity":"0","average_fill_price":null}},'
    b'{"type":"OrderFilled","payload":{"fill":{"trade_id":"01'
    b'-2","order_id":"01","symbol":"","side":"buy","quantity":"1","price":"1.00",'
    b'"commission":"0","executed_at":"2026-01-01T00:00:00.000Z"},"position_quantity":"'
    b'"},"o":1},{"type":"PositionChanged","payload":{"position":{"symbol":"","quantity":"'
    b'","average_cost":"","cost_basis":"","realized_pnl":"0"},"trade_id":"01'
    b'-2"}},{"type":"AccountChanged","payload":{"account":{"currency":"USD","cash":"'
    b'","reserved":"0.0000","realized_pnl":"0","commissions":"0"},"reason":"fill",'
    b'"order_id":"01'
)


def attach_events(
    events: Sequence[Envelope], orders: Sequence[Order]
) -> tuple[dict[str, str], list[Envelope]]:
    """({order id: its encoded events}, the events left for outbox rows): each event rides
    on the order it is about, else on the first order written; none without an order."""
    ids = [order.id for order in orders]
    by_order: dict[str, list[Envelope]] = {}
    rows: list[Envelope] = []
    for event in events:
        subject = (event.payload.get("order") or {}).get("id") or event.payload.get("order_id")
        target = subject if subject in ids else (ids[0] if ids else None)
        if target is None:
            rows.append(event)
        else:
            by_order.setdefault(target, []).append(event)
    final = {order.id: order for order in orders}  # the last write of each order wins
    return {oid: encode_events(evs, final[oid]) for oid, evs in by_order.items()}, rows


def encode_events(events: Sequence[Envelope], order: Order) -> str:
    """The events as compact JSON without what the item already holds. The item is billed
    per KB on every write and index write, and a decision that fills carries four events,
    so: no event id (derived from the order id, version and type); an order view that is
    the item's is a flag, one from earlier in the write (``accepted`` before ``filled``) is
    the fields that differ; envelope fields all events share are stored once."""
    view = order_view(order).model_dump(mode="json")
    encoded = [_encode_event(event, view) for event in events]
    shared = {
        k: v
        for k, v in encoded[0].items()
        if k not in ("type", "payload") and all(e.get(k, _ABSENT) == v for e in encoded)
    }
    for data in encoded:
        for key in shared:
            del data[key]
    text = json.dumps({SHARED: shared, EVENTS: encoded}, separators=(",", ":"))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=EVENTS_ZDICT)
    packed = packer.compress(text.encode()) + packer.flush()
    return COMPRESSED + base64.b64encode(packed).decode("ascii")


def _decoded_events(text: str) -> Any:
    if not text.startswith(COMPRESSED):  # written before events were compressed
        return json.loads(text)
    unpacker = zlib.decompressobj(-15, zdict=EVENTS_ZDICT)
    packed = base64.b64decode(text[len(COMPRESSED) :])
    return json.loads(unpacker.decompress(packed) + unpacker.flush())


def _encode_event(event: Envelope, view: dict[str, Any]) -> dict[str, Any]:
    data = event.model_dump(mode="json", exclude={"id", "account_id"})
    subject = data["payload"].get("order")
    if subject is not None and subject.get("id") == view["id"]:
        changed = {k: v for k, v in subject.items() if view.get(k, _ABSENT) != v}
        del data["payload"]["order"]
        if changed:
            data[ORDER_DIFF] = changed
        else:
            data[FROM_ITEM] = 1
    return data


def derived_event_id(subject: str, version: int, event_type: str, index: int, at: str) -> str:
    """A ULID (time of the event, its place among the write's events, then a hash of what
    identifies it): the same stream record always yields the same ids, so a replayed batch
    publishes nothing new; and ids sort as the events happened (accepted before filled)."""
    digest = hashlib.sha256(f"{subject}#{version}#{event_type}#{index}".encode()).digest()
    millis = int(parse_iso(at).timestamp() * 1000)
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + bytes([index % 256]) + digest[:9]))


def events_of_image(image: dict[str, Any]) -> list[Envelope]:
    """The events a stream record's new image carries (an order item or an outbox row)."""
    if "events" not in image:
        return []
    if not image["sk"]["S"].startswith(ORDER_PREFIX):
        return [Envelope.model_validate(e) for e in json.loads(image["events"]["S"])]
    return events_of_item(m.OrderItem.from_raw_data(image))


def events_of_item(item: m.OrderItem) -> list[Envelope]:
    """The events an order item's last write reported."""
    order = order_from_item(item)
    stored = _decoded_events(item.events or "[]")
    # A list: written before the shared fields were stored once (records still in the
    # stream while a deploy rolls out).
    shared, encoded = ({}, stored) if isinstance(stored, list) else (stored[SHARED], stored[EVENTS])
    view: dict[str, Any] | None = None
    envelopes = []
    for index, event in enumerate(encoded):
        data = {**shared, **event}
        changed = data.pop(ORDER_DIFF, None)
        if data.pop(FROM_ITEM, None) or changed is not None:
            view = view or order_view(order).model_dump(mode="json")
            data["payload"]["order"] = {**view, **(changed or {})}
        data["id"] = derived_event_id(
            order.id, order.version, data["type"], index, data["occurred_at"]
        )
        data["account_id"] = order.account_id
        envelopes.append(Envelope.model_validate(data))
    return envelopes


def _trade_item(fill: Fill) -> m.TradeItem:
    return m.TradeItem(
        fill.account_id,
        f"TRADE#{fill.trade_id}",
        trade_id=fill.trade_id,
        order_id=fill.order_id,
        symbol=fill.symbol,
        side=fill.side.value,
        quantity=fill.quantity,
        price=fill.price,
        commission=fill.commission,
        executed_at=iso(fill.executed_at),
    )


def _fill_from_item(item: m.TradeItem) -> Fill:
    return Fill(
        trade_id=item.trade_id,
        order_id=item.order_id,
        account_id=item.pk,
        symbol=item.symbol,
        side=Side(item.side),
        quantity=item.quantity,
        price=item.price,
        commission=item.commission,
        executed_at=parse_iso(item.executed_at),
    )


def holding_key(symbol: str) -> str:
    """gsi1pk of an open position in ``symbol`` (the positions table's holders index)."""
    return f"HOLDING#{symbol}"


def _position_item(position: Position) -> m.PositionItem:
    is_open = position.quantity != 0
    return m.PositionItem(
        position.account_id,
        f"POSITION#{position.symbol}",
        symbol=position.symbol,
        quantity=position.quantity,
        cost_basis=position.cost_basis,
        realized_pnl=position.realized_pnl,
        version=position.version,
        # A flat position leaves the sparse index (a save replaces the whole item).
        gsi1pk=holding_key(position.symbol) if is_open else None,
        gsi1sk=position.account_id if is_open else None,
    )


def _position_from_item(item: m.PositionItem) -> Position:
    return Position(
        account_id=item.pk,
        symbol=item.symbol,
        quantity=item.quantity,
        cost_basis=item.cost_basis,
        realized_pnl=item.realized_pnl,
        version=int(item.version),
    )


def _account_item(account: Account) -> m.AccountItem:
    execution = account.execution
    return m.AccountItem(
        account.id,
        "ACCOUNT",
        currency=account.currency,
        cash=account.cash,
        margin_enabled=account.margin_enabled,
        leverage=account.leverage,
        realized_pnl=account.realized_pnl,
        commissions=account.commissions,
        reserved=account.reserved,
        commission_rate=execution.commission_rate,
        commission_per_unit=execution.commission_per_unit,
        commission_minimum=execution.commission_minimum,
        slippage_bps=execution.slippage_bps,
        max_volume_share=execution.max_volume_share,
        created_at=iso(account.created_at),
        version=account.version,
        last_sequence=account.last_sequence,
        counters=json.dumps(counters_to_dict(account.counters), separators=(",", ":")),
        gateway=None if account.gateway == "paper" else account.gateway,
        gateway_mode=None if account.gateway == "paper" else account.gateway_mode,
        gateway_status=account.gateway_status,
        gateway_error=account.gateway_error,
    )


def _activity_item(activity: Activity) -> m.ActivityItem:
    return m.ActivityItem(
        activity.account_id,
        f"ACTIVITY#{iso(activity.at)}#{activity.id}",
        activity_id=activity.id,
        type=activity.type.value,
        amount=activity.amount,
        at=iso(activity.at),
        symbol=activity.symbol,
        order_id=activity.order_id,
        trade_id=activity.trade_id,
        description=activity.description,
    )


def _activity_from_item(item: m.ActivityItem) -> Activity:
    return Activity(
        id=item.activity_id,
        account_id=item.pk,
        type=ActivityType(item.type),
        amount=item.amount,
        at=parse_iso(item.at),
        symbol=item.symbol,
        order_id=item.order_id,
        trade_id=item.trade_id,
        description=item.description,
    )


def _instrument_from_item(item: m.InstrumentItem) -> Instrument:
    return Instrument(
        symbol=item.pk,
        asset_class=item.asset_class,
        currency=item.currency,
        tick_size=item.tick_size,
        lot_size=item.lot_size,
        min_quantity=item.min_quantity,
        price_precision=int(item.price_precision),
        tradable=item.tradable,
        calendar=item.calendar,
    )

"""DynamoDB persistence of orders, fills, positions and accounts, with the outbox.

Every state change and the event that reports it are written in one
``TransactWriteItems``: either both exist or neither does. Aggregates carry a
``version`` and every write is conditional on the version that was read, so a
concurrent or replayed change fails instead of overwriting.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from redfire_core.adapters import models as m
from redfire_core.config import Settings, get_settings
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from redfire_core.domain.positions import Account, Fill, Position
from redfire_core.domain.risk import LatestPrice
from redfire_core.events import Envelope, iso, parse_iso

OUTBOX_TTL_SECONDS = 7 * 86400  # a safety net: the relay deletes rows once published
ORDER_PREFIX = "ORDER#"


class ConflictError(Exception):
    """A conditional write lost: the item changed since it was read, or already exists."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Page:
    items: list[Order]
    next_cursor: str | None


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise ValueError("invalid cursor") from None
    if not isinstance(key, dict):
        raise ValueError("invalid cursor")
    return key


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
        with self._transaction() as tx:
            tx.save(_order_item(order, correlation_id), condition=m.OrderItem.pk.does_not_exist())
            if order.client_order_id:
                claim = m.ClientOrderIdItem(
                    order.account_id,
                    f"CID#{order.client_order_id}",
                    order_id=order.id,
                    request_hash=request_hash,
                )
                tx.save(claim, condition=m.ClientOrderIdItem.pk.does_not_exist())
            tx.save(_outbox_item(event))

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

    def list_orders(self, account_id: str, limit: int, cursor: str | None) -> Page:
        """Newest first; ULID ids sort by creation time."""
        results = m.OrderItem.query(
            account_id,
            m.OrderItem.sk.startswith(ORDER_PREFIX),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
        )
        items = [order_from_item(item) for item in results]
        return Page(items, encode_cursor(results.last_evaluated_key))

    def open_orders(self, symbol: str) -> list[Order]:
        """Every open order on ``symbol`` across accounts, oldest first (sparse GSI)."""
        query = m.OrderItem.open_by_symbol.query(f"OPEN#{symbol}")
        return [order_from_item(item) for item in query]

    def save_transition(
        self, before: Order, after: Order, events: Iterable[Envelope], **extra: Any
    ) -> None:
        """Write ``after`` if the stored order is still ``before``, with its events."""
        with self._transaction() as tx:
            item = _order_item(after, extra.get("correlation_id"))
            if extra.get("reject_reasons") is not None:
                item.reject_reasons = json.dumps(extra["reject_reasons"])
            tx.save(item, condition=m.OrderItem.version == before.version)
            for event in events:
                tx.save(_outbox_item(event))

    def apply_fill(
        self,
        before: Order,
        after: Order,
        fill: Fill,
        position_before: Position,
        position_after: Position,
        account_before: Account,
        account_after: Account,
        event: Envelope,
    ) -> None:
        """Order, trade, position, cash and the OrderFilled event: all or nothing."""
        with self._transaction() as tx:
            tx.save(_order_item(after, None), condition=m.OrderItem.version == before.version)
            tx.save(_trade_item(fill), condition=m.TradeItem.pk.does_not_exist())
            position_condition = (
                m.PositionItem.pk.does_not_exist()
                if position_before.version == 0
                else m.PositionItem.version == position_before.version
            )
            tx.save(_position_item(position_after), condition=position_condition)
            tx.save(
                _account_item(account_after),
                condition=m.AccountItem.version == account_before.version,
            )
            tx.save(_outbox_item(event))

    # --- accounts, positions, trades -----------------------------------------------

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
            version=int(item.version),
        )

    def create_account(self, account: Account) -> bool:
        """False if the account already exists (creating is idempotent)."""
        try:
            _account_item(account).save(condition=m.AccountItem.pk.does_not_exist())
        except Exception as error:  # PutError wrapping ConditionalCheckFailed
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def get_position(self, account_id: str, symbol: str) -> Position:
        try:
            item = m.PositionItem.get(account_id, f"POSITION#{symbol}", consistent_read=True)
        except DoesNotExist:
            return Position(account_id, symbol)
        return _position_from_item(item)

    def list_positions(self, account_id: str) -> list[Position]:
        query = m.PositionItem.query(account_id, m.PositionItem.sk.startswith("POSITION#"))
        return [_position_from_item(item) for item in query]

    def list_trades(self, account_id: str, order_id: str | None = None) -> list[Fill]:
        query = m.TradeItem.query(account_id, m.TradeItem.sk.startswith("TRADE#"))
        fills = [_fill_from_item(item) for item in query]
        return [f for f in fills if order_id is None or f.order_id == order_id]

    # --- reference data and prices --------------------------------------------------

    def get_instrument(self, symbol: str) -> Instrument | None:
        try:
            item = m.InstrumentItem.get(symbol, "INSTRUMENT")
        except DoesNotExist:
            return None
        return Instrument(
            symbol=item.pk,
            asset_class=item.asset_class,
            currency=item.currency,
            tick_size=item.tick_size,
            lot_size=item.lot_size,
            min_quantity=item.min_quantity,
            price_precision=int(item.price_precision),
            tradable=item.tradable,
            calendar=item.calendar,  # type: ignore[arg-type]
        )

    def put_instrument(self, instrument: Instrument) -> None:
        m.InstrumentItem(
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
        ).save()

    def latest_price(self, symbol: str) -> LatestPrice | None:
        try:
            item = m.LatestPriceItem.get(f"LATEST#{symbol}", "LATEST")
        except DoesNotExist:
            return None
        return LatestPrice(symbol, item.price, parse_iso(item.timestamp))

    # --- outbox ---------------------------------------------------------------------

    def delete_outbox_row(self, pk: str, sk: str) -> None:
        m.OutboxItem(pk, sk).delete()

    def _transaction(self) -> _Transaction:
        return _Transaction(self.connection)


class _Transaction:
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


def _is_conditional_failure(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


# --- mapping between items and the domain ---------------------------------------------


def _order_item(order: Order, correlation_id: str | None) -> m.OrderItem:
    resting = not order.is_final  # open orders are found by symbol when a price arrives
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
        time_in_force=order.time_in_force.value,
        status=order.status.value,
        filled_quantity=order.filled_quantity,
        filled_notional=order.filled_notional,
        average_fill_price=order.average_fill_price,
        reject_reason=json.dumps(order.reject_reason) if order.reject_reason else None,
        created_at=iso(order.created_at),
        updated_at=iso(order.updated_at),
        accepted_at=iso(order.accepted_at) if order.accepted_at else None,
        version=order.version,
        correlation_id=correlation_id,
        gsi1pk=f"OPEN#{order.symbol}" if resting else None,
        gsi1sk=iso(order.created_at) + "#" + order.id if resting else None,
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
        filled_quantity=item.filled_quantity,
        filled_notional=item.filled_notional,
        reject_reason=json.loads(item.reject_reason) if item.reject_reason else None,
        accepted_at=parse_iso(item.accepted_at) if item.accepted_at else None,
        version=int(item.version),
    )


def _outbox_item(event: Envelope) -> m.OutboxItem:
    return m.OutboxItem(
        event.account_id or "PLATFORM",
        f"OUTBOX#{event.id}",
        event=event.model_dump_json(),
        event_type=event.type,
        expires_at=int(time.time()) + OUTBOX_TTL_SECONDS,
    )


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


def _position_item(position: Position) -> m.PositionItem:
    return m.PositionItem(
        position.account_id,
        f"POSITION#{position.symbol}",
        symbol=position.symbol,
        quantity=position.quantity,
        cost_basis=position.cost_basis,
        realized_pnl=position.realized_pnl,
        version=position.version,
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
    return m.AccountItem(
        account.id,
        "ACCOUNT",
        currency=account.currency,
        cash=account.cash,
        margin_enabled=account.margin_enabled,
        leverage=account.leverage,
        realized_pnl=account.realized_pnl,
        commissions=account.commissions,
        created_at=iso(account.created_at),
        version=account.version,
    )

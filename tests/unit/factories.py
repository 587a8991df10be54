"""Builders of domain objects with sensible defaults; a test names only what it is about."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from redfire_core.domain.orders import (
    ExecutionModel,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from redfire_core.domain.positions import Account, Fill, Position

T0 = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
ACCOUNT_ID = "acct-1"


def an_order(
    *,
    side: Side = Side.BUY,
    type: OrderType = OrderType.LIMIT,
    quantity: str | Decimal = "10",
    limit_price: str | Decimal | None = "100.00",
    stop_price: str | Decimal | None = None,
    status: OrderStatus = OrderStatus.SUBMITTED,
    symbol: str = "AAPL",
    time_in_force: TimeInForce = TimeInForce.DAY,
    trail_price: str | Decimal | None = None,
    trail_percent: str | Decimal | None = None,
    **changes: Any,
) -> Order:
    """A submitted order (or one forced into ``status``, for state-machine tests)."""
    request = OrderRequest(
        symbol=symbol,
        side=side,
        type=type,
        quantity=Decimal(quantity),
        time_in_force=time_in_force,
        limit_price=_decimal(limit_price),
        stop_price=_decimal(stop_price),
        trail_price=_decimal(trail_price),
        trail_percent=_decimal(trail_percent),
    )
    order = Order.submit("01JD0000000000000000000001", ACCOUNT_ID, request, T0)
    return replace(order, status=status, **changes)


def _decimal(value: str | Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def a_fill(
    side: Side,
    quantity: str | Decimal,
    price: str | Decimal,
    *,
    commission: str | Decimal = "0",
    trade_id: str = "t-1",
    symbol: str = "AAPL",
) -> Fill:
    return Fill(
        trade_id=trade_id,
        order_id="01JD0000000000000000000001",
        account_id=ACCOUNT_ID,
        symbol=symbol,
        side=side,
        quantity=Decimal(quantity),
        price=Decimal(price),
        commission=Decimal(commission),
        executed_at=T0,
    )


def a_position(quantity: str = "0", average_cost: str = "0", realized: str = "0") -> Position:
    return Position(
        ACCOUNT_ID,
        "AAPL",
        quantity=Decimal(quantity),
        cost_basis=Decimal(quantity) * Decimal(average_cost),
        realized_pnl=Decimal(realized),
    )


def an_account(
    cash: str = "100000",
    *,
    margin_enabled: bool = False,
    leverage: str = "1",
    reserved: str = "0",
    execution: ExecutionModel | None = None,
) -> Account:
    return Account(
        id=ACCOUNT_ID,
        currency="USD",
        cash=Decimal(cash),
        created_at=T0,
        margin_enabled=margin_enabled,
        leverage=Decimal(leverage),
        reserved=Decimal(reserved),
        execution=execution or ExecutionModel(),
    )

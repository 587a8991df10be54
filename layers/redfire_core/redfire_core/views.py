"""Resources as clients see them (REST bodies and event payloads share these shapes)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from redfire_core.domain.bars import Bar
from redfire_core.domain.money import format_decimal
from redfire_core.domain.orders import Order
from redfire_core.domain.positions import Account, Fill, Position
from redfire_core.events import (
    AccountBalanceView,
    AccountChanged,
    FillView,
    MarketDataUpdated,
    OrderView,
    PositionView,
    iso,
    parse_iso,
)


def _dec(value: Decimal) -> str:
    return format(value, "f")


def order_view(order: Order) -> OrderView:
    return OrderView(
        id=order.id,
        client_order_id=order.client_order_id,
        status=order.status.value,
        symbol=order.symbol,
        side=order.side.value,
        type=order.type.value,
        quantity=_dec(order.quantity),
        limit_price=format_decimal(order.limit_price),
        stop_price=format_decimal(order.stop_price),
        trail_price=format_decimal(order.trail_price),
        trail_percent=format_decimal(order.trail_percent),
        time_in_force=order.time_in_force.value,
        filled_quantity=_dec(order.filled_quantity),
        average_fill_price=format_decimal(order.average_fill_price),
        commission=_dec(order.commission),
        reject_reason=order.reject_reason,
        reject_reasons=order.reject_reasons,
        replaces=order.replaces,
        replaced_by=order.replaced_by,
        expires_at=iso(order.expires_at) if order.expires_at else None,
        created_at=iso(order.created_at),
        updated_at=iso(order.updated_at),
        sequence=order.sequence,
        order_class=order.order_class.value,
        parent_order_id=order.parent_order_id,
        notional=format_decimal(order.notional),
    )


def order_with_legs(order: Order, legs: list[Order]) -> OrderView:
    """An order as the REST API shows it, with its legs (a parent of an order class)."""
    view = order_view(order)
    if order.leg_ids:
        view.legs = [order_view(leg) for leg in legs]
    return view


def position_view(position: Position) -> PositionView:
    return PositionView(
        symbol=position.symbol,
        quantity=_dec(position.quantity),
        average_cost=_dec(position.average_cost),
        cost_basis=_dec(position.cost_basis),
        realized_pnl=_dec(position.realized_pnl),
    )


def fill_view(fill: Fill) -> FillView:
    return FillView(
        trade_id=fill.trade_id,
        order_id=fill.order_id,
        symbol=fill.symbol,
        side=fill.side.value,
        quantity=_dec(fill.quantity),
        price=_dec(fill.price),
        commission=_dec(fill.commission),
        executed_at=iso(fill.executed_at),
    )


def account_changed(
    account: Account, reason: Literal["fill", "reserved", "released"], order_id: str
) -> AccountChanged:
    """The ``AccountChanged`` payload for ``account`` as it is after the change."""
    return AccountChanged(
        account=AccountBalanceView(
            currency=account.currency,
            cash=_dec(account.cash),
            reserved=_dec(account.reserved),
            realized_pnl=_dec(account.realized_pnl),
            commissions=_dec(account.commissions),
        ),
        reason=reason,
        order_id=order_id,
    )


def market_data_updated(batch: Sequence[Bar]) -> MarketDataUpdated:
    """The event of a batch of one series' bars, oldest first: references and aggregates
    (the wire shape), never the bars themselves."""
    first, last = batch[0], batch[-1]
    return MarketDataUpdated(
        symbol=first.symbol,
        interval=first.interval,
        first_start=iso(first.start),
        last_end=iso(last.end),
        open=format(first.open, "f"),
        high=format(max(b.high for b in batch), "f"),
        low=format(min(b.low for b in batch), "f"),
        close=format(last.close, "f"),
        volume=format(sum(b.volume for b in batch), "f"),
        bar_count=len(batch),
    )


def bar_of_update(update: MarketDataUpdated) -> Bar:
    """The one bar a ``MarketDataUpdated`` stands for: its batch's aggregate, from the start
    of the first bar ``until`` the end of the last."""
    return Bar(
        symbol=update.symbol,
        interval=update.interval,
        start=parse_iso(update.first_start),
        open=Decimal(update.open),
        high=Decimal(update.high),
        low=Decimal(update.low),
        close=Decimal(update.close),
        volume=Decimal(update.volume),
        until=parse_iso(update.last_end),
    )

"""RedFire's resources in Alpaca's shapes (Trading API v2), as alpaca-py's models read them.

Numbers go out as decimal strings, timestamps as RFC 3339, ids as UUIDs (an order's is its
ULID's UUID form; an account's and an asset's are name-based UUIDs of their ids, stable
across deployments). Crypto symbols are written `BTC/USD` as Alpaca does (`BTC-USD` here).
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from redfire_core.alpaca_dialect import STATUS, uuid_of
from redfire_core.domain.calendars import Session
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import FINAL_STATUSES, Order, OrderStatus
from redfire_core.domain.positions import Account, Fill
from redfire_core.events import iso

NAMESPACE = uuid5(NAMESPACE_URL, "https://redfire.dev/alpaca")
ASSET_CLASSES = {"crypto": "crypto"}  # anything else is a US equity to Alpaca's clients


def text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def account_uuid(account_id: str) -> str:
    return str(uuid5(NAMESPACE, f"account:{account_id}"))


def asset_uuid(symbol: str) -> str:
    return str(uuid5(NAMESPACE, f"asset:{symbol}"))


def asset_class(instrument: Instrument | None) -> str:
    return ASSET_CLASSES.get(instrument.asset_class if instrument else "", "us_equity")


def alpaca_symbol(symbol: str, instrument: Instrument | None) -> str:
    return symbol.replace("-", "/") if asset_class(instrument) == "crypto" else symbol


def redfire_symbol(symbol: str) -> str:
    return symbol.replace("/", "-")


def exchange(instrument: Instrument | None) -> str:
    if asset_class(instrument) == "crypto":
        return "CRYPTO"
    return "NYSE" if instrument is not None and instrument.calendar == "XNYS" else "OTC"


def order_shape(
    order: Order, instrument: Instrument | None, legs: list[Order] | None = None
) -> dict[str, Any]:
    """An order as alpaca-py's ``Order`` reads it; ``legs`` (a parent's, when nested) are
    shown inside it. A notional order shows no ``qty`` until its fill sets one."""
    final_at = iso(order.updated_at) if order.status in FINAL_STATUSES else None

    def when(*statuses: OrderStatus) -> str | None:
        return final_at if order.status in statuses else None

    average = order.average_fill_price
    return {
        "id": uuid_of(order.id),
        "client_order_id": order.client_order_id or order.id,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "submitted_at": iso(order.created_at),
        "filled_at": when(OrderStatus.FILLED),
        "expired_at": when(OrderStatus.EXPIRED),
        "expires_at": iso(order.expires_at) if order.expires_at else None,
        "canceled_at": when(OrderStatus.CANCELED),
        "failed_at": when(OrderStatus.DENIED, OrderStatus.REJECTED),
        "replaced_at": when(OrderStatus.REPLACED),
        "replaced_by": uuid_of(order.replaced_by) if order.replaced_by else None,
        "replaces": uuid_of(order.replaces) if order.replaces else None,
        "asset_id": asset_uuid(order.symbol),
        "symbol": alpaca_symbol(order.symbol, instrument),
        "asset_class": asset_class(instrument),
        "notional": text(order.notional),
        "qty": None if order.notional is not None and order.quantity == 0 else text(order.quantity),
        "filled_qty": text(order.filled_quantity),
        "filled_avg_price": text(average),
        "order_class": order.order_class.value,
        "order_type": order.type.value,
        "type": order.type.value,
        "side": order.side.value,
        "position_intent": None,
        "time_in_force": order.time_in_force.value,
        "limit_price": text(order.limit_price),
        "stop_price": text(order.stop_price),
        "status": STATUS[order.status],
        "extended_hours": False,
        "legs": None if legs is None else [order_shape(leg, instrument) for leg in legs],
        "trail_percent": text(order.trail_percent),
        "trail_price": text(order.trail_price),
        "hwm": text(order.trail_reference),
    }


def account_shape(
    account: Account, *, equity: Decimal, buying_power: Decimal, long: Decimal, short: Decimal
) -> dict[str, Any]:
    return {
        "id": account_uuid(account.id),
        "account_number": account.id,
        "status": "ACTIVE",
        "crypto_status": "ACTIVE",
        "currency": account.currency,
        "buying_power": text(buying_power),
        "regt_buying_power": text(buying_power),
        "daytrading_buying_power": text(buying_power),
        "non_marginable_buying_power": text(account.cash - account.reserved),
        "cash": text(account.cash),
        "accrued_fees": "0",
        "pending_transfer_out": "0",
        "pending_transfer_in": "0",
        "portfolio_value": text(equity),
        "pattern_day_trader": False,
        "trading_blocked": False,
        "transfers_blocked": True,  # RedFire moves no money
        "account_blocked": False,
        "created_at": iso(account.created_at),
        "trade_suspended_by_user": False,
        "multiplier": text(account.leverage if account.margin_enabled else Decimal(1)),
        "shorting_enabled": account.margin_enabled,
        "equity": text(equity),
        "last_equity": text(equity),
        "long_market_value": text(long),
        "short_market_value": text(short),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "daytrade_count": 0,
    }


def position_shape(
    symbol: str, quantity: Decimal, cost_basis: Decimal, price: Decimal, inst: Instrument | None
) -> dict[str, Any]:
    market_value = quantity * price
    unrealized = market_value - cost_basis
    return {
        "asset_id": asset_uuid(symbol),
        "symbol": alpaca_symbol(symbol, inst),
        "exchange": exchange(inst),
        "asset_class": asset_class(inst),
        "asset_marginable": asset_class(inst) != "crypto",
        "avg_entry_price": text(cost_basis / quantity),
        "qty": text(quantity),
        "qty_available": text(abs(quantity)),
        "side": "long" if quantity > 0 else "short",
        "market_value": text(market_value),
        "cost_basis": text(cost_basis),
        "unrealized_pl": text(unrealized),
        "unrealized_plpc": text(unrealized / abs(cost_basis)) if cost_basis else "0",
        "unrealized_intraday_pl": text(unrealized),
        "unrealized_intraday_plpc": text(unrealized / abs(cost_basis)) if cost_basis else "0",
        "current_price": text(price),
        "lastday_price": text(price),
        "change_today": "0",
    }


def asset_shape(instrument: Instrument) -> dict[str, Any]:
    crypto = asset_class(instrument) == "crypto"
    fractional = instrument.lot_size < 1
    return {
        "id": asset_uuid(instrument.symbol),
        "class": asset_class(instrument),
        "exchange": exchange(instrument),
        "symbol": alpaca_symbol(instrument.symbol, instrument),
        "name": instrument.symbol,
        "status": "active" if instrument.tradable else "inactive",
        "tradable": instrument.tradable,
        "marginable": not crypto,
        "shortable": not crypto,
        "easy_to_borrow": not crypto,
        "fractionable": fractional,
        "min_order_size": text(instrument.min_quantity),
        "min_trade_increment": text(instrument.lot_size),
        "price_increment": text(instrument.tick_size),
        "attributes": ["fractional_eh_enabled"] if fractional else [],
    }


def calendar_shape(session: Session) -> dict[str, Any]:
    return {
        "date": session.day.isoformat(),
        "open": f"{session.local_open:%H:%M}",
        "close": f"{session.local_close:%H:%M}",
        "session_open": f"{session.local_open:%H%M}",
        "session_close": f"{session.local_close:%H%M}",
        "settlement_date": session.day.isoformat(),
    }


def fill_activity(
    account_id: str, fill: Fill, order: Order | None, cumulative: Decimal
) -> dict[str, Any]:
    """A fill as Alpaca's `FILL` activity; ``cumulative`` is the order's filled quantity
    after it."""
    ordered = order.quantity if order else cumulative
    done = cumulative >= ordered
    at = fill.executed_at.astimezone(UTC)
    return {
        "id": f"{at:%Y%m%d%H%M%S}{at.microsecond // 1000:03d}::{uuid5(NAMESPACE, fill.trade_id)}",
        "account_id": account_uuid(account_id),
        "activity_type": "FILL",
        "transaction_time": at.isoformat(),
        "type": "fill" if done else "partial_fill",
        "price": text(fill.price),
        "qty": text(fill.quantity),
        "side": fill.side.value,
        "symbol": fill.symbol,
        "leaves_qty": text(max(ordered - cumulative, Decimal(0))),
        "order_id": uuid_of(fill.order_id),
        "cum_qty": text(cumulative),
        "order_status": "filled" if done else "partially_filled",
    }

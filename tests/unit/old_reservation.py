"""What an order holds (``redfire_core.domain.risk.reservation``), frozen as it was before
it was flattened for the per-order check's speed (issue 14 goal 5): the oracle that
``test_risk_check_cost`` compares the domain's against, digits included. Test code only;
change it only to follow a deliberate change of what an order holds."""

from __future__ import annotations

from decimal import Decimal

from redfire_core.domain.orders import Order, OrderType, Side
from redfire_core.domain.positions import Account, Position
from redfire_core.domain.risk import LatestPrice

ZERO = Decimal(0)
HUNDRED = Decimal(100)
_LIMITED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})


def _short_quantity(order: Order, position: Position | None) -> Decimal:
    held = position.quantity if position is not None else ZERO
    return max(order.remaining_quantity - max(held, ZERO), ZERO)


def _worst_price(
    order: Order,
    latest: LatestPrice | None,
    price_band_pct: Decimal,
    slippage_bps: Decimal,
    tick_size: Decimal,
) -> Decimal | None:
    market = latest.price if latest is not None else None
    if order.type in _LIMITED and order.limit_price is not None:
        if order.side is Side.SELL and market is not None:
            return max(order.limit_price, market)
        return order.limit_price
    if order.type is OrderType.STOP and order.stop_price is not None:
        price = order.stop_price if market is None else max(order.stop_price, market)
    elif market is None:
        return None
    else:
        price = market * (1 + price_band_pct / HUNDRED)
    if slippage_bps:
        price = price * (1 + slippage_bps / Decimal(10_000)) + tick_size
    return price


def old_reservation(
    order: Order,
    latest: LatestPrice | None,
    account: Account,
    position: Position | None = None,
    price_band_pct: Decimal = Decimal(5),
    tick_size: Decimal = ZERO,
) -> Decimal:
    execution = account.execution
    if order.notional is not None and order.side is Side.BUY and order.filled_quantity == 0:
        sized = order.quantity
        return order.notional + (
            execution.commission(sized, order.notional / sized) if sized else ZERO
        )
    if order.side is Side.SELL:
        quantity = _short_quantity(order, position) if account.margin_enabled else ZERO
        if quantity == 0 and not execution.charges:
            return ZERO
    else:
        quantity = order.remaining_quantity
    price = _worst_price(order, latest, price_band_pct, execution.slippage_bps, tick_size)
    if price is None:
        return ZERO
    return quantity * price + execution.commission(order.remaining_quantity, price)

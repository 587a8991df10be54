"""The pre-trade rules as one 337-line function, frozen as they were before the rule table
(``redfire_core.domain.risk.PRE_TRADE_RULES``) replaced them: the oracle the property
tests compare the table against. Test code only; do not change it, except to follow a
deliberate change of a rule's meaning: what an order holds (``reservation``) is the domain's
since issue 13 item 8 (worst prices with slippage, a cash sell's commission)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal

from redfire_core.domain.orders import Order, OrderStatus, OrderType, Side
from redfire_core.domain.positions import Account, Position
from redfire_core.domain.risk import LatestPrice, RiskContext, TradingState, reservation

ZERO = Decimal(0)
HUNDRED = Decimal(100)
SECONDS_PER_DAY = 86400
_Row = tuple[str, bool, str, object, object]
_OPEN = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.PENDING_REPLACE,
    }
)


def _old_reference_price(order: Order, latest: LatestPrice | None) -> Decimal | None:
    """The price an order is valued at: its limit, else its stop, else the market."""
    return order.limit_price or order.stop_price or (latest.price if latest else None)


def _short_quantity(order: Order, position: Position | None) -> Decimal:
    """The part of a sell that goes beyond the long position (opens or grows a short)."""
    held = position.quantity if position is not None else ZERO
    return max(order.remaining_quantity - max(held, ZERO), ZERO)


def _old_equity_and_gross(
    account: Account,
    positions: Sequence[Position],
    prices: Mapping[str, Decimal],
    latest: LatestPrice | None = None,
) -> tuple[Decimal, Decimal]:
    """Cash plus every position marked at ``prices`` (``latest`` first; its average cost
    without a price), and the gross exposure (sum of absolute market values)."""
    equity, gross = account.cash, ZERO
    for held in positions:
        if held.quantity == 0:
            continue
        if latest is not None and held.symbol == latest.symbol:
            mark: Decimal | None = latest.price
        else:
            mark = prices.get(held.symbol)
        value = held.quantity * (mark if mark is not None else held.average_cost)
        equity += value
        gross += abs(value)
    return equity, gross


def _shrinks_position(order: Order, position: Position) -> bool:
    held = position.quantity
    if held == 0:
        return False
    opposite = Side.SELL if held > 0 else Side.BUY
    return order.side is opposite and order.quantity <= abs(held)


def _crosses(order: Order, resting: Order) -> bool:
    """Would ``order`` trade against the account's own ``resting`` limit order?"""
    if resting.side is order.side or resting.symbol != order.symbol:
        return False
    if resting.limit_price is None or resting.type not in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        return False
    if resting.type is OrderType.STOP_LIMIT and not resting.triggered:
        return False
    if order.type is OrderType.MARKET:
        return True
    if order.limit_price is None or order.type is not OrderType.LIMIT:
        return False
    if order.side is Side.BUY:
        return order.limit_price >= resting.limit_price
    return order.limit_price <= resting.limit_price


def old_rules(order: Order, ctx: RiskContext, keep_all: bool) -> list[_Row]:
    """Every rule as a plain row (code, passed, message, limit, actual): tuples, because
    building 20 named objects per order would cost more than the rules themselves. Rows
    of rules that pass are only built with ``keep_all`` (``evaluate``): ``check_order``,
    the per-order path, builds the denials alone."""
    v: list[_Row] = []
    add = v.append
    limits = ctx.limits
    sym = ctx.symbol_limits or limits
    account, position, latest, now = ctx.account, ctx.position, ctx.latest, ctx.now
    qty = order.quantity

    if not ctx.instrument_known:
        add(("RISK_UNKNOWN_INSTRUMENT", False, "no such instrument", None, order.symbol))

    # Trading state.
    state = ctx.global_state if ctx.global_state is not TradingState.ACTIVE else ctx.state
    if ctx.state is TradingState.HALTED:
        state = ctx.state
    ok = state is not TradingState.HALTED
    if keep_all or not ok:
        add(
            (
                "RISK_TRADING_HALTED",
                ok,
                "trading is halted"
                if ctx.global_state is not TradingState.HALTED
                else "trading is halted for every account",
                "active",
                state.value,
            )
        )
    if state is TradingState.REDUCING:
        ok = _shrinks_position(order, position)
        if keep_all or not ok:
            add(
                (
                    "RISK_REDUCE_ONLY",
                    ok,
                    "only orders that reduce a position may trade now",
                    str(abs(position.quantity)),
                    str(qty),
                )
            )

    # Per order.
    ok = qty <= sym.max_order_qty
    if keep_all or not ok:
        add(
            (
                "RISK_MAX_ORDER_QTY",
                ok,
                "order quantity above the limit",
                sym.max_order_qty,
                qty,
            )
        )
    age = None if latest is None else (now - latest.timestamp).total_seconds()
    fresh = age is not None and age <= sym.max_price_age_seconds
    needs_market = order.limit_price is None and order.stop_price is None
    if needs_market or order.type is OrderType.MARKET:
        ok = fresh
        if keep_all or not ok:
            add(
                (
                    "RISK_STALE_PRICE",
                    ok,
                    "no recent price for a market order"
                    if latest is None or order.type is OrderType.MARKET
                    else "no recent price to value the order",
                    sym.max_price_age_seconds,
                    "none" if age is None else int(age),
                )
            )
    price = _old_reference_price(order, latest)
    notional = None if price is None else qty * price
    if notional is not None:
        ok = notional <= sym.max_order_notional
        if keep_all or not ok:
            add(
                (
                    "RISK_MAX_NOTIONAL",
                    ok,
                    "order notional above the limit",
                    sym.max_order_notional,
                    notional,
                )
            )
    if order.limit_price is not None and latest is not None and fresh and latest.price > 0:
        band = sym.price_band_pct
        if order.side is Side.BUY:
            through = (order.limit_price - latest.price) * HUNDRED / latest.price
        else:
            through = (latest.price - order.limit_price) * HUNDRED / latest.price
        ok = through <= band
        if keep_all or not ok:
            add(
                (
                    "RISK_PRICE_BAND",
                    ok,
                    "limit price crosses the latest price by more than the band (percent)",
                    band,
                    max(through, ZERO).quantize(Decimal("0.01")),
                )
            )

    # Position and exposure.
    signed = qty if order.side is Side.BUY else -qty
    pending_same_side = ZERO
    crossing: Order | None = None
    # One pass over the open orders: the active count (the order a replacement replaces
    # leaves the book with it: not counted twice), same-side quantity, a crossing order.
    active = 0
    symbol, side, replaces = order.symbol, order.side, order.replaces
    for other in ctx.open_orders:
        if other.id == order.id or other.id == replaces:
            continue
        if other.status in _OPEN:
            active += 1
        if other.symbol == symbol:
            if other.side is side:
                pending_same_side += other.quantity - other.filled_quantity
            elif crossing is None and _crosses(order, other):
                crossing = other
    if order.side is Side.SELL:
        pending_same_side = -pending_same_side
    projected = position.quantity + pending_same_side + signed
    ok = abs(projected) <= sym.max_position_qty or abs(projected) <= abs(position.quantity)
    if keep_all or not ok:
        add(
            (
                "RISK_MAX_POSITION",
                ok,
                "position with open orders and this order above the limit",
                sym.max_position_qty,
                abs(projected),
            )
        )
    equity, gross = _old_equity_and_gross(account, ctx.positions or (position,), ctx.prices, latest)
    if notional is not None:
        mark = latest.price if latest is not None else ctx.prices.get(order.symbol, price)
        held_value = position.quantity * mark if mark is not None else ZERO
        after = gross - abs(held_value) + abs(held_value + signed * (mark or ZERO))
        ok = after <= limits.max_gross_exposure or after <= gross
        if keep_all or not ok:
            add(
                (
                    "RISK_MAX_GROSS_EXPOSURE",
                    ok,
                    "gross exposure after this order above the limit",
                    limits.max_gross_exposure,
                    after,
                )
            )
    ok = active + 1 <= limits.max_active_orders
    if keep_all or not ok:
        add(
            (
                "RISK_MAX_ACTIVE_ORDERS",
                ok,
                "open orders of the account at the limit",
                limits.max_active_orders,
                active + 1,
            )
        )

    # Counters (already read at ``now``: other periods are zero).
    c = ctx.counters
    stamp = int(now.timestamp())
    if c.second != stamp or c.day != stamp // SECONDS_PER_DAY or c.minute != stamp // 60:
        c = c.at(now)
    ok = c.orders + 1 <= limits.max_daily_orders
    if keep_all or not ok:
        add(
            (
                "RISK_DAILY_ORDER_LIMIT",
                ok,
                "orders of the account today at the limit",
                limits.max_daily_orders,
                c.orders + 1,
            )
        )
    symbol_orders = c.symbol_orders.get(symbol, 0) + 1
    ok = symbol_orders <= sym.max_daily_orders
    if keep_all or not ok:
        add(
            (
                "RISK_DAILY_ORDER_LIMIT",
                ok,
                f"orders in {symbol} today at the limit",
                sym.max_daily_orders,
                symbol_orders,
            )
        )
    ok = c.cancels < limits.max_daily_cancels
    if keep_all or not ok:
        add(
            (
                "RISK_DAILY_CANCEL_LIMIT",
                ok,
                "cancels of the account today at the limit",
                limits.max_daily_cancels,
                c.cancels,
            )
        )
    symbol_cancels = c.symbol_cancels.get(symbol, 0)
    ok = symbol_cancels < sym.max_daily_cancels
    if keep_all or not ok:
        add(
            (
                "RISK_DAILY_CANCEL_LIMIT",
                ok,
                f"cancels in {symbol} today at the limit",
                sym.max_daily_cancels,
                symbol_cancels,
            )
        )
    ok = c.trades < limits.max_daily_trades
    if keep_all or not ok:
        add(
            (
                "RISK_DAILY_TRADE_LIMIT",
                ok,
                "trades of the account today at the limit",
                limits.max_daily_trades,
                c.trades,
            )
        )
    symbol_trades = c.symbol_trades.get(symbol, 0)
    ok = symbol_trades < sym.max_daily_trades
    if keep_all or not ok:
        add(
            (
                "RISK_DAILY_TRADE_LIMIT",
                ok,
                f"trades in {symbol} today at the limit",
                sym.max_daily_trades,
                symbol_trades,
            )
        )
    ok = c.orders_this_second + 1 <= limits.max_orders_per_second
    if keep_all or not ok:
        add(
            (
                "RISK_ORDER_RATE",
                ok,
                "orders per second at the limit",
                limits.max_orders_per_second,
                c.orders_this_second + 1,
            )
        )
    ok = c.orders_this_minute + 1 <= limits.max_orders_per_minute
    if keep_all or not ok:
        add(
            (
                "RISK_ORDER_RATE",
                ok,
                "orders per minute at the limit",
                limits.max_orders_per_minute,
                c.orders_this_minute + 1,
            )
        )

    # Duplicates and self-trades.
    window = sym.duplicate_window_seconds
    if window:
        since = now - timedelta(seconds=window)
        twin = next(
            (
                o
                for o in ctx.recent_orders
                if o.id != order.id
                and o.created_at >= since
                and o.status is not OrderStatus.DENIED
                and o.symbol == symbol
                and o.side is order.side
                and o.type is order.type
                and o.quantity == qty
                and o.limit_price == order.limit_price
                and o.stop_price == order.stop_price
            ),
            None,
        )
        ok = twin is None
        if keep_all or not ok:
            add(
                (
                    "RISK_DUPLICATE_ORDER",
                    ok,
                    "the same order was placed within the duplicate window (seconds)",
                    window,
                    None if twin is None else twin.id,
                )
            )
    ok = crossing is None
    if keep_all or not ok:
        add(
            (
                "RISK_SELF_TRADE",
                ok,
                "would trade against the account's own resting order",
                None,
                None if crossing is None else crossing.id,
            )
        )

    # Buying power and shorting.
    if order.side is Side.BUY or account.margin_enabled or account.execution.charges:
        needed = reservation(order, latest, account, position, sym.price_band_pct, ctx.tick_size)
        checked = order.side is Side.BUY or account.margin_enabled
        if needed > 0 or (checked and price is not None):
            available = account.buying_power(equity, gross)
            ok = needed <= available
            if keep_all or not ok:
                add(
                    (
                        "RISK_BUYING_POWER",
                        ok,
                        "not enough buying power",
                        available,
                        needed,
                    )
                )
    if order.side is Side.SELL and not account.margin_enabled:
        open_sells = -pending_same_side
        held = max(position.quantity - open_sells, ZERO)
        ok = qty <= held
        if keep_all or not ok:
            add(
                (
                    "RISK_SHORT_NOT_ALLOWED",
                    ok,
                    "a cash account cannot sell short",
                    held,
                    qty,
                )
            )
    return v

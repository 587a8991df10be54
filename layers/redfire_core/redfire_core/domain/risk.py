"""Pre-trade risk rules and post-trade limits. Pure: every input is passed in.

All pre-trade rules run in one pass so a trader sees every reason an order was refused
(``evaluate`` gives every rule's verdict, ``check_order`` only the failures). The same
functions run live (``functions/risk``), in the dry run and in a backtest: the state they
need (account, positions, prices, open orders, counters, trading state) is plain data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NamedTuple

from redfire_core.domain.errors import DomainError
from redfire_core.domain.money import ascii_decimal
from redfire_core.domain.orders import Order, OrderStatus, OrderType, Side
from redfire_core.domain.positions import Account, Position

ZERO = Decimal(0)
HUNDRED = Decimal(100)
SECONDS_PER_DAY = 86400


class TradingState(StrEnum):
    """``active``: everything passes the state rules; ``reducing``: only orders that shrink
    a position; ``halted``: nothing (and open orders are cancelled)."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class BreachAction(StrEnum):
    REDUCING = "reducing"
    HALTED = "halted"


@dataclass(frozen=True)
class Denial:
    code: str
    message: str
    limit: str | None = None
    actual: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "limit": self.limit,
            "actual": self.actual,
        }


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class Verdict(NamedTuple):
    """One rule's answer with the numbers behind it (kept raw: formatting is deferred)."""

    code: str
    passed: bool
    message: str
    limit: object = None
    actual: object = None

    def denial(self) -> Denial:
        return Denial(self.code, self.message, _text(self.limit), _text(self.actual))

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "passed": self.passed,
            "message": self.message,
            "limit": _text(self.limit),
            "actual": _text(self.actual),
        }


# --- limits -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Every limit of one scope (stage defaults, then account, then symbol overrides)."""

    max_order_qty: Decimal = Decimal("1000000")
    max_order_notional: Decimal = Decimal("1000000")
    max_position_qty: Decimal = Decimal("10000000")
    max_gross_exposure: Decimal = Decimal("100000000")
    max_active_orders: int = 50
    max_daily_orders: int = 10000
    max_daily_cancels: int = 10000
    max_daily_trades: int = 10000
    max_orders_per_second: int = 50
    max_orders_per_minute: int = 1000
    duplicate_window_seconds: int = 0  # 0: the duplicate rule is off
    price_band_pct: Decimal = Decimal(5)
    max_price_age_seconds: int = 300
    max_daily_loss: Decimal = Decimal("1000000000")
    max_drawdown_pct: Decimal = HUNDRED
    breach_action: BreachAction = BreachAction.REDUCING

    def with_overrides(self, overrides: Mapping[str, object]) -> RiskLimits:
        """These limits with ``overrides`` (already parsed by ``parse_limits``) applied."""
        if not overrides:
            return self
        return replace(self, **overrides)  # type: ignore[arg-type]

    def as_strings(self) -> dict[str, str]:
        return {f.name: str(_text(getattr(self, f.name))) for f in fields(self)}


INTEGER_KEYS = frozenset(
    {
        "max_active_orders",
        "max_daily_orders",
        "max_daily_cancels",
        "max_daily_trades",
        "max_orders_per_second",
        "max_orders_per_minute",
        "duplicate_window_seconds",
        "max_price_age_seconds",
    }
)
LIMIT_KEYS: tuple[str, ...] = tuple(f.name for f in fields(RiskLimits))


def limit_error(key: str, message: str) -> DomainError:
    return DomainError("RISK_LIMIT_INVALID", message, key)


def parse_limit(key: str, value: object) -> object:
    """One limit from its wire form (a decimal string; ``breach_action`` a name)."""
    if key not in LIMIT_KEYS:
        raise limit_error(key, f"unknown limit {key!r}")
    if key == "breach_action":
        try:
            return BreachAction(str(value)) if isinstance(value, str) else BreachAction("")
        except ValueError:
            raise limit_error(key, "breach_action must be 'reducing' or 'halted'") from None
    if not isinstance(value, str):
        raise limit_error(key, f"{key} must be a decimal string")
    try:
        number = ascii_decimal(value)
    except InvalidOperation:
        raise limit_error(key, f"{key} must be a decimal string") from None
    if not number.is_finite() or number < 0:
        raise limit_error(key, f"{key} must be a non-negative number")
    if key in INTEGER_KEYS:
        if number != number.to_integral_value():
            raise limit_error(key, f"{key} must be a whole number")
        return int(number)
    if key in ("price_band_pct", "max_drawdown_pct") and number > HUNDRED:
        raise limit_error(key, f"{key} is a percentage: at most 100")
    return number


def parse_limits(values: Mapping[str, object]) -> dict[str, object]:
    """Validate a mapping of overrides (``None`` values are kept: they remove one)."""
    return {
        key: (None if value is None else parse_limit(key, value)) for key, value in values.items()
    }


def limits_from(defaults: Mapping[str, str], *overrides: Mapping[str, str]) -> RiskLimits:
    """Limits from stored wire forms: stage defaults, then each scope of overrides."""
    limits = RiskLimits().with_overrides(parse_limits(defaults))
    for layer in overrides:
        limits = limits.with_overrides(parse_limits(layer))
    return limits


# --- state the rules read ----------------------------------------------------------------


@dataclass(frozen=True)
class LatestPrice:
    symbol: str
    price: Decimal
    timestamp: datetime


def day_number(now: datetime) -> int:
    """Days since the epoch (UTC): counters of another day count as zero."""
    return int(now.timestamp()) // SECONDS_PER_DAY


@dataclass(frozen=True, slots=True)
class RiskCounters:
    """Today's counts and the current second's and minute's order rate.

    Each count belongs to a period (day, second, minute, as epoch numbers); a count of a
    period that is over reads as zero, so nothing needs resetting. The ``record_*``
    methods are the in-memory form of the conditional updates the risk function makes.
    """

    day: int = -1
    orders: int = 0
    cancels: int = 0
    trades: int = 0
    symbol_orders: Mapping[str, int] = field(default_factory=dict)
    symbol_cancels: Mapping[str, int] = field(default_factory=dict)
    symbol_trades: Mapping[str, int] = field(default_factory=dict)
    second: int = -1
    orders_this_second: int = 0
    minute: int = -1
    orders_this_minute: int = 0

    def at(self, now: datetime) -> RiskCounters:
        """The counters as they read at ``now`` (periods that ended are zero)."""
        stamp = int(now.timestamp())
        day, minute = stamp // SECONDS_PER_DAY, stamp // 60
        if self.day == day and self.second == stamp and self.minute == minute:
            return self
        today = self if self.day == day else RiskCounters(day=day)
        return replace(
            today,
            second=stamp,
            orders_this_second=self.orders_this_second if self.second == stamp else 0,
            minute=minute,
            orders_this_minute=self.orders_this_minute if self.minute == minute else 0,
        )

    def record_order(self, symbol: str, now: datetime) -> RiskCounters:
        c = self.at(now)
        return replace(
            c,
            orders=c.orders + 1,
            symbol_orders=_bump(c.symbol_orders, symbol),
            orders_this_second=c.orders_this_second + 1,
            orders_this_minute=c.orders_this_minute + 1,
        )

    def record_cancel(self, symbol: str, now: datetime) -> RiskCounters:
        c = self.at(now)
        return replace(c, cancels=c.cancels + 1, symbol_cancels=_bump(c.symbol_cancels, symbol))

    def record_trade(self, symbol: str, now: datetime) -> RiskCounters:
        c = self.at(now)
        return replace(c, trades=c.trades + 1, symbol_trades=_bump(c.symbol_trades, symbol))


def _bump(counts: Mapping[str, int], symbol: str) -> dict[str, int]:
    bumped = dict(counts)
    bumped[symbol] = bumped.get(symbol, 0) + 1
    return bumped


@dataclass(frozen=True, slots=True)
class RiskContext:
    """Everything the pre-trade rules read about the account and the market."""

    account: Account
    position: Position
    latest: LatestPrice | None
    limits: RiskLimits  # the account's (defaults + account overrides)
    now: datetime
    symbol_limits: RiskLimits | None = None  # + the order symbol's overrides
    positions: Sequence[Position] = ()  # every position of the account (marks below)
    prices: Mapping[str, Decimal] = field(default_factory=dict)  # latest of other symbols
    open_orders: Sequence[Order] = ()  # the account's open orders
    recent_orders: Sequence[Order] = ()  # its orders of the duplicate window
    counters: RiskCounters = field(default_factory=RiskCounters)
    state: TradingState = TradingState.ACTIVE
    global_state: TradingState = TradingState.ACTIVE
    instrument_known: bool = True


def reference_price(order: Order, latest: LatestPrice | None) -> Decimal | None:
    """The price an order is valued at: its limit, else its stop, else the market."""
    return order.limit_price or order.stop_price or (latest.price if latest else None)


def _short_quantity(order: Order, position: Position | None) -> Decimal:
    """The part of a sell that goes beyond the long position (opens or grows a short)."""
    held = position.quantity if position is not None else ZERO
    return max(order.remaining_quantity - max(held, ZERO), ZERO)


def reservation(
    order: Order,
    latest: LatestPrice | None,
    account: Account,
    position: Position | None = None,
    price_band_pct: Decimal = Decimal(5),
) -> Decimal:
    """What an accepted buy (or, on margin, short) holds until it fills or ends:
    quantity x (limit, else stop, else latest price plus the price band) + commission.
    A sell holds nothing on a cash account and only its short part on margin."""
    if order.side is Side.SELL:
        if not account.margin_enabled:
            return ZERO
        quantity = _short_quantity(order, position)
        if quantity == 0:
            return ZERO
    else:
        quantity = order.remaining_quantity
    price = order.limit_price or order.stop_price
    if price is None:
        if latest is None:
            return ZERO
        price = latest.price * (1 + price_band_pct / HUNDRED)
    return quantity * price + account.execution.commission(quantity, price)


def equity_and_gross(
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


_Row = tuple[str, bool, str, object, object]


def _rules(order: Order, ctx: RiskContext, keep_all: bool) -> list[_Row]:
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
    price = reference_price(order, latest)
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
    equity, gross = equity_and_gross(account, ctx.positions or (position,), ctx.prices, latest)
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
    if order.side is Side.BUY or account.margin_enabled:
        needed = reservation(order, latest, account, position, sym.price_band_pct)
        if needed > 0 or price is not None:
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


_OPEN = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.PENDING_REPLACE,
    }
)


def evaluate(order: Order, ctx: RiskContext) -> list[Verdict]:
    """Every rule's verdict, in a stable order (the first failure is the headline)."""
    return [Verdict._make(row) for row in _rules(order, ctx, keep_all=True)]


def check_order(order: Order, ctx: RiskContext) -> list[Denial]:
    """Every rule the order breaks, in a stable order (the first is the headline)."""
    return [
        Denial(row[0], row[2], _text(row[3]), _text(row[4]))
        for row in _rules(order, ctx, keep_all=False)
    ]


# --- post-trade ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayMarks:
    """The account's equity at the start of the UTC day and its peak since."""

    start_equity: Decimal
    peak_equity: Decimal


def post_trade_breaches(equity: Decimal, day: DayMarks, limits: RiskLimits) -> list[Denial]:
    """Daily loss (realized + unrealized: the fall of equity since the day began) and
    drawdown from the day's peak equity, against the limits."""
    breaches = []
    loss = day.start_equity - equity
    if loss > limits.max_daily_loss:
        breaches.append(
            Denial(
                "RISK_MAX_DAILY_LOSS",
                "loss today above the limit",
                _text(limits.max_daily_loss),
                _text(loss),
            )
        )
    if day.peak_equity > 0:
        drawdown = (day.peak_equity - equity) * HUNDRED / day.peak_equity
        if drawdown > limits.max_drawdown_pct:
            breaches.append(
                Denial(
                    "RISK_MAX_DRAWDOWN",
                    "drawdown from today's peak equity above the limit (percent)",
                    _text(limits.max_drawdown_pct),
                    _text(drawdown.quantize(Decimal("0.01"))),
                )
            )
    return breaches


def stricter(current: TradingState, wanted: TradingState) -> TradingState:
    """A breach only ever tightens the state; loosening is a person's decision."""
    return wanted if wanted.severity > current.severity else current


def timed_out(order: Order, now: datetime, max_age_seconds: int) -> bool:
    """A submitted order that risk has not decided on within ``max_age_seconds``."""
    return order.status is OrderStatus.SUBMITTED and (now - order.created_at) > timedelta(
        seconds=max_age_seconds
    )


TIMEOUT_CODE = "RISK_TIMEOUT"


def timeout_denial(order: Order, now: datetime, max_age_seconds: int) -> Denial:
    age = int((now - order.created_at).total_seconds())
    return Denial(
        TIMEOUT_CODE, "the order was not checked in time (seconds)", str(max_age_seconds), str(age)
    )

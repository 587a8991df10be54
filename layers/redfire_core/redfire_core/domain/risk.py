"""Pre-trade risk rules and post-trade limits. Pure: every input is passed in.

All pre-trade rules run in one pass so a trader sees every reason an order was refused
(``evaluate`` gives every rule's verdict, ``check_order`` only the failures): an ordered
table of one small function per rule (``PRE_TRADE_RULES``), reading an account's figures
from an ``AccountBook`` that events keep up to date. The same functions run live
(``functions/risk``), in the dry run and in a backtest: the state they need (account,
positions, prices, open orders, counters, trading state) is plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NamedTuple

from redfire_core.domain.counters import SECONDS_PER_DAY, RiskCounters
from redfire_core.domain.errors import DomainError
from redfire_core.domain.money import ascii_decimal
from redfire_core.domain.orders import ExecutionModel, Order, OrderStatus, OrderType, Side
from redfire_core.domain.positions import Account, Position

ZERO = Decimal(0)
HUNDRED = Decimal(100)


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


_HALTED, _REDUCING = TradingState.HALTED, TradingState.REDUCING
_ACTIVE = TradingState.ACTIVE
# ``.value`` is a property of the enum (two Python calls): ``evaluate`` reads it per order.
_STATE_VALUE = {state: state.value for state in TradingState}


class BreachAction(StrEnum):
    REDUCING = "reducing"
    HALTED = "halted"


# Enum members read through their class are slow on Python 3.11 (a descriptor call each):
# the rules below run per order, so they compare against module constants.
_BUY, _SELL = Side.BUY, Side.SELL
_MARKET, _LIMIT, _STOP_LIMIT = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_LIMIT
_STOP = OrderType.STOP
_DENIED, _CANCELED = OrderStatus.DENIED, OrderStatus.CANCELED
_CENT = Decimal("0.01")
_OPEN = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.PENDING_REPLACE,
    }
)


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


@dataclass(frozen=True, slots=True)
class RiskContext:
    """Everything the pre-trade rules read about the account and the market.

    The rules read the per-order inputs here (the order's position and latest price,
    limits, states, ``now``) and account-wide figures from an ``AccountBook``; the
    account fields below (positions, prices, open and recent orders, counters) are what
    that book is built from when the caller keeps none (``book_of_context``)."""

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
    tick_size: Decimal = ZERO  # the order's instrument's (a slipped price rounds up to it)
    # The limits the per-order rules read (the symbol's, else the account's), and the day,
    # minute and second of ``now`` the counter rules read counts of (epoch numbers, as in
    # ``RiskCounters``), resolved once here rather than in each rule or each check.
    order_limits: RiskLimits = field(init=False, repr=False, compare=False)
    day: int = field(init=False, repr=False, compare=False)
    minute: int = field(init=False, repr=False, compare=False)
    second: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        stamp = int(self.now.timestamp())
        object.__setattr__(self, "order_limits", self.symbol_limits or self.limits)
        object.__setattr__(self, "day", stamp // SECONDS_PER_DAY)
        object.__setattr__(self, "minute", stamp // 60)
        object.__setattr__(self, "second", stamp)


def reference_price(order: Order, latest: LatestPrice | None) -> Decimal | None:
    """The price an order is valued at: its limit, else its stop, else the market."""
    return order.limit_price or order.stop_price or (latest.price if latest else None)


def _short_quantity(order: Order, position: Position | None) -> Decimal:
    """The part of a sell that goes beyond the long position (opens or grows a short)."""
    held = position.quantity if position is not None else ZERO
    return max(order.remaining_quantity - max(held, ZERO), ZERO)


def _worst_market_price(
    order: Order,
    market: Decimal | None,
    price_band_pct: Decimal,
    execution: ExecutionModel,
    tick_size: Decimal,
) -> Decimal | None:
    """The worst price of an order that fills at the market: a stop's stop or the market
    when the stop is already through it; a market order the latest price plus the price
    band; moved by the slippage (and one tick for its rounding)."""
    if order.type is _STOP and order.stop_price is not None:
        price = order.stop_price if market is None else max(order.stop_price, market)
    elif market is None:
        return None
    else:
        price = market * (1 + price_band_pct / HUNDRED)
    slippage = execution.slippage_bps
    if slippage:
        price = price * (1 + slippage / Decimal(10_000)) + tick_size
    return price


def reservation(
    order: Order,
    latest: LatestPrice | None,
    account: Account,
    position: Position | None = None,
    price_band_pct: Decimal = Decimal(5),
    tick_size: Decimal = ZERO,
) -> Decimal:
    """What an accepted order holds until it fills or ends, enough for its fills at the
    prices it was judged at: a buy (or, on margin, the part of a sell that opens or grows
    a short) holds its quantity at its worst price; every order holds its commission (a
    sell's proceeds may not cover a minimum commission). Other sells hold nothing else."""
    # Runs in every pre-trade check, so in one function: module constants for enum members,
    # the remaining quantity and a buy's notional computed once (tests/unit/old_reservation.py
    # holds the plain reading this must equal to the digit).
    execution, side, filled = account.execution, order.side, order.filled_quantity
    if order.notional is not None and side is _BUY and filled == ZERO:
        # A notional buy spends at most its notional (its fill is floored to it), plus the
        # commission of the quantity it was judged at.
        sized = order.quantity
        return order.notional + (
            execution.commission(sized, order.notional / sized) if sized else ZERO
        )
    remaining = order.quantity - filled
    if side is _SELL:
        quantity = _short_quantity(order, position) if account.margin_enabled else ZERO
        if quantity == ZERO and not execution.charges:
            return ZERO
    else:
        quantity = remaining
    # Its worst price, the highest it can cost per unit while prices stay where they were
    # judged: a limit's limit (a short's at least the market, where it is marked), else
    # ``_worst_market_price``.
    market = latest.price if latest is not None else None
    kind, limit = order.type, order.limit_price
    if (kind is _LIMIT or kind is _STOP_LIMIT) and limit is not None:
        # (max() of a sell's limit and the market, without its call)
        price = limit if side is _BUY or market is None or limit >= market else market
    else:
        worst = _worst_market_price(order, market, price_band_pct, execution, tick_size)
        if worst is None:
            return ZERO
        price = worst
    held = quantity * price
    notional = held if quantity is remaining else remaining * price
    return held + execution.commission_of(remaining, notional)


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
    opposite = _SELL if held > 0 else _BUY
    return order.side is opposite and order.quantity <= abs(held)


# --- the account's book ---------------------------------------------------------------------

# (symbol, is a buy): a bool hashes in C, an enum member through a Python method.
SideKey = tuple[str, bool]


@dataclass(frozen=True, slots=True)
class AccountBook:
    """The figures the pre-trade rules read about one account, kept between orders.

    ``book_of`` builds it from the account's state; its events (``placed``, ``changed``,
    ``filled``, ``closed``, ``marked``, ``account_changed``, ``forget_recent``) move it,
    each recomputing only the figures it touches, so a check reads totals instead of
    walking every position and open order. After any events it equals the book built
    from scratch from the same state, to the last digit (a property test holds it)."""

    account: Account
    positions: Mapping[str, Position]  # by symbol
    marks: Mapping[str, Decimal]  # latest price per symbol
    values: Mapping[str, Decimal]  # market value of each position that is not flat
    equity: Decimal  # cash + the values
    gross: Decimal  # sum of |value|
    buying_power: Decimal  # the account's, at this equity and gross exposure
    open_orders: Mapping[str, Order]  # by id, in the order they were placed
    active: int  # open orders in an open status
    sides: Mapping[SideKey, tuple[Order, ...]]  # open orders per (symbol, side)
    pending: Mapping[SideKey, Decimal]  # their unfilled quantity
    resting: Mapping[SideKey, tuple[Order, ...]]  # those an order could trade against
    recent: Mapping[str, tuple[Order, ...]]  # orders of the duplicate window, by symbol
    # As last moved: a count of a period that is over reads as zero, so the counter rules
    # read them against the check's periods (``RiskContext.day``, ``minute``, ``second``)
    # and a kept book is checked at a new moment without a copy.
    counters: RiskCounters

    # -- events: each returns the book after it, recomputing only what it touches --------

    def account_changed(self, account: Account) -> AccountBook:
        """The account's cash or reservations moved (equity follows the cash)."""
        equity, gross, power = _figures(account, self.values)
        return replace(self, account=account, equity=equity, gross=gross, buying_power=power)

    def placed(self, order: Order, account: Account, now: datetime) -> AccountBook:
        """An order was accepted (``account``: after its reservation): it is open, counted
        and remembered for the duplicate rule."""
        book = _with_order(self, order, keep=True).account_changed(account)
        recent = dict(book.recent)
        recent[order.symbol] = (*recent.get(order.symbol, ()), order)
        counters = book.counters.record_order(order.symbol, now)
        return replace(book, recent=recent, counters=counters)

    def changed(self, order: Order) -> AccountBook:
        """An open order's working state changed (triggered, pending cancel or replace)."""
        return _with_order(self, order, keep=not order.is_final)

    def filled(
        self, order: Order, position: Position, account: Account, now: datetime
    ) -> AccountBook:
        """A fill: the order, the position and the account as the fill left them."""
        book = _with_order(self, order, keep=not order.is_final)
        positions, values = dict(book.positions), dict(book.values)
        positions[position.symbol] = position
        if position.quantity != 0:
            values[position.symbol] = _value(position, book.marks.get(position.symbol))
        else:
            values.pop(position.symbol, None)
        equity, gross, power = _figures(account, values)
        return replace(
            book,
            account=account,
            positions=positions,
            values=values,
            equity=equity,
            gross=gross,
            buying_power=power,
            counters=book.counters.record_trade(order.symbol, now),
        )

    def closed(self, order: Order, account: Account, now: datetime) -> AccountBook:
        """An order ended without filling its rest (canceled, expired, replaced, rejected);
        ``account``: after its reservation was released. A cancel is counted."""
        book = _with_order(self, order, keep=False).account_changed(account)
        if order.status is _CANCELED:
            counters = book.counters.record_cancel(order.symbol, now)
            return replace(book, counters=counters)
        return book

    def marked(self, symbol: str, price: Decimal) -> AccountBook:
        """A new latest price of ``symbol``: its position's value and the totals move."""
        marks = dict(self.marks)
        marks[symbol] = price
        held = self.positions.get(symbol)
        if held is None or held.quantity == 0:
            return replace(self, marks=marks)
        values = dict(self.values)
        values[symbol] = _value(held, price)
        equity, gross, power = _figures(self.account, values)
        return replace(
            self, marks=marks, values=values, equity=equity, gross=gross, buying_power=power
        )

    def forget_recent(self, before: datetime) -> AccountBook:
        """Drop the orders placed before ``before`` (out of every duplicate window)."""
        recent = {
            symbol: kept
            for symbol, orders in self.recent.items()
            if (kept := tuple(o for o in orders if o.created_at >= before))
        }
        return replace(self, recent=recent)


def _value(position: Position, mark: Decimal | None) -> Decimal:
    return position.quantity * (mark if mark is not None else position.average_cost)


def _figures(account: Account, values: Mapping[str, Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    """Equity and gross exposure, summed as ``equity_and_gross`` sums them (same digits),
    and the buying power they give."""
    equity, gross = account.cash, ZERO
    for value in values.values():
        equity += value
        gross += abs(value)
    return equity, gross, account.buying_power(equity, gross)


def _unfilled(orders: Sequence[Order]) -> Decimal:
    total = ZERO
    for order in orders:
        total += order.quantity - order.filled_quantity
    return total


def _rests(order: Order) -> bool:
    """A limit order (or a triggered stop limit) another order could trade against."""
    if order.limit_price is None:
        return False
    return order.type is _LIMIT or (order.type is _STOP_LIMIT and order.triggered)


def book_of(
    account: Account,
    positions: Sequence[Position] = (),
    marks: Mapping[str, Decimal] | None = None,
    open_orders: Sequence[Order] = (),
    recent_orders: Sequence[Order] = (),
    counters: RiskCounters | None = None,
    now: datetime | None = None,
) -> AccountBook:
    """The book of an account from its state: positions marked at ``marks`` (their
    average cost without one), open orders, orders of the duplicate window, counters
    (read at ``now`` when given)."""
    counters = counters if counters is not None else RiskCounters()
    if now is not None:
        counters = counters.at(now)
    held = {p.symbol: p for p in positions}
    prices = dict(marks or {})
    values = {s: _value(p, prices.get(s)) for s, p in held.items() if p.quantity != 0}
    equity, gross, buying_power = _figures(account, values)
    by_id = {o.id: o for o in open_orders}
    sides: dict[SideKey, tuple[Order, ...]] = {}
    for order in by_id.values():
        key = (order.symbol, order.side is _BUY)
        sides[key] = (*sides.get(key, ()), order)
    recent: dict[str, tuple[Order, ...]] = {}
    for order in recent_orders:
        recent[order.symbol] = (*recent.get(order.symbol, ()), order)
    return AccountBook(
        account=account,
        positions=held,
        marks=prices,
        values=values,
        equity=equity,
        gross=gross,
        buying_power=buying_power,
        open_orders=by_id,
        active=sum(1 for o in by_id.values() if o.status in _OPEN),
        sides=sides,
        pending={key: _unfilled(orders) for key, orders in sides.items()},
        resting={key: r for key, orders in sides.items() if (r := tuple(filter(_rests, orders)))},
        recent=recent,
        counters=counters,
    )


def book_of_context(ctx: RiskContext) -> AccountBook:
    """The book a context describes (its latest price marks the order's symbol)."""
    marks = dict(ctx.prices)
    if ctx.latest is not None:
        marks[ctx.latest.symbol] = ctx.latest.price
    return book_of(
        ctx.account,
        ctx.positions or (ctx.position,),
        marks,
        ctx.open_orders,
        ctx.recent_orders,
        ctx.counters,
        ctx.now,
    )


def _with_order(book: AccountBook, order: Order, keep: bool) -> AccountBook:
    """``order`` updated in (``keep``) or taken out of the open orders; only its own
    (symbol, side) figures are recomputed."""
    by_id = dict(book.open_orders)
    before = by_id.pop(order.id, None) if not keep else by_id.get(order.id)
    if keep:
        by_id[order.id] = order  # an update keeps its place
    active = book.active - (before is not None and before.status in _OPEN)
    active += keep and order.status in _OPEN
    key = (order.symbol, order.side is _BUY)
    current = book.sides.get(key, ())
    if before is None:
        orders = (*current, order) if keep else current
    else:
        orders = tuple(
            order if o.id == order.id else o for o in current if keep or o.id != order.id
        )
    sides, pending, resting = dict(book.sides), dict(book.pending), dict(book.resting)
    resting.pop(key, None)
    if orders:
        sides[key], pending[key] = orders, _unfilled(orders)
        if rests := tuple(filter(_rests, orders)):
            resting[key] = rests
    else:
        sides.pop(key, None)
        pending.pop(key, None)
    return replace(
        book, open_orders=by_id, active=active, sides=sides, pending=pending, resting=resting
    )


# --- the pre-trade rules --------------------------------------------------------------------

# (code, passed, message, limit, actual): a plain tuple, because building 20 named objects
# per order would cost more than the rules themselves.
_Row = tuple[str, bool, str, object, object]
# A rule answers nothing when it passes (or does not apply), unless ``keep_all`` asks for
# every verdict (``evaluate``); ``check_order``, the per-order path, builds denials alone.
Rule = Callable[[Order, RiskContext, AccountBook, bool], _Row | None]


def _state(ctx: RiskContext) -> TradingState:
    """The state that applies: the account's halt, else the platform's, else the account's."""
    if ctx.state is _HALTED:
        return _HALTED
    return ctx.global_state if ctx.global_state is not _ACTIVE else ctx.state


def _excluded(order: Order, book: AccountBook) -> list[Order]:
    """Open orders the check leaves out: the order itself (it is stored before it is
    checked) and the order a replacement replaces (it leaves the book with it)."""
    open_orders, replaces = book.open_orders, order.replaces
    out = [open_orders[order.id]] if order.id in open_orders else []
    if replaces is not None and replaces != order.id and replaces in open_orders:
        out.append(open_orders[replaces])
    return out


def _pending_same_side(order: Order, book: AccountBook) -> Decimal:
    """Unfilled quantity of the account's other open orders on the order's symbol and side."""
    key = (order.symbol, order.side is _BUY)
    open_orders = book.open_orders
    if order.id in open_orders or (order.replaces is not None and order.replaces in open_orders):
        skip = (order.id, order.replaces)
        return _unfilled([o for o in book.sides.get(key, ()) if o.id not in skip])
    return book.pending.get(key, ZERO)


def _unknown_instrument(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    if ctx.instrument_known:
        return None  # no passing row: the rule is only ever a denial
    return ("RISK_UNKNOWN_INSTRUMENT", False, "no such instrument", None, order.symbol)


def _trading_halted(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    ok = ctx.state is not _HALTED and ctx.global_state is not _HALTED
    if ok and not keep_all:
        return None
    state = _state(ctx)
    every = ctx.global_state is _HALTED
    message = "trading is halted for every account" if every else "trading is halted"
    return ("RISK_TRADING_HALTED", ok, message, "active", _STATE_VALUE[state])


def _reduce_only(order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool) -> _Row | None:
    if ctx.state is not _REDUCING and ctx.global_state is not _REDUCING:
        return None  # (the test below alone would do, at the cost of a call)
    if _state(ctx) is not _REDUCING:
        return None
    ok = _shrinks_position(order, ctx.position)
    if ok and not keep_all:
        return None
    message = "only orders that reduce a position may trade now"
    return ("RISK_REDUCE_ONLY", ok, message, str(abs(ctx.position.quantity)), str(order.quantity))


def _max_order_qty(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    limit = ctx.order_limits.max_order_qty
    ok = order.quantity <= limit
    if ok and not keep_all:
        return None
    return ("RISK_MAX_ORDER_QTY", ok, "order quantity above the limit", limit, order.quantity)


def _stale_price(order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool) -> _Row | None:
    market = order.type is _MARKET
    if not market and (order.limit_price is not None or order.stop_price is not None):
        return None  # the order's own price values it
    latest = ctx.latest
    max_age = ctx.order_limits.max_price_age_seconds
    age = None if latest is None else (ctx.now - latest.timestamp).total_seconds()
    ok = age is not None and age <= max_age
    if ok and not keep_all:
        return None
    message = (
        "no recent price for a market order"
        if latest is None or market
        else "no recent price to value the order"
    )
    return ("RISK_STALE_PRICE", ok, message, max_age, "none" if age is None else int(age))


def _max_notional(order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool) -> _Row | None:
    price = reference_price(order, ctx.latest)
    if price is None:
        return None
    limit = ctx.order_limits.max_order_notional
    notional = order.quantity * price
    ok = notional <= limit
    if ok and not keep_all:
        return None
    return ("RISK_MAX_NOTIONAL", ok, "order notional above the limit", limit, notional)


def _price_band(order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool) -> _Row | None:
    limit_price, latest = order.limit_price, ctx.latest
    if limit_price is None or latest is None:
        return None
    sym = ctx.order_limits
    last, band = latest.price, sym.price_band_pct
    buy = order.side is _BUY
    if not keep_all and band >= ZERO and (limit_price <= last if buy else limit_price >= last):
        return None  # a passive limit crosses by nothing: it passes, fresh price or not
    if (ctx.now - latest.timestamp).total_seconds() > sym.max_price_age_seconds:
        return None  # no fresh price to hold the limit against
    if not last > ZERO:
        return None
    if buy:
        through = (limit_price - last) * HUNDRED / last
    else:
        through = (last - limit_price) * HUNDRED / last
    ok = through <= band
    if ok and not keep_all:
        return None
    message = "limit price crosses the latest price by more than the band (percent)"
    return ("RISK_PRICE_BAND", ok, message, band, max(through, ZERO).quantize(_CENT))


def _max_position(order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool) -> _Row | None:
    qty, held = order.quantity, ctx.position.quantity
    pending = _pending_same_side(order, book)
    # Summed as signed quantities, in this order, so the digits match the limit's check.
    projected = held + pending + qty if order.side is _BUY else held + -pending + -qty
    limit = ctx.order_limits.max_position_qty
    ok = abs(projected) <= limit or abs(projected) <= abs(held)
    if ok and not keep_all:
        return None
    message = "position with open orders and this order above the limit"
    return ("RISK_MAX_POSITION", ok, message, limit, abs(projected))


def _max_gross_exposure(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    latest = ctx.latest
    if latest is not None:
        mark = latest.price  # (the order's reference price is never None then)
    else:
        price = reference_price(order, latest)
        if price is None:
            return None
        mark = book.marks.get(order.symbol, price)
    signed = order.quantity if order.side is _BUY else -order.quantity
    held_value = ctx.position.quantity * mark
    gross = book.gross
    after = gross - abs(held_value) + abs(held_value + signed * (mark or ZERO))
    limit = ctx.limits.max_gross_exposure
    ok = after <= limit or after <= gross
    if ok and not keep_all:
        return None
    message = "gross exposure after this order above the limit"
    return ("RISK_MAX_GROSS_EXPOSURE", ok, message, limit, after)


def _max_active_orders(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    count = book.active + 1
    open_orders = book.open_orders
    if order.id in open_orders or (order.replaces is not None and order.replaces in open_orders):
        for left_out in _excluded(order, book):
            count -= left_out.status in _OPEN
    limit = ctx.limits.max_active_orders
    ok = count <= limit
    if ok and not keep_all:
        return None
    return ("RISK_MAX_ACTIVE_ORDERS", ok, "open orders of the account at the limit", limit, count)


# The counter rules read ``book.counters`` as of ``ctx.now``: a count of a day, minute or
# second that is over reads as zero (``RiskCounters.at``), compared here against the periods
# the context computed once, so a kept book is checked at a new moment without a copy.


def _daily_orders(order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool) -> _Row | None:
    c = book.counters
    limit, count = ctx.limits.max_daily_orders, (c.orders if c.day == ctx.day else 0) + 1
    ok = count <= limit
    if ok and not keep_all:
        return None
    message = "orders of the account today at the limit"
    return ("RISK_DAILY_ORDER_LIMIT", ok, message, limit, count)


def _daily_symbol_orders(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    limit = ctx.order_limits.max_daily_orders
    c = book.counters
    count = (c.symbol_orders.get(order.symbol, 0) if c.day == ctx.day else 0) + 1
    ok = count <= limit
    if ok and not keep_all:
        return None
    message = f"orders in {order.symbol} today at the limit"
    return ("RISK_DAILY_ORDER_LIMIT", ok, message, limit, count)


def _daily_cancels(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    c = book.counters
    limit, count = ctx.limits.max_daily_cancels, c.cancels if c.day == ctx.day else 0
    ok = count < limit
    if ok and not keep_all:
        return None
    message = "cancels of the account today at the limit"
    return ("RISK_DAILY_CANCEL_LIMIT", ok, message, limit, count)


def _daily_symbol_cancels(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    limit = ctx.order_limits.max_daily_cancels
    c = book.counters
    count = c.symbol_cancels.get(order.symbol, 0) if c.day == ctx.day else 0
    ok = count < limit
    if ok and not keep_all:
        return None
    message = f"cancels in {order.symbol} today at the limit"
    return ("RISK_DAILY_CANCEL_LIMIT", ok, message, limit, count)


def _daily_trades(order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool) -> _Row | None:
    c = book.counters
    limit, count = ctx.limits.max_daily_trades, c.trades if c.day == ctx.day else 0
    ok = count < limit
    if ok and not keep_all:
        return None
    message = "trades of the account today at the limit"
    return ("RISK_DAILY_TRADE_LIMIT", ok, message, limit, count)


def _daily_symbol_trades(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    limit = ctx.order_limits.max_daily_trades
    c = book.counters
    count = c.symbol_trades.get(order.symbol, 0) if c.day == ctx.day else 0
    ok = count < limit
    if ok and not keep_all:
        return None
    message = f"trades in {order.symbol} today at the limit"
    return ("RISK_DAILY_TRADE_LIMIT", ok, message, limit, count)


def _orders_per_second(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    c = book.counters
    limit = ctx.limits.max_orders_per_second
    count = (c.orders_this_second if c.second == ctx.second else 0) + 1
    ok = count <= limit
    if ok and not keep_all:
        return None
    return ("RISK_ORDER_RATE", ok, "orders per second at the limit", limit, count)


def _orders_per_minute(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    c = book.counters
    limit = ctx.limits.max_orders_per_minute
    count = (c.orders_this_minute if c.minute == ctx.minute else 0) + 1
    ok = count <= limit
    if ok and not keep_all:
        return None
    return ("RISK_ORDER_RATE", ok, "orders per minute at the limit", limit, count)


def _duplicate_order(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    window = ctx.order_limits.duplicate_window_seconds
    if not window:
        return None  # the rule is off
    twin = None
    side, kind, qty = order.side, order.type, order.quantity
    for earlier in book.recent.get(order.symbol, ()):
        if (
            earlier.side is side
            and earlier.type is kind
            and earlier.quantity == qty
            and earlier.limit_price == order.limit_price
            and earlier.stop_price == order.stop_price
            and earlier.id != order.id
            and earlier.status is not _DENIED
            and earlier.created_at >= ctx.now - timedelta(seconds=window)
        ):
            twin = earlier
            break
    ok = twin is None
    if ok and not keep_all:
        return None
    message = "the same order was placed within the duplicate window (seconds)"
    return ("RISK_DUPLICATE_ORDER", ok, message, window, None if twin is None else twin.id)


def _self_trade(order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool) -> _Row | None:
    crossing = None
    market, limit = order.type is _MARKET, order.limit_price
    if market or (order.type is _LIMIT and limit is not None):
        buy = order.side is _BUY
        for other in book.resting.get((order.symbol, not buy), ()):
            if other.id == order.id or other.id == order.replaces:
                continue
            if (
                market
                or (buy and limit >= other.limit_price)  # type: ignore[operator]
                or (not buy and limit <= other.limit_price)  # type: ignore[operator]
            ):
                crossing = other
                break
    ok = crossing is None
    if ok and not keep_all:
        return None
    message = "would trade against the account's own resting order"
    return ("RISK_SELF_TRADE", ok, message, None, None if crossing is None else crossing.id)


def _buying_power(order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool) -> _Row | None:
    account = ctx.account
    checked = order.side is _BUY or account.margin_enabled
    if not checked and not account.execution.charges:
        return None  # a cash account's sell holds nothing (the short rule judges it)
    band = ctx.order_limits.price_band_pct
    needed = reservation(order, ctx.latest, account, ctx.position, band, ctx.tick_size)
    if not needed > ZERO and (not checked or reference_price(order, ctx.latest) is None):
        return None  # (a cash account's sell holds only its commission, if any)
    available = book.buying_power
    ok = needed <= available
    if ok and not keep_all:
        return None
    return ("RISK_BUYING_POWER", ok, "not enough buying power", available, needed)


def _short_not_allowed(
    order: Order, ctx: RiskContext, book: AccountBook, keep_all: bool
) -> _Row | None:
    if order.side is not _SELL or ctx.account.margin_enabled:
        return None
    held = max(ctx.position.quantity - _pending_same_side(order, book), ZERO)
    ok = order.quantity <= held
    if ok and not keep_all:
        return None
    return ("RISK_SHORT_NOT_ALLOWED", ok, "a cash account cannot sell short", held, order.quantity)


PRE_TRADE_RULES: tuple[Rule, ...] = (
    _unknown_instrument,
    _trading_halted,
    _reduce_only,
    _max_order_qty,
    _stale_price,
    _max_notional,
    _price_band,
    _max_position,
    _max_gross_exposure,
    _max_active_orders,
    _daily_orders,
    _daily_symbol_orders,
    _daily_cancels,
    _daily_symbol_cancels,
    _daily_trades,
    _daily_symbol_trades,
    _orders_per_second,
    _orders_per_minute,
    _duplicate_order,
    _self_trade,
    _buying_power,
    _short_not_allowed,
)
"""Every pre-trade rule in evaluation order: the first failure is the headline."""


def _verdicts(
    order: Order, ctx: RiskContext, book: AccountBook | None, keep_all: bool
) -> list[_Row]:
    if book is None:
        book = book_of_context(ctx)
    rows: list[_Row] = []
    for rule in PRE_TRADE_RULES:  # a plain loop: a comprehension costs a frame per call
        row = rule(order, ctx, book, keep_all)
        if row is not None:
            rows.append(row)  # (no bound ``append`` kept: a passing check appends nothing)
    return rows


_new_tuple = tuple.__new__


def evaluate(order: Order, ctx: RiskContext, book: AccountBook | None = None) -> list[Verdict]:
    """Every rule's verdict, in a stable order (the first failure is the headline).
    ``book``: the account's kept book (built from ``ctx`` when not given)."""
    # tuple.__new__ in C: the rows are always five fields, and Verdict._make, a Python
    # function, cost about 2 µs per call here (22 verdicts).
    return [_new_tuple(Verdict, row) for row in _verdicts(order, ctx, book, True)]


def check_order(order: Order, ctx: RiskContext, book: AccountBook | None = None) -> list[Denial]:
    """Every rule the order breaks, in a stable order (the first is the headline).
    ``book``: the account's kept book (built from ``ctx`` when not given)."""
    # The loop of ``_verdicts`` again, without its frame: this is the per-order path.
    if book is None:
        book = book_of_context(ctx)
    denials: list[Denial] = []
    for rule in PRE_TRADE_RULES:
        row = rule(order, ctx, book, False)
        if row is not None:
            denials.append(Denial(row[0], row[2], _text(row[3]), _text(row[4])))
    return denials


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

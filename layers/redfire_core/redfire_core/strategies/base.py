"""The Strategy API: write a strategy once, run it in a backtest or live.

A strategy declares ``parameters`` (name → default; a value given as text is coerced to
the default's type) and ``bounds`` (name → inclusive (lowest, highest) of a numeric
parameter; one it does not bound stays within ±``DEFAULT_BOUND``), registers indicators
in ``on_start`` (the runner updates them before each ``on_bar``), and trades with
``buy`` / ``sell`` / ``close``. ``state`` is a JSON-serialisable dict that the runner
persists between bars (and across cold starts when live). Prices and quantities are
floats inside a run; Decimal lives at the edges.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any, ClassVar, Protocol, TypeVar

from redfire_core.domain.bars import Bar as StoredBar
from redfire_core.strategies.history import PriceHistory
from redfire_core.strategies.indicators import (
    ATR,
    EMA,
    RSI,
    SMA,
    Bollinger,
    Highest,
    Indicator,
    Lowest,
    OfBars,
    OfCloses,
)

_I = TypeVar("_I", bound=Indicator)
_T = TypeVar("_T")
ALL_EQUITY = None  # size=None: the largest whole number of units the equity pays for
# Numeric parameters without declared bounds stay within ±this: no request can make a run
# allocate, loop or store without limit (10**400, 1e308 as a 309-digit int).
DEFAULT_BOUND = 1_000_000_000


class StrategyError(ValueError):
    """Bad strategy input (unknown strategy or parameter, a value of the wrong type)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StrategyFailed(StrategyError):
    """The strategy's own code raised in one of its hooks: ``STRATEGY_ERROR`` with the
    start of the bar it was handling (None before the bars: ``on_start``, ``signal_bars``),
    so a runner can report it."""

    def __init__(self, message: str, hook: str, bar_time: datetime | None) -> None:
        super().__init__("STRATEGY_ERROR", message)
        self.hook = hook
        self.bar_time = bar_time

    def as_json(self) -> dict[str, Any]:
        """``{code, message, bar_time}`` as a failed backtest or instance shows it."""
        moment = self.bar_time
        return {
            "code": self.code,
            "message": str(self),
            "bar_time": moment.isoformat().replace("+00:00", "Z") if moment else None,
        }


HOOKS = ("on_start", "on_bar", "on_fill", "on_order")
# Called before any bar is handled: a failure there names no bar.
BEFORE_BARS = ("on_start", "signal_bars")


def guard_hooks(strategy: Strategy, bar_time: Callable[[], datetime | None]) -> None:
    """Make an exception raised in any of the strategy's hooks a ``StrategyFailed`` naming
    the hook and ``bar_time()`` (the bar being handled), whichever runner calls them."""
    for name in HOOKS:
        setattr(strategy, name, guarded(getattr(strategy, name), name, bar_time))


def guarded(
    hook: Callable[..., _T], name: str, bar_time: Callable[[], datetime | None]
) -> Callable[..., _T]:
    """``hook`` with its exceptions turned into ``StrategyFailed`` (its result passed on)."""

    def call(*args: Any) -> _T:
        try:
            return hook(*args)
        except StrategyFailed:
            raise  # a nested hook already named it
        except Exception as error:  # the strategy's own code: reported, never swallowed
            detail = f"{error.code}: {error}" if isinstance(error, StrategyError) else str(error)
            raise StrategyFailed(
                f"{type(error).__name__} in {name}: {detail}",
                name,
                None if name in BEFORE_BARS else bar_time(),
            ) from error

    return call


class Bar:
    """One bar as a strategy sees it."""

    __slots__ = ("close", "high", "index", "low", "open", "time", "volume")

    def __init__(
        self,
        index: int,
        time: datetime,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
    ) -> None:
        self.index = index
        self.time = time
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume

    @classmethod
    def of(cls, index: int, bar: StoredBar) -> Bar:
        """The core's bar (``domain.bars.Bar``, Decimals) as the ``index``-th a strategy
        sees, in floats (strategy code does float arithmetic, fast)."""
        return cls(
            index,
            bar.start,
            float(bar.open),
            float(bar.high),
            float(bar.low),
            float(bar.close),
            float(bar.volume),
        )


class StrategyOrder:
    """An order a strategy placed. ``quantity`` None means "all equity" (sized at the fill);
    ``closes`` orders flatten whatever position exists when they fill."""

    __slots__ = (
        "closes",
        "fill_price",
        "filled_quantity",
        "id",
        "legs",
        "limit",
        "parent",
        "placed_bar",
        "quantity",
        "reason",
        "side",
        "status",
        "stop",
        "stop_loss",
        "take_profit",
        "triggered",
    )

    def __init__(
        self,
        id: int,
        side: int,
        quantity: float | None,
        limit: float | None = None,
        stop: float | None = None,
        closes: bool = False,
        placed_bar: int = -1,
    ) -> None:
        self.id = id
        self.side = side  # +1 buy, -1 sell
        self.quantity = quantity
        self.limit = limit
        self.stop = stop
        self.closes = closes
        self.placed_bar = placed_bar
        self.status = "working"  # working → filled | canceled | rejected
        self.triggered = False
        self.filled_quantity = 0.0
        self.fill_price = NAN
        self.reason = ""
        # A bracket (both) or oto (one): the exits that activate when this order fills.
        self.take_profit: float | None = None
        self.stop_loss: float | None = None
        self.parent: StrategyOrder | None = None  # an exit leg: its entry
        self.legs: list[StrategyOrder] = []  # an entry: its exit legs, once activated

    @property
    def type(self) -> str:
        if self.closes or (self.limit is None and self.stop is None):
            return "market"
        if self.stop is not None:
            return "stop" if self.limit is None else "stop_limit"
        return "limit"


class PositionView(float):
    """The strategy's position: its signed size as a float (``if self.position > 0``), with
    the average entry price (NaN when flat) and the unrealized P&L at the last price, read
    from the broker when asked (the size alone costs what a float costs)."""

    __slots__ = ("_broker",)
    _broker: Broker | None

    def __new__(cls, size: float, broker: Broker | None) -> PositionView:
        view = super().__new__(cls, size)
        view._broker = broker
        return view

    @property
    def avg_price(self) -> float:
        broker = self._broker
        return broker.position_cost / float(self) if broker is not None and self else NAN

    @property
    def unrealized_pnl(self) -> float:
        broker = self._broker
        if broker is None or not self:
            return 0.0
        return float(self) * broker.last_price - broker.position_cost


FLAT = PositionView(0.0, None)


class Fill:
    """One execution: signed quantity (+ bought, - sold), price and commission."""

    __slots__ = ("bar", "commission", "order_id", "price", "quantity", "time")

    def __init__(
        self,
        order_id: int,
        quantity: float,
        price: float,
        commission: float,
        bar: int,
        time: datetime,
    ) -> None:
        self.order_id = order_id
        self.quantity = quantity
        self.price = price
        self.commission = commission
        self.bar = bar
        self.time = time


NAN = math.nan


class Broker(Protocol):
    """What a runner (the backtest engine, the live runner) offers a strategy."""

    def submit(self, order: StrategyOrder) -> StrategyOrder: ...

    def cancel(self, order: StrategyOrder) -> None: ...

    @property
    def position(self) -> float: ...

    @property
    def equity(self) -> float: ...

    @property
    def bar_index(self) -> int: ...

    @property
    def orders(self) -> list[StrategyOrder]: ...

    @property
    def position_cost(self) -> float:
        """Signed cost basis of the position (units x average entry price)."""
        ...

    @property
    def last_price(self) -> float: ...

    @property
    def history(self) -> PriceHistory: ...


class Strategy:
    """Subclass and override the hooks you need."""

    name: ClassVar[str] = ""
    parameters: ClassVar[dict[str, Any]] = {}
    bounds: ClassVar[dict[str, tuple[float, float]]] = {}
    # Bars of ``self.data`` a live instance keeps (at least what its indicators need).
    history_bars: ClassVar[int] = 0

    def __init__(
        self,
        broker: Broker,
        params: Mapping[str, Any] | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.broker = broker
        self.params: dict[str, Any] = self.resolve_parameters(params or {})
        for key, value in self.params.items():
            setattr(self, key, value)
        self.state: dict[str, Any] = state if state is not None else {}
        self.indicators: list[Indicator] = []
        self._next_id = 0
        self._position: PositionView | None = None

    # -- parameters ---------------------------------------------------------------------

    @classmethod
    def resolve_parameters(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``given``, coerced to each default's type and checked."""
        resolved = cls.coerce_parameters(given)
        cls.check_parameters(resolved)
        return resolved

    @classmethod
    def coerce_parameters(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``given``, coerced to each default's type (not checked
        together: a sweep skips combinations that ``check_parameters`` refuses)."""
        unknown = sorted(set(given) - set(cls.parameters))
        if unknown:
            known = ", ".join(sorted(cls.parameters)) or "none"
            raise StrategyError(
                "STRATEGY_UNKNOWN_PARAMETER",
                f"unknown parameter {unknown[0]!r} for strategy {cls.name!r} (known: {known})",
            )
        resolved = dict(cls.parameters)
        for key, value in given.items():
            resolved[key] = _bounded(key, _coerce(key, value, cls.parameters[key]), cls.bounds)
        return resolved

    @classmethod
    def check_parameters(cls, params: dict[str, Any]) -> None:
        """Override to reject combinations (raise StrategyError)."""

    # -- hooks --------------------------------------------------------------------------

    def on_start(self) -> None:
        """Register indicators here."""

    def on_bar(self, bar: Bar) -> None:
        """Called once per bar, after the indicators have taken it."""

    def signal_bars(self) -> Iterable[int] | None:
        """Optional, for speed: the bars on which ``on_bar`` may act, read from the
        indicators' precomputed ``history`` (a backtest precomputes every SMA). A backtest
        then calls ``on_bar`` only there and moves the equity column-wise in between.
        Declare it in the class that defines ``on_bar`` (a subclass overriding ``on_bar``
        alone gets every bar). None, the default: every bar."""
        return None

    def on_fill(self, fill: Fill) -> None:
        """Called for every execution of this strategy's orders."""

    def on_order(self, order: StrategyOrder) -> None:
        """Called when an order ends (filled, canceled, rejected)."""

    # -- indicators ---------------------------------------------------------------------

    def indicator(
        self,
        indicator: Indicator | Callable[..., float],
        n: int | None = None,
        source: str = "close",
    ) -> Indicator:
        """Register an indicator: the runner feeds it each bar before ``on_bar``, in a
        backtest and live alike. Either an ``Indicator`` object (override ``update``,
        ``update_bar`` or ``update_ohlcv``), or a function of the last ``n`` bars:
        ``source="close"`` calls ``fn(closes)``, ``source="ohlcv"`` calls
        ``fn(open, high, low, close, volume)`` with lists of the last ``n`` values."""
        if not isinstance(indicator, Indicator):
            if n is None:
                raise StrategyError("STRATEGY_INVALID_INDICATOR", "a function indicator needs n")
            if source == "close":
                indicator = OfCloses(indicator, int(n))
            elif source == "ohlcv":
                indicator = OfBars(indicator, int(n))
            else:
                raise StrategyError(
                    "STRATEGY_INVALID_INDICATOR",
                    f"source must be 'close' or 'ohlcv', got {source!r}",
                )
        self.indicators.append(indicator)
        return indicator

    def sma(self, n: int) -> SMA:
        return _register(self, SMA(int(n)))

    def ema(self, n: int) -> EMA:
        return _register(self, EMA(int(n)))

    def rsi(self, n: int = 14) -> RSI:
        return _register(self, RSI(int(n)))

    def atr(self, n: int = 14) -> ATR:
        return _register(self, ATR(int(n)))

    def bollinger(self, n: int = 20, k: float = 2.0) -> Bollinger:
        return _register(self, Bollinger(int(n), float(k)))

    def highest(self, n: int) -> Highest:
        return _register(self, Highest(int(n)))

    def lowest(self, n: int) -> Lowest:
        return _register(self, Lowest(int(n)))

    # -- trading ------------------------------------------------------------------------

    @property
    def position(self) -> PositionView:
        """Signed units held (negative when short): a float, which also tells its
        ``avg_price`` and ``unrealized_pnl`` (``self.position.avg_price``)."""
        size = self.broker.position
        if not size:
            return FLAT
        view = self._position
        if view is None or view != size:  # a view reads price and P&L when asked: kept
            view = self._position = PositionView(size, self.broker)
        return view

    @property
    def equity(self) -> float:
        return self.broker.equity

    @property
    def data(self) -> PriceHistory:
        """The bars seen so far as columns (``self.data.close[-20:]``), up to this bar."""
        return self.broker.history

    @property
    def position_price(self) -> float:
        """Average entry price of the position; NaN when flat."""
        size = self.broker.position
        return self.broker.position_cost / size if size else NAN

    @property
    def position_pnl(self) -> float:
        """Unrealized P&L of the position at the last price (0 when flat)."""
        size = self.broker.position
        return size * self.broker.last_price - self.broker.position_cost if size else 0.0

    def buy(
        self,
        size: float | None = ALL_EQUITY,
        limit: float | None = None,
        stop: float | None = None,
        *,
        take_profit: float | None = None,
        stop_loss: float | None = None,
    ) -> StrategyOrder:
        """Buy ``size`` units (None: all equity) at market, or as a limit / stop order.
        ``take_profit`` and / or ``stop_loss``: a bracket (or oto) whose exits work once
        the entry fills, one canceling the other (docs/trading.md)."""
        return self._place(1, size, limit, stop, take_profit, stop_loss)

    def sell(
        self,
        size: float | None = ALL_EQUITY,
        limit: float | None = None,
        stop: float | None = None,
        *,
        take_profit: float | None = None,
        stop_loss: float | None = None,
    ) -> StrategyOrder:
        """Sell (or go short) ``size`` units (None: all equity); exits as for ``buy``."""
        return self._place(-1, size, limit, stop, take_profit, stop_loss)

    def bracket(
        self,
        side: str,
        size: float | None,
        *,
        take_profit: float,
        stop_loss: float,
        limit: float | None = None,
    ) -> StrategyOrder:
        """A bracket: ``side`` ("buy" or "sell") ``size`` at market (or ``limit``), with a
        take-profit limit and a stop-loss stop that work once it fills."""
        place = self.buy if side == "buy" else self.sell
        return place(size, limit, take_profit=take_profit, stop_loss=stop_loss)

    def next_order_id(self) -> int:
        """A new order id of this strategy (the broker numbers a bracket's exits with it)."""
        self._next_id += 1
        return self._next_id

    def close(self) -> StrategyOrder | None:
        """Flatten the position at the next fill price; None when flat."""
        position = self.broker.position
        if not position:
            return None
        self._next_id += 1
        order = StrategyOrder(self._next_id, -1 if position > 0 else 1, abs(position), closes=True)
        order.placed_bar = self.broker.bar_index
        return self.broker.submit(order)

    @property
    def orders(self) -> list[StrategyOrder]:
        """The strategy's working orders (placed, not yet filled, canceled or rejected), the
        same objects ``buy``/``sell`` returned, in a backtest and live alike."""
        return list(self.broker.orders)

    def cancel(self, order: StrategyOrder | int) -> None:
        """Cancel a working order, by the handle ``buy``/``sell`` returned or by its id
        (nothing happens when it is no longer working)."""
        wanted = order.id if isinstance(order, StrategyOrder) else int(order)
        for working in self.broker.orders:
            if working.id == wanted:
                self.broker.cancel(working)
                return

    @property
    def lot_size(self) -> float:
        """The instrument's lot: order sizes are multiples of it (fractional where it is,
        e.g. 0.001 BTC). A broker that does not say trades whole units."""
        return float(getattr(self.broker, "lot_size", 1.0))

    def size_for_risk(self, risk: float, stop_distance: float) -> float:
        """The size that loses ``risk`` (money) if the price moves ``stop_distance``
        against the position, rounded down to the lot grid; 0.0 when not even one lot
        fits (or either argument is not positive)."""
        if not (risk > 0 and stop_distance > 0 and math.isfinite(risk / stop_distance)):
            return 0.0
        return on_lot_grid(risk / stop_distance, self.lot_size)

    def _place(
        self,
        side: int,
        size: float | None,
        limit: float | None,
        stop: float | None,
        take_profit: float | None = None,
        stop_loss: float | None = None,
    ) -> StrategyOrder:
        if size is not None:
            if not (size > 0 and math.isfinite(size)):
                raise StrategyError("ORDER_INVALID", f"size must be a positive number: {size}")
            lot = self.lot_size
            size = on_lot_grid(size, lot)  # rounded down: never more than asked
            if not size:
                raise StrategyError("ORDER_INVALID", f"size is below one lot ({lot:g})")
        if (take_profit is not None or stop_loss is not None) and stop is not None:
            raise StrategyError("ORDER_INVALID", "a bracket's entry is a market or limit order")
        self._next_id += 1
        order = StrategyOrder(
            self._next_id,
            side,
            size,
            None if limit is None else float(limit),
            None if stop is None else float(stop),
        )
        order.take_profit = None if take_profit is None else float(take_profit)
        order.stop_loss = None if stop_loss is None else float(stop_loss)
        order.placed_bar = self.broker.bar_index
        return self.broker.submit(order)


def on_lot_grid(size: float, lot: float) -> float:
    """``size`` rounded down to a multiple of ``lot``, in decimal arithmetic (0.3 BTC in
    lots of 0.1 is 3 lots, not the 2.9999 floats make of it)."""
    if lot == 1.0:
        return float(math.floor(size))
    step = Decimal(repr(lot))
    return float((Decimal(repr(size)) / step).to_integral_value(ROUND_FLOOR) * step)


def _register(strategy: Strategy, indicator: _I) -> _I:
    strategy.indicators.append(indicator)
    return indicator


def _coerce(key: str, value: Any, default: Any) -> Any:
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value  # exact, however large: the bounds check comes next
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if kind is float:
            result = float(value)
            if not math.isfinite(result):
                raise ValueError(value)
            return result
        return kind(value) if default is not None else value
    except (TypeError, ValueError, OverflowError):
        raise StrategyError(
            "STRATEGY_INVALID_PARAMETER",
            f"parameter {key!r} must be {kind.__name__}, got {value!r}",
        ) from None


def _bounded(key: str, value: Any, bounds: Mapping[str, tuple[float, float]]) -> Any:
    """``value`` when it is not a number or lies within the parameter's bounds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    lowest, highest = bounds.get(key, (-DEFAULT_BOUND, DEFAULT_BOUND))
    if not lowest <= value <= highest:
        shown = str(value) if len(str(value)) <= 24 else f"{str(value)[:20]}..."
        raise StrategyError(
            "STRATEGY_INVALID_PARAMETER",
            f"parameter {key!r} must be between {lowest} and {highest}, got {shown}",
        )
    return value

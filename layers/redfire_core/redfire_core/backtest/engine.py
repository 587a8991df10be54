"""The event-driven backtest engine: bar by bar, floats in the hot loop.

Semantics (docs/backtesting.md):
- Orders placed while a bar is handled are worked from the next bar on. A market order
  fills at that bar's open. Limits and stops follow the paper gateway's rules
  (``domain/matching.py``): a limit fills at its price, or at the open when the bar
  gaps through it; a stop triggers when the bar reaches it and fills at the stop, or at
  the open on a gap; a stop-limit fills on its trigger bar when the limit is reachable,
  else works as a limit.
- "All equity" sizing: the largest whole number of units whose cost plus commission
  fits the available equity at the fill price.
- Commission = rate x |quantity| x price on every fill (``ExecutionModel``); slippage
  moves market and stop fills against the trader by ``slippage_bps``.
- Positions are kept as trades (FIFO lots), so an opposite fill closes the oldest first.
- At the end, a position still open is closed on the last bar at its open and counted
  as a trade; orders placed on the last bar are worked there too (what backtesting.py
  0.6.6 does with ``finalize_trades=True``).
- A bracket (``buy(..., take_profit=..., stop_loss=...)``) or oto: when the entry fills,
  its exits (a stop and a take-profit limit for the filled quantity) work from the next
  bar, the stop first when one bar reaches both; a fill or cancel of one cancels the
  other, as the paper gateway's groups do (``domain/order_classes.py``).
- When equity falls to zero or below, everything is closed at that bar's close and the
  run stops there.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from itertools import repeat
from math import nan as NAN
from operator import add, mul, sub
from typing import TYPE_CHECKING, Any

from redfire_core.backtest.data import BarData, DataError
from redfire_core.backtest.risk_gate import RiskGate
from redfire_core.strategies.base import (
    Bar,
    Fill,
    Strategy,
    StrategyOrder,
    guard_hooks,
    guarded,
)
from redfire_core.strategies.code import identity
from redfire_core.strategies.history import PriceHistory
from redfire_core.strategies.indicators import SMA, Indicator, reads

if TYPE_CHECKING:  # the paper gateway's cost model and risk limits: not on the plain path
    from redfire_core.domain.orders import ExecutionModel
    from redfire_core.domain.risk import RiskLimits


class Trade:
    """One lot: opened by a fill, closed (whole or in part) by an opposite fill."""

    __slots__ = (
        "commission",
        "entry_bar",
        "entry_price",
        "exit_bar",
        "exit_price",
        "size",
    )

    def __init__(self, size: float, entry_price: float, entry_bar: int) -> None:
        self.size = size
        self.entry_price = entry_price
        self.entry_bar = entry_bar
        self.exit_price = 0.0
        self.exit_bar = -1
        self.commission = 0.0

    @property
    def pnl(self) -> float:
        return self.size * (self.exit_price - self.entry_price) - self.commission

    @property
    def return_fraction(self) -> float:
        gross = (1 if self.size > 0 else -1) * (self.exit_price / self.entry_price - 1)
        return gross - self.commission / (abs(self.size) * self.entry_price)


@dataclass
class BacktestSettings:
    cash: float = 10_000.0
    commission: float = 0.0  # rate of notional, per fill
    slippage_bps: float = 0.0  # market and stop fills move this far against the trader
    # The account's pre-trade limits, checked as each order is placed (backtest/risk_gate.py).
    risk_limits: RiskLimits | None = None
    # The instrument's lot: order sizes are multiples of it (fractional where it is).
    lot_size: float = 1.0

    def __post_init__(self) -> None:
        if not (self.lot_size > 0 and math.isfinite(self.lot_size)):
            raise DataError(
                "BACKTEST_INVALID_LOT_SIZE", f"lot size must be positive, got {self.lot_size}"
            )
        if not self.cash > 0:
            raise DataError("BACKTEST_INVALID_CASH", f"cash must be positive, got {self.cash}")
        if not 0 <= self.commission < 0.1:
            raise DataError(
                "BACKTEST_INVALID_COMMISSION",
                f"commission must be a rate in [0, 0.1), got {self.commission}",
            )
        if not 0 <= self.slippage_bps < 1000:
            raise DataError(
                "BACKTEST_INVALID_SLIPPAGE",
                f"slippage must be basis points in [0, 1000), got {self.slippage_bps}",
            )

    @classmethod
    def from_model(cls, cash: Decimal, model: ExecutionModel) -> BacktestSettings:
        """From the paper gateway's cost model (its proportional commission and slippage)."""
        return cls(float(cash), float(model.commission_rate), float(model.slippage_bps))


@dataclass
class BacktestResult:
    strategy: str
    params: dict[str, Any]
    settings: BacktestSettings
    data: BarData
    equity: list[float]
    trades: list[Trade]
    warmup: int
    reproducibility_hash: str
    orders: list[StrategyOrder] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


class BacktestBroker:
    """The simulated broker a strategy trades through during a backtest."""

    def __init__(self, data: BarData, settings: BacktestSettings) -> None:
        self.data = data
        self.rate = settings.commission
        # Slippage as price factors (exactly 1.0 without it: x * 1.0 == x in floats).
        self.buy_slip = 1 + settings.slippage_bps / 10_000
        self.sell_slip = 1 - settings.slippage_bps / 10_000
        self.cash = settings.cash
        self.lot_size = settings.lot_size
        self.trades: list[Trade] = []
        self.closed: list[Trade] = []
        self.pending: list[StrategyOrder] = []
        self.done: list[StrategyOrder] = []
        self.index = 0
        self.equity_curve = [settings.cash] * len(data)
        self.size = 0.0  # sum of trade sizes
        self.cost = 0.0  # sum of size x entry price
        self.strategy: Strategy | None = None
        self._history: PriceHistory | None = None
        # The strategy's own on_fill / on_order, None when it keeps the base's no-ops
        # (then no Fill is built).
        self.on_fill: Callable[[Fill], None] | None = None
        self.on_order: Callable[[StrategyOrder], None] | None = None
        self._leg_ids = 0
        self.risk: RiskGate | None = None
        if settings.risk_limits is not None:
            self.risk = RiskGate(settings.risk_limits)

    # -- the Broker protocol ------------------------------------------------------------

    def submit(self, order: StrategyOrder) -> StrategyOrder:
        if self.risk is not None and self._denied(order):
            return order
        if order.closes:
            self.pending.insert(sum(1 for o in self.pending if o.closes), order)
        else:
            self.pending.append(order)
        return order

    def cancel(self, order: StrategyOrder) -> None:
        if order in self.pending:
            self.pending.remove(order)
            if self.risk is not None:
                self.risk.canceled(self.data.times[self.index])
            self._finish(order, "canceled", "canceled by the strategy")
            self._end_siblings(order, "the other exit ended")

    def _denied(self, order: StrategyOrder) -> bool:
        """Check ``order`` against the risk limits as it is placed; True when denied (it
        ends ``rejected`` with the first reason, as a live strategy sees a denial)."""
        assert self.risk is not None
        i = self.index
        close = self.data.close[i]
        if order.closes:
            units = abs(self.size)
        elif order.quantity is None:  # all equity, sized at the close it is placed on
            units = float(
                all_equity_units(self._margin_available(i), close, self.rate, self.lot_size)
            )
        else:
            units = order.quantity
        if not units:
            return False  # nothing to check: the engine cancels or rejects it
        denials = self.risk.check(
            order, units, self.data.times[i], close, self.cash, self.size, self.cost, self.pending
        )
        if denials:
            self._finish(order, "rejected", f"{denials[0].code}: {denials[0].message}")
        return bool(denials)

    @property
    def position(self) -> float:
        return self.size

    @property
    def equity(self) -> float:
        return self.cash + self.data.close[self.index] * self.size - self.cost

    @property
    def bar_index(self) -> int:
        return self.index

    @property
    def orders(self) -> list[StrategyOrder]:
        return self.pending

    @property
    def position_cost(self) -> float:
        return self.cost

    @property
    def last_price(self) -> float:
        return self.data.close[self.index]

    @property
    def history(self) -> PriceHistory:
        """The strategy's ``self.data``: the columns up to the bar being handled."""
        if self._history is None:
            d = self.data
            self._history = PriceHistory(
                d.times, d.open, d.high, d.low, d.close, d.volume, lambda: self.index + 1
            )
        return self._history

    # -- matching -----------------------------------------------------------------------

    def work_orders(self, i: int) -> None:
        """Work the pending orders against bar ``i`` (closing orders first)."""
        data = self.data
        open_, high, low = data.open[i], data.high[i], data.low[i]
        for order in list(self.pending):
            if order not in self.pending:
                continue
            buy = order.side > 0
            limit = None if order.closes else order.limit
            if order.stop is not None and not order.triggered:
                stop = order.stop
                if not (high >= stop if buy else low <= stop):
                    continue
                order.triggered = True
                gapped = open_ >= stop if buy else open_ <= stop
                trigger = open_ if gapped else stop
                if limit is None:
                    price = trigger * (self.buy_slip if buy else self.sell_slip)
                elif low <= limit if buy else high >= limit:
                    price = min(trigger, limit) if buy else max(trigger, limit)
                else:
                    continue  # triggered; works as a limit from the next bar
            elif limit is not None:
                if not (low <= limit if buy else high >= limit):
                    continue
                price = min(open_, limit) if buy else max(open_, limit)
            else:
                price = open_ * (self.buy_slip if buy else self.sell_slip)
            self.pending.remove(order)
            self._execute(order, price, i)

    def _execute(self, order: StrategyOrder, price: float, i: int) -> None:
        rate = self.rate
        if order.closes:
            if not self.trades:
                self._finish(order, "canceled", "no position to close")
                return
            quantity = -self.size
            for trade in list(self.trades):
                self._close(trade, price, i)
            self._fill(order, quantity, price, i)
            return
        side = order.side
        if order.quantity is None:
            units = float(all_equity_units(self._margin_available(i), price, rate, self.lot_size))
            if not units:
                self._finish(order, "rejected", "not enough equity for one unit")
                return
        else:
            units = order.quantity
        need = side * units
        for trade in list(self.trades):  # opposite lots first, oldest first
            if (trade.size > 0) == (side > 0):
                continue
            if abs(need) >= abs(trade.size):
                self._close(trade, price, i)
                need += trade.size
            else:
                self._reduce(trade, need, price, i)
                need = 0.0
            if not need:
                break
        if need and _cost(abs(need), price, rate) > self._margin_available(i):
            closed = units - abs(need)
            if closed:  # the opposite lots it closed stay closed, as an execution
                self._notify_fill(order, side * closed, price, i)
            self._finish(order, "rejected", "not enough equity")
            return
        if need:
            self.trades.append(Trade(need, price, i))
            self.size += need
            self.cost += need * price
            self.cash -= abs(need) * price * rate
        self._fill(order, side * units, price, i)

    def attach(self, strategy: Strategy) -> None:
        """Trade for ``strategy``: its fills and ended orders are reported to it."""
        self.strategy = strategy
        kind = type(strategy)
        self.on_fill = strategy.on_fill if kind.on_fill is not Strategy.on_fill else None
        self.on_order = strategy.on_order if kind.on_order is not Strategy.on_order else None

    def _margin_available(self, i: int) -> float:
        last = self.data.close[i]
        equity = self.cash + last * self.size - self.cost
        if not self.trades:
            return max(0.0, equity)  # equity - 0 (an empty sum) is equity
        used = sum(abs(t.size) * last for t in self.trades)
        return max(0.0, equity - used)

    def _reduce(self, trade: Trade, size: float, price: float, i: int) -> None:
        part = Trade(-size, trade.entry_price, trade.entry_bar)
        trade.size += size
        self.trades.append(part)  # the totals are unchanged: the part is still held
        self._close(part, price, i)

    def _close(self, trade: Trade, price: float, i: int) -> None:
        self.trades.remove(trade)
        rate = self.rate
        exit_commission = abs(trade.size) * price * rate
        self.cash += trade.size * (price - trade.entry_price) - exit_commission
        self.size -= trade.size
        self.cost -= trade.size * trade.entry_price
        if not self.trades:  # no drift once flat
            self.size = 0.0
            self.cost = 0.0
        trade.exit_price = price
        trade.exit_bar = i
        trade.commission = exit_commission + abs(trade.size) * trade.entry_price * rate
        self.closed.append(trade)

    def _fill(self, order: StrategyOrder, quantity: float, price: float, i: int) -> None:
        if self.risk is not None:
            self.risk.filled(self.data.times[i])
        self._notify_fill(order, quantity, price, i)
        self._finish(order, "filled", "")
        if order.take_profit is not None or order.stop_loss is not None:
            self._activate_legs(order, abs(quantity), i)
        self._end_siblings(order, "the other exit filled")

    def _activate_legs(self, entry: StrategyOrder, units: float, i: int) -> None:
        """The entry's exits for what it filled, worked from the next bar (the stop first:
        on a bar that reaches both, the stop fills, as on the paper gateway)."""
        exits = []
        if entry.stop_loss is not None:
            exits.append(StrategyOrder(self._order_id(), -entry.side, units, stop=entry.stop_loss))
        if entry.take_profit is not None:
            exits.append(
                StrategyOrder(self._order_id(), -entry.side, units, limit=entry.take_profit)
            )
        for leg in exits:
            leg.parent = entry
            leg.placed_bar = i
        entry.legs = exits
        self.pending.extend(exits)

    def _end_siblings(self, leg: StrategyOrder, reason: str) -> None:
        """One exit of a bracket filled or was canceled: the other is canceled."""
        if leg.parent is None:
            return
        for other in leg.parent.legs:
            if other is not leg and other in self.pending:
                self.pending.remove(other)
                self._finish(other, "canceled", reason)

    def _order_id(self) -> int:
        if self.strategy is not None:
            return self.strategy.next_order_id()
        self._leg_ids -= 1  # a broker without a strategy numbers exits below zero
        return self._leg_ids

    def _notify_fill(self, order: StrategyOrder, quantity: float, price: float, i: int) -> None:
        order.filled_quantity = abs(quantity)
        order.fill_price = price
        on_fill = self.on_fill
        if on_fill is not None:
            commission = abs(quantity) * price * self.rate
            on_fill(Fill(order.id, quantity, price, commission, i, self.data.times[i]))

    def _finish(self, order: StrategyOrder, status: str, reason: str) -> None:
        order.status = status
        order.reason = reason
        self.done.append(order)
        if self.on_order is not None:
            self.on_order(order)


def _cost(units: float, price: float, rate: float) -> float:
    """What ``units`` cost at ``price``, commission included."""
    notional = units * price
    return notional + notional * rate


def all_equity_units(available: float, price: float, rate: float, lot: float = 1.0) -> float:
    """The most units, in whole lots, whose cost plus commission fits ``available``
    (checked in the same float arithmetic the fill then uses)."""
    if available <= 0:
        return 0
    lots = int(available // (price * lot * (1 + rate)))
    while _cost(_units(lots + 1, lot), price, rate) <= available:
        lots += 1
    while lots > 0 and _cost(_units(lots, lot), price, rate) > available:
        lots -= 1
    return _units(lots, lot)


def _units(lots: int, lot: float) -> float:
    """``lots`` lots in units, exact on the decimal grid (whole units as the int itself)."""
    return lots if lot == 1.0 else float(Decimal(lots) * Decimal(repr(lot)))


def reproducibility_hash(
    data: BarData, strategy: type[Strategy], params: Mapping[str, Any], settings: BacktestSettings
) -> str:
    """Same data, strategy code, parameters and settings → same hash. The code is what
    this process loaded: the strategy's distribution and version, a digest of its
    package's files, and RedFire's version and digest (``strategies/code.py``)."""
    document = json.dumps(
        {
            "data": data.content_hash(),
            "strategy": strategy.name,
            "code": identity(strategy).as_json(),
            "params": dict(params),
            "cash": repr(float(settings.cash)),
            "commission": repr(float(settings.commission)),
            "slippage_bps": repr(float(settings.slippage_bps)),
            "risk_limits": settings.risk_limits.as_strings() if settings.risk_limits else None,
            "engine": 2,
            # Only a lot other than one unit: the hashes of whole-unit runs stay as they were.
            **({"lot_size": repr(float(settings.lot_size))} if settings.lot_size != 1 else {}),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(document.encode()).hexdigest()


def _feeders(
    indicators: list[Indicator],
    fresh: set[int],
    opens: list[float],
    volumes: list[float],
    broker: BacktestBroker,
) -> tuple[list[Callable[[float], float]], list[Callable[[float, float, float], float]]]:
    """What each bar feeds the indicators not precomputed (``fresh``): their closes, or
    the bar's high, low and close. Custom indicators of whole bars (open and volume too),
    rare, are fed like the latter, the open and volume read at the broker's bar."""
    close_fed: list[Callable[[float], float]] = [
        ind.update for ind in indicators if id(ind) not in fresh and reads(ind) == "close"
    ]
    bar_fed: list[Callable[[float, float, float], float]] = [
        ind.update_bar for ind in indicators if reads(ind) == "hlc"
    ]
    bar_fed += [
        partial(_feed_ohlcv, ind.update_ohlcv, opens, volumes, broker)
        for ind in indicators
        if reads(ind) == "ohlcv"
    ]
    return close_fed, bar_fed


def _feed_ohlcv(
    update: Callable[[float, float, float, float, float], float],
    opens: list[float],
    volumes: list[float],
    broker: BacktestBroker,
    high: float,
    low: float,
    close: float,
) -> float:
    i = broker.index
    return update(opens[i], high, low, close, volumes[i])


def _declares_signals(strategy: Strategy) -> bool:
    """True when the class that gives ``strategy`` its ``on_bar`` also declares the bars
    it acts on (a subclass that overrides ``on_bar`` alone keeps every bar)."""
    owners = {}
    for hook in ("on_bar", "signal_bars"):
        owners[hook] = next(k for k in type(strategy).__mro__ if hook in k.__dict__)
    return owners["signal_bars"] is not Strategy and owners["signal_bars"] is owners["on_bar"]


def _listed_signals(strategy: Strategy) -> list[int] | None:
    signals = strategy.signal_bars()
    return None if signals is None else list(signals)


def _liquidate(broker: BacktestBroker, i: int) -> None:
    """Equity at or below zero on bar ``i``: close everything at its close and stop."""
    close = broker.data.close[i]
    for trade in list(broker.trades):
        broker._close(trade, close, i)
    broker.cash = 0.0
    equity = broker.equity_curve
    equity[i:] = [0.0] * (len(equity) - i)


def _run_every_bar(
    broker: BacktestBroker,
    strategy: Strategy,
    precomputed: list[tuple[Indicator, list[float]]],
) -> tuple[int, bool]:
    """The general loop: indicators, equity and ``on_bar`` on every bar. Returns the
    warm-up bar (-1: never ready) and whether equity ran out."""
    data = broker.data
    indicators = strategy.indicators
    times, opens, highs, lows, closes, volumes = (
        data.times,
        data.open,
        data.high,
        data.low,
        data.close,
        data.volume,
    )
    n = len(closes)
    on_bar = strategy.on_bar
    fresh = {id(ind) for ind, _ in precomputed}
    close_fed, bar_fed = _feeders(indicators, fresh, opens, volumes, broker)
    equity = broker.equity_curve
    warmup = -1 if indicators else 0
    pending = broker.pending
    for i in range(n):
        broker.index = i
        if pending:
            broker.work_orders(i)
        close = closes[i]
        for ind, values in precomputed:
            ind.previous = ind.value
            ind.value = values[i]
        for update in close_fed:
            update(close)
        if bar_fed:
            high, low = highs[i], lows[i]
            for update_bar in bar_fed:
                update_bar(high, low, close)
        if broker.trades:
            value = broker.cash + close * broker.size - broker.cost
            equity[i] = value
            if value <= 0:
                _liquidate(broker, i)
                return warmup, True
        else:
            equity[i] = broker.cash
        if warmup < 0:
            if all(ind.ready for ind in indicators):
                warmup = i
            continue
        if i > warmup:
            on_bar(Bar(i, times[i], opens[i], highs[i], lows[i], close, volumes[i]))
    return warmup, False


def _run_signal_bars(
    broker: BacktestBroker,
    strategy: Strategy,
    precomputed: list[tuple[Indicator, list[float]]],
    signals: Iterable[int],
) -> tuple[int, bool]:
    """The same run for a strategy whose indicators are all precomputed and whose
    ``on_bar`` acts only on the bars ``signal_bars`` names: those bars and the bars with
    working orders are handled one by one, as the general loop does; in between, with
    nothing to do, only the equity moves, column-wise and in the same arithmetic."""
    data = broker.data
    times, opens, highs, lows, closes, volumes = (
        data.times,
        data.open,
        data.high,
        data.low,
        data.close,
        data.volume,
    )
    n = len(closes)
    # Warm-up: the first bar on which every indicator has a value (a precomputed series
    # of positive prices keeps its value once it has one).
    warmup = max(next((i for i, v in enumerate(values) if v == v), n) for _, values in precomputed)
    if warmup >= n:
        return -1, False
    on_bar = strategy.on_bar
    hooks = broker.on_fill is not None or broker.on_order is not None
    equity = broker.equity_curve
    pending = broker.pending
    active = iter(sorted({i for i in signals if warmup < i < n}))
    signal = next(active, n)
    i = 0
    while i < n:
        if not pending and i < signal:  # quiet bars up to the next signal
            if broker.trades:
                cash, size, cost = broker.cash, broker.size, broker.cost
                values = list(
                    map(sub, map(add, repeat(cash), map(mul, closes[i:signal], repeat(size))),
                        repeat(cost))
                )  # fmt: skip
                equity[i:signal] = values
                if min(values) <= 0:
                    i += next(k for k, value in enumerate(values) if value <= 0)
                    broker.index = i
                    _set_indicators(precomputed, i)
                    _liquidate(broker, i)
                    return warmup, True
            else:
                equity[i:signal] = [broker.cash] * (signal - i)
            i = signal
            continue
        broker.index = i
        if pending:
            if hooks:  # they see the indicators as the general loop shows them here
                _set_indicators(precomputed, i - 1)
            broker.work_orders(i)
        close = closes[i]
        if broker.trades:
            value = broker.cash + close * broker.size - broker.cost
            equity[i] = value
            if value <= 0:
                _set_indicators(precomputed, i)
                _liquidate(broker, i)
                return warmup, True
        else:
            equity[i] = broker.cash
        if i == signal:
            _set_indicators(precomputed, i)
            on_bar(Bar(i, times[i], opens[i], highs[i], lows[i], close, volumes[i]))
            signal = next(active, n)
        i += 1
    _set_indicators(precomputed, n - 1)
    return warmup, False


def _set_indicators(precomputed: list[tuple[Indicator, list[float]]], i: int) -> None:
    for ind, values in precomputed:
        ind.previous = values[i - 1] if i else NAN
        ind.value = values[i]


def run_backtest(
    strategy_class: type[Strategy],
    data: BarData,
    params: Mapping[str, Any] | None = None,
    settings: BacktestSettings | None = None,
    state: dict[str, Any] | None = None,
) -> BacktestResult:
    """Run ``strategy_class`` over ``data`` and return the equity curve and the trades.
    ``state`` is the strategy's persistent state to start from (it is updated in place)."""
    settings = settings or BacktestSettings()
    broker = BacktestBroker(data, settings)
    strategy = strategy_class(broker, params or {}, state)
    # An exception in the strategy's code ends the run as StrategyFailed naming the bar;
    # guarded before attach, so the fills and orders the broker reports go through it too.
    guard_hooks(strategy, lambda: data.times[broker.index])
    broker.attach(strategy)
    strategy.on_start()
    indicators = strategy.indicators
    n = len(data)
    needed = max((ind.needed for ind in indicators), default=1)
    if needed > n:
        raise DataError(
            "DATA_TOO_SHORT",
            f"too few bars: {n}, but the indicators of {strategy_class.name!r} need {needed}",
        )
    closes = data.close
    # Close-fed indicators that can compute their whole series in one loop (SMA) are
    # precomputed (once per bars and period: a sweep shares them); the loop then only moves
    # their value along. Same numbers as update().
    precomputed: list[tuple[Indicator, list[float]]] = [
        (ind, data.derived(("sma", ind.n), partial(ind.series, closes)))
        for ind in indicators
        if isinstance(ind, SMA) and type(ind) is SMA
    ]
    signals: Iterable[int] | None = None
    if indicators and len(precomputed) == len(indicators) and _declares_signals(strategy):
        for ind, values in precomputed:
            ind.history = values
        # Strategy code too: guarded, and read out here so a lazy iterable fails here.
        signals = guarded(_listed_signals, "signal_bars", lambda: None)(strategy)
    if signals is None:
        warmup, stopped = _run_every_bar(broker, strategy, precomputed)
    else:
        warmup, stopped = _run_signal_bars(broker, strategy, precomputed, signals)
    if warmup < 0:
        raise DataError(
            "DATA_TOO_SHORT",
            f"the indicators of {strategy_class.name!r} never became ready in {n} bars",
        )
    equity = broker.equity_curve
    if not stopped:
        # Close what is open on the last bar at its open, then work the orders placed
        # on that bar there too (a strategy's own close then finds nothing to close).
        last = n - 1
        broker.index = last
        for trade in list(broker.trades):
            broker._close(trade, data.open[last], last)
        if broker.pending:
            broker.work_orders(last)
        equity[last] = broker.cash + closes[last] * broker.size - broker.cost
    return BacktestResult(
        strategy=strategy_class.name,
        params=strategy.params,
        settings=settings,
        data=data,
        equity=equity,
        trades=broker.closed,
        warmup=warmup,
        reproducibility_hash=reproducibility_hash(data, strategy_class, strategy.params, settings),
        orders=broker.done,
        state=strategy.state,
    )

"""Incremental indicators: each ``update`` takes one bar's value(s) and costs O(1).

``value`` is NaN until the indicator has seen ``needed`` bars; ``previous`` is the
value before the latest update (for crossovers). The simple moving average follows
pandas' ``rolling(n).mean()`` step for step (a Kahan-compensated sliding sum, with its
special cases), so a crossover that hinges on the last bits agrees with it.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections import deque
from collections.abc import Callable

NAN = math.nan


class Indicator:
    """Base: the current and previous value, and how many bars it needs. ``history`` is
    the whole series when a backtest has precomputed it (else None)."""

    __slots__ = ("history", "needed", "previous", "value")

    def __init__(self, needed: int) -> None:
        if needed < 1:
            raise ValueError("an indicator period must be at least 1")
        self.needed = needed
        self.value = NAN
        self.previous = NAN
        self.history: list[float] | None = None

    @property
    def ready(self) -> bool:
        return self.value == self.value  # not NaN

    def update_bar(self, high: float, low: float, close: float) -> float:
        """Feed one bar; the default reads the close."""
        return self.update(close)

    def update_ohlcv(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> float:
        """Feed one whole bar; the default reads what ``update_bar`` reads. Override it for
        an indicator of open or volume (the runners then pass all five)."""
        return self.update_bar(high, low, close)

    def update(self, value: float) -> float:
        raise NotImplementedError


def reads(indicator: Indicator) -> str:
    """What a runner feeds ``indicator``: ``"ohlcv"`` (it overrides ``update_ohlcv``),
    ``"hlc"`` (``update_bar``) or ``"close"`` (``update`` alone)."""
    kind = type(indicator)
    if kind.update_ohlcv is not Indicator.update_ohlcv:
        return "ohlcv"
    return "hlc" if kind.update_bar is not Indicator.update_bar else "close"


class SMA(Indicator):
    """Simple moving average of the last ``n`` values, bit-for-bit as pandas computes it."""

    __slots__ = (
        "_add_comp",
        "_last",
        "_neg",
        "_nobs",
        "_remove_comp",
        "_same",
        "_sum",
        "_window",
        "n",
    )

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.n = n
        self._window: deque[float] = deque()
        self._sum = 0.0
        self._add_comp = 0.0
        self._remove_comp = 0.0
        self._nobs = 0
        self._neg = 0
        self._same = 0
        self._last = NAN

    def update(self, value: float) -> float:
        window = self._window
        total = self._sum
        if self._nobs == self.n:  # slide: take the oldest value out (its own compensation)
            old = window.popleft()
            y = -old - self._remove_comp
            t = total + y
            self._remove_comp = t - total - y
            total = t
            if old < 0.0 or (old == 0.0 and math.copysign(1.0, old) < 0):
                self._neg -= 1
        else:
            self._nobs += 1
        window.append(value)
        y = value - self._add_comp
        t = total + y
        self._add_comp = t - total - y
        self._sum = t
        if value < 0.0 or (value == 0.0 and math.copysign(1.0, value) < 0):
            self._neg += 1
        if value == self._last:
            self._same += 1
        else:
            self._same = 1
            self._last = value
        self.previous = self.value
        nobs = self._nobs
        if nobs < self.n:
            return NAN
        if self._same >= nobs:
            result = value
        else:
            result = t / nobs
            if (self._neg == 0 and result < 0) or (self._neg == nobs and result > 0):
                result = 0.0
        self.value = result
        return result

    def series(self, values: list[float]) -> list[float]:
        """The values ``update`` would give for each of ``values`` from a fresh start (what
        a backtest precomputes); leaves this indicator untouched. For positive finite
        values (prices) only the compensated sums run in a Python loop: pandas' special
        cases (a flat window, a mean of the wrong sign) are settled afterwards."""
        n = self.n
        count = len(values)
        # min() may skip a NaN, sum() does not: together, every value positive and finite.
        if not count or not (min(values) > 0 and sum(values) < math.inf):
            return self._series_stepwise(values)
        if n == 1:  # a window of one value is that value
            return list(values)
        if count < n:
            return [NAN] * count
        out = [NAN] * (n - 1)
        total = add_comp = remove_comp = 0.0
        for value in values[:n]:  # filling the window: nothing to take out yet
            y = value - add_comp
            t = total + y
            add_comp = t - total - y
            total = t
        out.append(total / n)
        append = out.append
        for value, old in zip(values[n:], values, strict=False):
            y = -old - remove_comp
            t = total + y
            remove_comp = t - total - y
            y = value - add_comp
            total = t + y
            add_comp = total - t - y
            append(total / n)
        # A window of n equal values averages to exactly that value.
        run, previous = 1, -2
        for i in itertools.compress(range(1, count), map(operator.eq, values[1:], values)):
            run = run + 1 if i == previous + 1 else 2
            previous = i
            if run >= n:
                out[i] = values[i]
        if min(out[n - 1 :]) < 0:  # no value is negative: neither is a mean
            out[n - 1 :] = [0.0 if v < 0 else v for v in out[n - 1 :]]
        return out

    def _series_stepwise(self, values: list[float]) -> list[float]:
        """``series`` for any values (zeros, negatives, NaN): ``update``'s steps in one
        loop."""
        n = self.n
        out = [NAN] * len(values)
        total = add_comp = remove_comp = 0.0
        neg = same = 0
        last = NAN
        copysign = math.copysign
        for i, value in enumerate(values):
            if i >= n:
                old = values[i - n]
                y = -old - remove_comp
                t = total + y
                remove_comp = t - total - y
                total = t
                if old < 0.0 or (old == 0.0 and copysign(1.0, old) < 0):
                    neg -= 1
            y = value - add_comp
            t = total + y
            add_comp = t - total - y
            total = t
            if value < 0.0 or (value == 0.0 and copysign(1.0, value) < 0):
                neg += 1
            if value == last:
                same += 1
            else:
                same = 1
                last = value
            if i + 1 >= n:
                if same >= n:
                    out[i] = value
                else:
                    result = t / n
                    if (neg == 0 and result < 0) or (neg == n and result > 0):
                        result = 0.0
                    out[i] = result
        return out


class EMA(Indicator):
    """Exponential moving average, alpha = 2 / (n + 1), seeded with the SMA of the first n
    values (the TA-Lib convention)."""

    __slots__ = ("_alpha", "_count", "_seed", "n")

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.n = n
        self._alpha = 2.0 / (n + 1)
        self._count = 0
        self._seed: list[float] = []

    def update(self, value: float) -> float:
        self.previous = self.value
        self._count += 1
        if self._count < self.n:
            self._seed.append(value)
            return NAN
        if self._count == self.n:
            self._seed.append(value)
            self.value = math.fsum(self._seed) / self.n
            self._seed = []
        else:
            self.value = self.value + self._alpha * (value - self.value)
        return self.value


class RSI(Indicator):
    """Wilder's relative strength index over ``n`` changes (needs n + 1 values)."""

    __slots__ = ("_avg_gain", "_avg_loss", "_count", "_gains", "_last", "_losses", "n")

    def __init__(self, n: int) -> None:
        super().__init__(n + 1)
        self.n = n
        self._last = NAN
        self._count = 0
        self._gains = 0.0
        self._losses = 0.0
        self._avg_gain = 0.0
        self._avg_loss = 0.0

    def update(self, value: float) -> float:
        self.previous = self.value
        last, self._last = self._last, value
        if last != last:
            return NAN
        change = value - last
        gain = change if change > 0 else 0.0
        loss = -change if change < 0 else 0.0
        self._count += 1
        n = self.n
        if self._count < n:
            self._gains += gain
            self._losses += loss
            return NAN
        if self._count == n:
            self._avg_gain = (self._gains + gain) / n
            self._avg_loss = (self._losses + loss) / n
        else:
            self._avg_gain = (self._avg_gain * (n - 1) + gain) / n
            self._avg_loss = (self._avg_loss * (n - 1) + loss) / n
        if self._avg_loss == 0:
            self.value = 100.0 if self._avg_gain > 0 else 50.0
        else:
            self.value = 100.0 - 100.0 / (1.0 + self._avg_gain / self._avg_loss)
        return self.value


class ATR(Indicator):
    """Wilder's average true range over ``n`` bars (the first bar's range is high - low)."""

    __slots__ = ("_count", "_prev_close", "_sum", "n")

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.n = n
        self._prev_close = NAN
        self._count = 0
        self._sum = 0.0

    def update(self, value: float) -> float:
        return self.update_bar(value, value, value)

    def update_bar(self, high: float, low: float, close: float) -> float:
        self.previous = self.value
        prev = self._prev_close
        self._prev_close = close
        true_range = (
            high - low if prev != prev else max(high - low, abs(high - prev), abs(low - prev))
        )
        self._count += 1
        n = self.n
        if self._count < n:
            self._sum += true_range
            return NAN
        if self._count == n:
            self.value = (self._sum + true_range) / n
        else:
            self.value = (self.value * (n - 1) + true_range) / n
        return self.value


class Bollinger(Indicator):
    """Bollinger bands: middle = SMA(n), upper/lower = middle +- k * population std dev."""

    __slots__ = ("_middle", "_window", "k", "lower", "n", "upper")

    def __init__(self, n: int, k: float = 2.0) -> None:
        super().__init__(n)
        self.n = n
        self.k = k
        self._middle = SMA(n)
        self._window: deque[float] = deque(maxlen=n)
        self.upper = NAN
        self.lower = NAN

    def update(self, value: float) -> float:
        self.previous = self.value
        self._window.append(value)
        middle = self._middle.update(value)
        if middle != middle:
            return NAN
        spread = math.sqrt(math.fsum((x - middle) ** 2 for x in self._window) / self.n)
        self.value = middle
        self.upper = middle + self.k * spread
        self.lower = middle - self.k * spread
        return middle


class Highest(Indicator):
    """Highest value of the last ``n`` values (the bar's high when fed bars)."""

    __slots__ = ("_window", "n")

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.n = n
        self._window: deque[float] = deque(maxlen=n)

    def update_bar(self, high: float, low: float, close: float) -> float:
        return self.update(high)

    def update(self, value: float) -> float:
        self.previous = self.value
        self._window.append(value)
        self.value = max(self._window) if len(self._window) == self.n else NAN
        return self.value


class Lowest(Highest):
    """Lowest value of the last ``n`` values (the bar's low when fed bars)."""

    __slots__ = ()

    def update_bar(self, high: float, low: float, close: float) -> float:
        return self.update(low)

    def update(self, value: float) -> float:
        self.previous = self.value
        self._window.append(value)
        self.value = min(self._window) if len(self._window) == self.n else NAN
        return self.value


class OfCloses(Indicator):
    """A custom indicator: ``fn(closes)`` of the last ``n`` closes (oldest first), NaN until
    ``n`` bars were seen (``Strategy.indicator(fn, n)``)."""

    __slots__ = ("_window", "fn")

    def __init__(self, fn: Callable[[list[float]], float], n: int) -> None:
        super().__init__(n)
        self.fn = fn
        self._window: deque[float] = deque(maxlen=n)

    def update(self, value: float) -> float:
        self.previous = self.value
        self._window.append(value)
        if len(self._window) == self.needed:
            self.value = float(self.fn(list(self._window)))
        return self.value


class OfBars(Indicator):
    """A custom indicator of whole bars: ``fn(open, high, low, close, volume)``, each the
    list of the last ``n`` values (oldest first), NaN until ``n`` bars were seen
    (``Strategy.indicator(fn, n, source="ohlcv")``)."""

    __slots__ = ("_columns", "fn")

    def __init__(self, fn: Callable[..., float], n: int) -> None:
        super().__init__(n)
        self.fn = fn
        self._columns: tuple[deque[float], ...] = tuple(deque(maxlen=n) for _ in range(5))

    def update(self, value: float) -> float:
        return self.update_ohlcv(value, value, value, value, 0.0)

    def update_ohlcv(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> float:
        self.previous = self.value
        for column, value in zip(self._columns, (open, high, low, close, volume), strict=True):
            column.append(value)
        if len(self._columns[3]) == self.needed:
            self.value = float(self.fn(*(list(column) for column in self._columns)))
        return self.value


def crossing_bars(a: list[float], b: list[float]) -> list[int]:
    """The bars ``i`` on which ``crossover`` holds between the series ``a`` and ``b``
    either way (a above b or b above a), computed column-wise."""
    below = list(map(operator.lt, a, b))
    above = list(map(operator.gt, a, b))
    ups = map(operator.and_, below, above[1:])
    downs = map(operator.and_, above, below[1:])
    return list(itertools.compress(range(1, len(a)), map(operator.or_, ups, downs)))


def crossover(a: Indicator | float, b: Indicator | float) -> bool:
    """True when ``a`` was below ``b`` on the previous bar and is above it now (strictly,
    as backtesting.py's ``crossover``); never true while either is NaN. A number stands
    for a constant level."""
    if isinstance(a, Indicator):
        a_prev, a_now = a.previous, a.value
    else:
        a_prev = a_now = a
    if isinstance(b, Indicator):
        return a_prev < b.previous and a_now > b.value
    return a_prev < b and a_now > b

"""Synthetic provider: a seeded random walk, the same bar for the same minute every time.

The local cloud's demo feed uses it so that paper orders fill at any hour. Each UTC
day's path is drawn from a generator seeded by (symbol, day), so re-running a
schedule rewrites identical bars.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from redfire_core.domain.bars import Bar, floor_to, resample

BASE_PRICES = {"GOOG": 175.0, "AAPL": 230.0, "MSFT": 420.0, "BTC-USD": 95000.0}
MINUTE_VOLATILITY = 0.0008


@functools.lru_cache(maxsize=64)
def _path(symbol: str, day: datetime) -> list[float]:
    """Closes of each minute of ``day`` (1,441 points: the open then 1,440 closes)."""
    seed = int.from_bytes(hashlib.sha256(f"{symbol}:{day.date()}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    price = BASE_PRICES.get(symbol, 100.0) * math.exp(rng.gauss(0, 0.01))
    closes = [price]
    for _ in range(1440):
        price *= math.exp(rng.gauss(0, MINUTE_VOLATILITY))
        closes.append(price)
    return closes


def _quantize(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def minute_bar(symbol: str, start: datetime) -> Bar:
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    index = int((start - day).total_seconds() // 60)
    closes = _path(symbol, day)
    open_, close = closes[index], closes[index + 1]
    rng = random.Random(f"{symbol}:{start.isoformat()}")
    wick = abs(close - open_) * rng.random() + open_ * MINUTE_VOLATILITY * rng.random() / 2
    return Bar(
        symbol=symbol,
        interval="1m",
        start=start,
        open=_quantize(open_),
        high=_quantize(max(open_, close) + wick),
        low=_quantize(min(open_, close) - wick),
        close=_quantize(close),
        volume=Decimal(rng.randint(100, 10_000)),
    )


def last_completed_bars(symbols: list[str], now: datetime, count: int = 1) -> list[Bar]:
    """The ``count`` most recent complete 1-minute bars of each symbol before ``now``."""
    current = now.astimezone(UTC).replace(second=0, microsecond=0)
    starts = [current - timedelta(minutes=n) for n in range(count, 0, -1)]
    return [minute_bar(symbol, start) for symbol in symbols for start in starts]


class SyntheticProvider:
    """The seeded random walk as a provider: 1-minute bars, resampled for coarser intervals."""

    def fetch(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Bar]:
        first = floor_to(start, "1m")
        count = int((end - first).total_seconds() // 60)
        minutes = [minute_bar(symbol, first + timedelta(minutes=n)) for n in range(count)]
        bars = minutes if interval == "1m" else resample(minutes, interval)
        return [b for b in bars if start <= b.start and b.end <= end]

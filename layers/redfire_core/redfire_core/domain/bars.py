"""Bars: validation, the interval grid, resampling and gaps against a trading calendar.

Pure: no I/O and no clock; every moment is an aware UTC ``datetime``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from redfire_core.domain.money import ascii_decimal

INTERVALS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
}
# Weeks start on Monday 00:00 UTC; 1970-01-05 was a Monday.
WEEK_ORIGIN = datetime(1970, 1, 5, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The last bar start whose end (start + the longest interval) a datetime can hold.
LATEST_START = datetime(9999, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Bar:
    """One OHLCV bar of ``symbol`` at ``interval``; ``start`` is its first instant (UTC).

    The one bar of the core: storage, ingest, the API and matching use it (matching also
    gets the aggregate of a batch of bars a ``MarketDataUpdated`` reports: ``until`` is
    then the end of its last bar). Strategies see floats (``strategies.Bar``) and the
    backtester keeps columns (``backtest.data.BarData``), both for speed.
    """

    symbol: str
    interval: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    until: datetime | None = field(default=None, kw_only=True)  # an aggregate's end

    @property
    def end(self) -> datetime:
        return self.until or self.start + INTERVALS[self.interval]

    def same_values(self, other: Bar) -> bool:
        return (self.open, self.high, self.low, self.close, self.volume) == (
            other.open,
            other.high,
            other.low,
            other.close,
            other.volume,
        )


@dataclass(frozen=True)
class Rejection:
    """A bar that was not stored and why; kept in the ingest job's report."""

    bar: dict[str, str]
    reason: str


def floor_to(moment: datetime, interval: str) -> datetime:
    """Start of the ``interval`` bar that contains ``moment``."""
    step = INTERVALS[interval]
    origin = WEEK_ORIGIN if interval == "1w" else EPOCH
    moment = moment.astimezone(UTC)
    return origin + ((moment - origin) // step) * step


def on_grid(moment: datetime, interval: str) -> bool:
    return floor_to(moment, interval) == moment


def to_decimal(value: object) -> Decimal:
    """A finite decimal from a string or number; ValueError for NaN, infinities and junk."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    try:
        number = ascii_decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value} is not a finite number")
    return number


def rejection_reason(bar: Bar) -> str | None:
    """Why ``bar`` cannot be stored, or None when it is valid."""
    if bar.interval not in INTERVALS:
        return f"unknown interval {bar.interval!r}"
    if bar.start.tzinfo is None:
        return "timestamp has no time zone"
    if bar.start > LATEST_START:  # its end (and any later bar) is past year 9999
        return f"timestamp {bar.start.isoformat()} is out of range"
    for name in ("open", "high", "low", "close", "volume"):
        value: Decimal = getattr(bar, name)
        if not value.is_finite():
            return f"{name} is not a finite number"
    if not on_grid(bar.start, bar.interval):
        return f"timestamp {bar.start.isoformat()} is not on the {bar.interval} grid"
    if min(bar.open, bar.high, bar.low, bar.close) <= 0:
        return "prices must be greater than zero"
    if bar.high < max(bar.open, bar.close):
        return "high is below open or close"
    if bar.low > min(bar.open, bar.close):
        return "low is above open or close"
    if bar.volume < 0:
        return "volume is negative"
    return None


def split_valid(bars: Iterable[Bar]) -> tuple[list[Bar], list[Rejection]]:
    """Valid bars (a later duplicate of a start wins) and the rejected ones with reasons."""
    valid: dict[tuple[str, str, datetime], Bar] = {}
    rejected: list[Rejection] = []
    for bar in bars:
        reason = rejection_reason(bar)
        if reason is None:
            valid[(bar.symbol, bar.interval, bar.start)] = bar
        else:
            rejected.append(Rejection(bar_document(bar), reason))
    return sorted(valid.values(), key=lambda b: (b.symbol, b.interval, b.start)), rejected


def bar_document(bar: Bar) -> dict[str, str]:
    """The API/JSON shape of a bar: ISO start and decimal strings."""
    return {
        "timestamp": bar.start.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if bar.start.tzinfo
        else bar.start.isoformat(),
        "open": format(bar.open, "f"),
        "high": format(bar.high, "f"),
        "low": format(bar.low, "f"),
        "close": format(bar.close, "f"),
        "volume": format(bar.volume, "f"),
    }


def resample(bars: Sequence[Bar], interval: str) -> list[Bar]:
    """Aggregate bars (oldest first, one finer interval) into ``interval`` bars.

    Open of the first, close of the last, max high, min low, summed volume; a bar's
    timestamp is its start; weeks start Monday 00:00 UTC.
    """
    out: list[Bar] = []
    group: list[Bar] = []
    group_start: datetime | None = None
    for bar in bars:
        start = floor_to(bar.start, interval)
        if group and start != group_start:
            out.append(_merge(group, interval, group_start))  # type: ignore[arg-type]
            group = []
        group_start = start
        group.append(bar)
    if group:
        out.append(_merge(group, interval, group_start))  # type: ignore[arg-type]
    return out


def _merge(group: list[Bar], interval: str, start: datetime) -> Bar:
    return Bar(
        symbol=group[0].symbol,
        interval=interval,
        start=start,
        open=group[0].open,
        high=max(b.high for b in group),
        low=min(b.low for b in group),
        close=group[-1].close,
        volume=sum((b.volume for b in group), Decimal(0)),
    )


def can_resample(source: str, target: str) -> bool:
    """True when every ``target`` bar is a whole number of ``source`` bars."""
    step, wanted = INTERVALS[source], INTERVALS[target]
    return wanted >= step and wanted % step == timedelta(0)


def trading_day(day: datetime, calendar: str) -> bool:
    """Whether the UTC day holds bars on ``calendar`` ("24/7" or "weekdays")."""
    return calendar == "24/7" or day.weekday() < 5


def expected_starts(
    calendar: str, interval: str, start: datetime, end: datetime
) -> Iterator[datetime]:
    """Bar starts in [start, end) that the calendar expects to hold a bar."""
    step = INTERVALS[interval]
    moment = floor_to(start, interval)
    if moment < start:
        moment += step
    while moment < end:
        if interval == "1w" or trading_day(moment, calendar):
            yield moment
        moment += step


@dataclass(frozen=True)
class Gap:
    """Missing bars: [start, end) of consecutive expected starts with no bar."""

    start: datetime
    end: datetime


def find_gaps(
    stored: Iterable[datetime],
    calendar: str,
    interval: str,
    start: datetime,
    end: datetime,
    confirmed_empty: Iterable[Gap] = (),
) -> list[Gap]:
    """Ranges the calendar expects bars in but the store has none, minus confirmed-empty ones."""
    have = set(stored)
    empty = list(confirmed_empty)
    step = INTERVALS[interval]
    gaps: list[Gap] = []
    run: list[datetime] = []  # consecutive missing starts of the open gap
    for moment in expected_starts(calendar, interval, start, end):
        missing = moment not in have and not any(g.start <= moment < g.end for g in empty)
        if run and (not missing or moment - run[-1] != step):
            gaps.append(Gap(run[0], run[-1] + step))
            run = []
        if missing:
            run.append(moment)
    if run:
        gaps.append(Gap(run[0], run[-1] + step))
    return gaps

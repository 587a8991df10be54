"""Bars for a backtest: columns of floats, validated once, loaded from CSV without pandas.

The CSV is OHLCV with the timestamp in the first column (its header may be empty) and
Open/High/Low/Close[/Volume] headers in any case, as backtesting.py's bundled files are.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import operator
from array import array
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from redfire_core.domain.bars import Bar as StoredBar

_T = TypeVar("_T")

_BLOCK = 1 << 18  # characters of CSV split at a time (256 KiB: fewer page faults than 1 MiB)


class DataError(ValueError):
    """Bad bar data; the message names the problem (and the row, when there is one)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class BarData:
    """Columns of one symbol's bars, sorted strictly by time."""

    __slots__ = ("_derived", "_digest", "close", "high", "low", "open", "times", "volume")

    def __init__(
        self,
        times: Sequence[datetime],
        open: Sequence[float],
        high: Sequence[float],
        low: Sequence[float],
        close: Sequence[float],
        volume: Sequence[float] | None = None,
    ) -> None:
        self.times = list(times)
        self.open = list(map(float, open))
        self.high = list(map(float, high))
        self.low = list(map(float, low))
        self.close = list(map(float, close))
        self.volume = list(map(float, volume)) if volume is not None else [0.0] * len(times)
        self._digest: str | None = None
        self._derived: dict[Hashable, Any] = {}
        self._validate()

    @classmethod
    def of_floats(
        cls,
        times: list[datetime],
        open: list[float],
        high: list[float],
        low: list[float],
        close: list[float],
        volume: list[float] | None = None,
    ) -> BarData:
        """From lists that already hold floats (a reader's own columns), taken as they are
        and validated as ``BarData(...)`` validates."""
        bars = cls.__new__(cls)
        bars.times, bars.open, bars.high, bars.low, bars.close = times, open, high, low, close
        bars.volume = volume if volume is not None else [0.0] * len(times)
        bars._digest = None
        bars._derived = {}
        bars._validate()
        return bars

    @classmethod
    def of_bars(cls, bars: Sequence[StoredBar]) -> BarData:
        """The core's bars (``domain.bars.Bar``, Decimals) as the engine's float columns:
        the columns stay for speed, this is the one way a stored bar becomes them."""
        return cls(
            [b.start for b in bars],
            [float(b.open) for b in bars],
            [float(b.high) for b in bars],
            [float(b.low) for b in bars],
            [float(b.close) for b in bars],
            [float(b.volume) for b in bars],
        )

    def _validate(self) -> None:
        lengths = {len(self.times), len(self.open), len(self.high), len(self.low)}
        lengths |= {len(self.close), len(self.volume)}
        if len(lengths) != 1:
            raise DataError("DATA_INVALID", "the bar columns have different lengths")
        if not self.times:
            raise DataError("DATA_EMPTY", "no bars")
        stamps = self.times
        if not all(map(operator.lt, stamps, itertools.islice(stamps, 1, None))):
            i = next(i for i in range(1, len(stamps)) if stamps[i] <= stamps[i - 1])
            problem = "duplicate" if stamps[i] == stamps[i - 1] else "unsorted"
            raise DataError(
                f"DATA_{problem.upper()}_TIMESTAMPS",
                f"{problem} timestamp {stamps[i].isoformat()} at bar {i + 1}",
            )
        for column in (self.open, self.high, self.low, self.close):
            # min() skips a NaN that is not first, the sum does not: both hold only for
            # positive finite prices (or a sum that overflowed, settled value by value).
            if min(column) > 0 and sum(column) < math.inf:
                continue
            bad = next(((i, v) for i, v in enumerate(column) if not 0 < v < math.inf), None)
            if bad is not None:
                i, value = bad
                raise DataError(
                    "DATA_INVALID_PRICE", f"price {value!r} at bar {i + 1} is not positive"
                )

    def derived(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """``compute()``, kept under ``key`` for these bars: a series derived from them
        (an SMA of the closes) is computed once for every run of a sweep. Read-only."""
        try:
            return self._derived[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._derived[key] = compute()
            return value

    def __len__(self) -> int:
        return len(self.times)

    def content_hash(self) -> str:
        """SHA-256 of the bars' times and values (for reproducibility hashes); computed
        once (a sweep hashes the same bars for every combination)."""
        if self._digest is None:
            digest = hashlib.sha256()
            digest.update(array("d", map(datetime.timestamp, self.times)).tobytes())
            for column in (self.open, self.high, self.low, self.close, self.volume):
                digest.update(array("d", column).tobytes())
            self._digest = digest.hexdigest()
        return self._digest


def parse_time(text: str) -> datetime:
    """ISO 8601 (date or date-time; naive means UTC) or epoch seconds / milliseconds."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"unreadable timestamp {text!r}") from None
        if number > 1e11:  # milliseconds
            number /= 1000
        try:
            return datetime.fromtimestamp(number, UTC)
        except (OverflowError, OSError):  # past what the platform's time functions take
            raise ValueError(f"timestamp {text[:32]} is out of range") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def load_csv(path: str | Path) -> BarData:
    """Read an OHLCV CSV file into validated columns."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
        if '"' not in text:  # plain CSV: split by hand, column-wise (much faster)
            fast = _read_plain(text)
            if fast is not None:
                return fast
        import csv  # lazy: quoted or unusual files only; the plain path does without it

        return read_rows(csv.reader(text.splitlines()))
    except OSError as exc:
        raise DataError("DATA_UNREADABLE", f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DataError("DATA_UNREADABLE", f"{path} is not a text CSV file") from None


def read_rows(rows: Iterable[list[str]]) -> BarData:
    iterator = iter(rows)
    header = next(iterator, None)
    if not header:
        raise DataError("DATA_EMPTY", "the CSV file is empty")
    names = [name.strip().lower() for name in header]
    missing = [c for c in ("open", "high", "low", "close") if c not in names[1:]]
    if missing:
        raise DataError(
            "DATA_MISSING_COLUMNS",
            f"the CSV has no {', '.join(m.capitalize() for m in missing)} column"
            f"{'s' if len(missing) > 1 else ''} (found: {', '.join(h for h in header if h)})",
        )
    o, h, lo, c = (names.index(x) for x in ("open", "high", "low", "close"))
    v = names.index("volume") if "volume" in names[1:] else -1
    times: list[datetime] = []
    opens: list[float] = []
    highs: list[float] = []
    lows: list[float] = []
    closes: list[float] = []
    volumes: list[float] = []
    line = 1
    try:
        for line, row in enumerate(iterator, 2):  # noqa: B007 - the line names errors
            if not row:
                continue
            times.append(parse_time(row[0]))
            opens.append(float(row[o]))
            highs.append(float(row[h]))
            lows.append(float(row[lo]))
            closes.append(float(row[c]))
            volumes.append(float(row[v]) if v >= 0 and row[v] != "" else 0.0)
    except (ValueError, IndexError) as exc:
        raise DataError("DATA_INVALID", f"line {line}: {exc}") from None
    try:
        return BarData(times, opens, highs, lows, closes, volumes)
    except DataError as exc:
        if "at bar " in str(exc):  # bar k is on line k + 1
            head, _, tail = str(exc).rpartition("at bar ")
            bar, _, rest = tail.partition(" ")
            message = f"{head}on line {int(bar) + 1}{' ' if rest else ''}{rest}"
            raise DataError(exc.code, message) from None
        raise


def _read_plain(text: str) -> BarData | None:
    """The common case in bulk, column by column; None when anything is unusual, and
    ``read_rows`` then reads row by row and names the line at fault. Read in blocks of
    lines, so the texts of one block are freed before the next is split."""
    if "\r" in text:
        text = text.replace("\r", "")
    start = text.find("\n") + 1
    names = [name.strip().lower() for name in text[: start - 1 if start else None].split(",")]
    if not start or not all(c in names[1:] for c in ("open", "high", "low", "close")):
        return None
    end = len(text)
    while end > start and text[end - 1] == "\n":
        end -= 1
    while start < end and text[start] == "\n":
        start += 1
    if start == end or text.find("\n\n", start, end) != -1:
        return None
    width = len(names)
    columns = [names.index(name) for name in ("open", "high", "low", "close")]
    if "volume" in names[1:]:
        columns.append(names.index("volume"))
    times: list[datetime] = []
    values: list[list[float]] = [[] for _ in columns]
    try:
        while start < end:
            stop = text.find("\n", min(start + _BLOCK, end), end)
            stop = end if stop < 0 else stop
            block = text[start:stop]
            flat = block.replace("\n", ",").split(",")
            if len(flat) != (block.count("\n") + 1) * width:
                return None
            times += map(datetime.fromisoformat, map("{}+00:00".format, flat[0::width]))
            for column, index in zip(values, columns, strict=True):
                column += _floats(flat[index::width])
            start = stop + 1
        if times[0].tzinfo is None:  # date-only stamps ignore the suffix: still UTC
            times = [t.replace(tzinfo=UTC) for t in times]
        opens, highs, lows, closes = values[:4]
        volume = values[4] if len(values) > 4 else None
        return BarData.of_floats(times, opens, highs, lows, closes, volume)
    except (ValueError, TypeError):  # includes DataError; an offset in a stamp, etc.
        return None


def _floats(texts: list[str]) -> list[float]:
    """``float`` of each text; a column of few distinct texts (volumes in whole units)
    converts each distinct text once."""
    if len(texts) > 4096 and len(set(texts[:2048])) < 512:
        distinct = list(dict.fromkeys(texts))
        if len(distinct) * 4 < len(texts):
            table = dict(zip(distinct, map(float, distinct), strict=True))
            return list(map(table.__getitem__, texts))
    return list(map(float, texts))

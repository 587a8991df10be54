"""``self.data``: the bars a strategy has seen so far, as columns (``data.close[-20:]``,
``data.high[-1]``), up to and including the bar being handled; never a later one.

The columns are views over the runner's arrays bounded by the current bar, so reading
them costs what is read, not the length of the run. A live instance keeps the last
``Strategy.history`` bars (at least what its indicators need)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar, overload

T = TypeVar("T")


class Column(Sequence[T], Generic[T]):
    """One column up to the current bar: indexes and slices as a list would."""

    __slots__ = ("_end", "_values")

    def __init__(self, values: Sequence[T], end: Callable[[], int]) -> None:
        self._values = values
        self._end = end

    def __len__(self) -> int:
        return self._end()

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        size = self._end()
        if isinstance(index, slice):
            return [self._values[i] for i in range(*index.indices(size))]
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError("no such bar yet")
        return self._values[position]


class PriceHistory:
    """``time``, ``open``, ``high``, ``low``, ``close``, ``volume`` columns."""

    __slots__ = ("close", "high", "low", "open", "time", "volume")

    def __init__(
        self,
        time: Sequence[datetime],
        open: Sequence[float],
        high: Sequence[float],
        low: Sequence[float],
        close: Sequence[float],
        volume: Sequence[float],
        end: Callable[[], int],
    ) -> None:
        self.time: Column[datetime] = Column(time, end)
        self.open: Column[float] = Column(open, end)
        self.high: Column[float] = Column(high, end)
        self.low: Column[float] = Column(low, end)
        self.close: Column[float] = Column(close, end)
        self.volume: Column[float] = Column(volume, end)

    def __len__(self) -> int:
        return len(self.close)


def empty_history() -> PriceHistory:
    return PriceHistory([], [], [], [], [], [], lambda: 0)

"""Strategies for tests, registered by name for the duration of a test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from redfire_core.strategies import Bar, Strategy
from redfire_core.strategies.builtin import BUILT_IN

CRASH_AT = 30


@contextmanager
def registered_strategy(*classes: type[Strategy]) -> Iterator[None]:
    """Make ``classes`` resolvable by name (as a plug-in's entry point would)."""
    for cls in classes:
        BUILT_IN[cls.name] = cls
    try:
        yield
    finally:
        for cls in classes:
            del BUILT_IN[cls.name]


class Crashing(Strategy):
    """Trend-follows with an SMA of ``trend`` bars, and divides by zero on bar ``crash_at``."""

    name: ClassVar[str] = "test_crashing"
    parameters: ClassVar[dict[str, Any]] = {"trend": 5, "crash_at": CRASH_AT}

    def on_start(self) -> None:
        self.average = self.sma(self.params["trend"])

    def on_bar(self, bar: Bar) -> None:
        if bar.index == self.params["crash_at"]:
            print(1 / 0)
        if self.position <= 0 and bar.close > self.average.value:
            self.buy(1)

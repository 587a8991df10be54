"""Market data providers behind one port, found through the ``redfire.providers`` entry points.

The built-in providers work without installed package metadata (as in the Lambda layer);
a provider in another package registers under the same entry point group.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import entry_points
from typing import Protocol

from redfire_core.domain.bars import Bar

ENTRY_POINT_GROUP = "redfire.providers"
BUILT_IN: dict[str, str] = {
    "synthetic": "redfire_core.providers.synthetic:SyntheticProvider",
    "binance": "redfire_core.providers.klines:BinanceKlinesProvider",
}


class ProviderError(Exception):
    """A provider could not answer; ``retryable`` for throttling and server errors."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Provider(Protocol):
    """Pulls bars of one series over a range: [start, end), oldest first."""

    def fetch(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Bar]: ...


def _load(target: str) -> Callable[[], Provider]:
    module, _, attribute = target.partition(":")
    factory: Callable[[], Provider] = getattr(importlib.import_module(module), attribute)
    return factory


def provider_names() -> list[str]:
    names = set(BUILT_IN)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def provider_named(name: str) -> Provider:
    """The provider registered as ``name``; KeyError when none is."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            factory: Callable[[], Provider] = ep.load()
            return factory()
    if name in BUILT_IN:
        return _load(BUILT_IN[name])()
    raise KeyError(name)

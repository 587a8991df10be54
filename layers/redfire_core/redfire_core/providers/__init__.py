"""Market data providers behind one port, found through the ``redfire.providers`` entry points.

The built-in providers work without installed package metadata (as in the Lambda layer);
a provider in another package registers under the same entry point group.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import EntryPoint, entry_points
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


def _shadows(entry_point: EntryPoint) -> bool:
    """True for a plug-in's entry point named like a built-in provider (RedFire's own
    registration of the built-in one excepted): it is refused, the built-in one serves."""
    return entry_point.name in BUILT_IN and entry_point.value != BUILT_IN[entry_point.name]


def refused_providers() -> list[dict[str, str]]:
    """Plug-in providers that are not used: named like a built-in provider."""
    return [
        {
            "name": ep.name,
            "distribution": ep.dist.name if ep.dist else ep.value,
            "reason": "PROVIDER_NAME_TAKEN: named like a built-in provider; rename it",
        }
        for ep in entry_points(group=ENTRY_POINT_GROUP)
        if _shadows(ep)
    ]


def provider_named(name: str) -> Provider:
    """The provider registered as ``name``; KeyError when none is. A built-in name always
    gets the built-in provider (a plug-in named like one is refused, ``refused_providers``);
    a name not found rescans once with fresh import caches, so a plug-in installed while the
    local cloud runs is found without a restart."""
    if name in BUILT_IN:
        return _load(BUILT_IN[name])()
    for attempt in range(2):
        if attempt:
            importlib.invalidate_caches()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == name:
                factory: Callable[[], Provider] = ep.load()
                return factory()
    raise KeyError(name)

"""Strategies: the API, the bundled ones, and lookup through the ``redfire.strategies``
entry point group (a class deriving from ``Strategy``). The bundled strategies work
without installed metadata, as in the Lambda layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redfire_core.domain.errors import DomainError
from redfire_core.strategies.base import (
    ALL_EQUITY,
    Bar,
    Broker,
    Fill,
    Strategy,
    StrategyError,
    StrategyOrder,
)
from redfire_core.strategies.builtin import BUILT_IN
from redfire_core.strategies.indicators import crossover

ENTRY_POINT_GROUP = "redfire.strategies"

__all__ = [
    "ALL_EQUITY",
    "ENTRY_POINT_GROUP",
    "Bar",
    "Broker",
    "Fill",
    "Strategy",
    "StrategyError",
    "StrategyOrder",
    "available_strategies",
    "crossover",
    "resolve_strategy",
    "strategy_named",
]


def entry_points(group: str) -> Any:
    """The installed entry points of ``group`` (importlib.metadata imported on first use:
    the bundled strategies do not need it)."""
    from importlib.metadata import entry_points as installed  # lazy: plug-ins only

    return installed(group=group)


def available_strategies() -> list[str]:
    names = set(BUILT_IN)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def strategy_named(name: str) -> type[Strategy]:
    """The strategy class registered as ``name`` (bundled names first: no metadata scan)."""
    if name in BUILT_IN:
        return BUILT_IN[name]
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            loaded = entry_point.load()
            if isinstance(loaded, type) and issubclass(loaded, Strategy):
                return loaded
            raise StrategyError(
                "STRATEGY_UNKNOWN", f"entry point {name!r} is not a Strategy subclass"
            )
    raise StrategyError(
        "STRATEGY_UNKNOWN",
        f"unknown strategy {name!r} (available: {', '.join(available_strategies())})",
    )


def resolve_strategy(name: str, params: Mapping[str, Any]) -> tuple[type[Strategy], dict[str, Any]]:
    """The strategy class and its resolved parameters for a request (backtest or live
    instance); a DomainError (422) naming the field at fault otherwise."""

    try:
        strategy_class = strategy_named(name)
    except StrategyError as error:
        raise DomainError(error.code, str(error), "strategy") from None
    try:
        resolved = strategy_class.resolve_parameters(params)
    except StrategyError as error:
        raise DomainError(error.code, str(error), "params") from None
    return strategy_class, resolved

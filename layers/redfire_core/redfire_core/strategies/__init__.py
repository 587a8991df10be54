"""Strategies: the API, the bundled ones, and lookup through the ``redfire.strategies``
entry point group (a class deriving from ``Strategy``). The bundled strategies work
without installed metadata, as in the Lambda layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redfire_core.strategies.base import (
    ALL_EQUITY,
    Bar,
    Broker,
    Fill,
    Strategy,
    StrategyError,
    StrategyFailed,
    StrategyOrder,
    guard_hooks,
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
    "StrategyFailed",
    "StrategyOrder",
    "available_strategies",
    "crossover",
    "guard_hooks",
    "probe",
    "resolve_strategy",
    "strategy_named",
]


def entry_points(group: str) -> Any:
    """The installed entry points of ``group`` (importlib.metadata imported on first use:
    the bundled strategies do not need it)."""
    from importlib.metadata import entry_points as installed

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
                from redfire_core.strategies.code import remember

                dist = getattr(entry_point, "dist", None)  # None: not from a distribution
                remember(loaded, dist.name if dist else None, dist.version if dist else None)
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
    from redfire_core.domain.errors import DomainError

    try:
        strategy_class = strategy_named(name)
    except StrategyError as error:
        raise DomainError(error.code, str(error), "strategy") from None
    try:
        resolved = strategy_class.resolve_parameters(params)
        probe(strategy_class, resolved)
    except StrategyError as error:
        raise DomainError(error.code, str(error), "params") from None
    return strategy_class, resolved


class _ProbeBroker:
    """A broker with no account behind it: enough for ``on_start``."""

    position = 0.0
    equity = 0.0
    bar_index = 0

    @property
    def orders(self) -> list[StrategyOrder]:
        return []

    def submit(self, order: StrategyOrder) -> StrategyOrder:
        return order

    def cancel(self, order: StrategyOrder) -> None:
        """Nothing to cancel."""


def probe(strategy_class: type[Strategy], params: Mapping[str, Any]) -> None:
    """Check that the strategy starts with ``params`` (its indicators accept them), so a
    bad value is refused before anything is queued: StrategyError otherwise."""
    try:
        strategy_class(_ProbeBroker(), params, {}).on_start()
    except StrategyError:
        raise
    except ValueError as error:  # e.g. an indicator period below 1
        raise StrategyError("STRATEGY_INVALID_PARAMETER", str(error)) from None

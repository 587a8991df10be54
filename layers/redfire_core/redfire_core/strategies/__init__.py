"""Strategies: the API, the bundled ones, and lookup through the ``redfire.strategies``
entry point group (a class deriving from ``Strategy``). The bundled strategies work
without installed metadata, as in the Lambda layer."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from redfire_core.domain.errors import DomainError
from redfire_core.strategies.base import (
    ALL_EQUITY,
    DEFAULT_BOUND,
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
from redfire_core.strategies.code import remember
from redfire_core.strategies.history import PriceHistory, empty_history
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
    "catalog",
    "crossover",
    "guard_hooks",
    "probe",
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
    """The strategy class registered as ``name`` (bundled names first: no metadata scan;
    a plug-in named like a bundled strategy is refused, see ``catalog``). A name not
    found rescans once with fresh import caches, so a plug-in installed while the local
    cloud runs is found without a restart."""
    if name in BUILT_IN:
        return BUILT_IN[name]
    found = _plugin_named(name)
    if found is None:
        importlib.invalidate_caches()
        found = _plugin_named(name)
    if found is not None:
        return found
    raise StrategyError(
        "STRATEGY_UNKNOWN",
        f"unknown strategy {name!r} (available: {', '.join(available_strategies())})",
    )


def _plugin_named(name: str) -> type[Strategy] | None:
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            loaded = entry_point.load()
            if isinstance(loaded, type) and issubclass(loaded, Strategy):
                dist = getattr(entry_point, "dist", None)  # None: not from a distribution
                remember(loaded, dist.name if dist else None, dist.version if dist else None)
                return loaded
            raise StrategyError(
                "STRATEGY_UNKNOWN", f"entry point {name!r} is not a Strategy subclass"
            )
    return None


def catalog() -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Every strategy with its parameter schema (bundled first, then plug-ins by name),
    and the plug-ins refused: named like a bundled strategy, or failing to load."""
    items = [_described(cls, "redfire", "bundled") for cls in BUILT_IN.values()]
    refused: list[dict[str, str]] = []
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(entry_point, "dist", None)
        source = dist.name if dist else entry_point.value
        version = dist.version if dist else ""
        if entry_point.name in BUILT_IN:
            if (
                BUILT_IN[entry_point.name].__module__
                + ":"
                + BUILT_IN[entry_point.name].__qualname__
                == entry_point.value
            ):
                continue  # RedFire's own registration of its bundled strategy
            refused.append(
                {
                    "name": entry_point.name,
                    "distribution": source,
                    "reason": "STRATEGY_NAME_TAKEN: named like a bundled strategy; rename it",
                }
            )
            continue
        try:
            items.append(_described(strategy_named(entry_point.name), source, version))
        except (StrategyError, ImportError, AttributeError) as error:
            refused.append({"name": entry_point.name, "distribution": source, "reason": str(error)})
    return items, refused


def _described(cls: type[Strategy], distribution: str, version: str) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for key, default in cls.parameters.items():
        kind = {bool: "boolean", int: "integer", float: "number"}.get(type(default), "string")
        schema: dict[str, Any] = {"type": kind, "default": default}
        if kind in ("integer", "number"):
            lowest, highest = cls.bounds.get(key, (-DEFAULT_BOUND, DEFAULT_BOUND))
            schema.update(minimum=lowest, maximum=highest)
        parameters[key] = schema
    doc = (cls.__doc__ or "").strip()
    return {
        "name": cls.name,
        "description": " ".join(doc.split("\n\n")[0].split()),
        "distribution": distribution,
        "version": version,
        "parameters": parameters,
    }


def resolve_strategy(name: str, params: Mapping[str, Any]) -> tuple[type[Strategy], dict[str, Any]]:
    """The strategy class and its resolved parameters for a request (backtest or live
    instance); a DomainError (422) naming the field at fault otherwise."""

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
    position_cost = 0.0
    last_price = 0.0

    @property
    def history(self) -> PriceHistory:
        return empty_history()

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

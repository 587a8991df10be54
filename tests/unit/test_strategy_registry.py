"""Strategies are found through the ``redfire.strategies`` entry point group; the bundled
ones also without installed metadata (as in the Lambda layer)."""

from __future__ import annotations

from importlib import metadata
from typing import Any, ClassVar

import pytest

from redfire_core import strategies
from redfire_core.strategies import Strategy, StrategyError, available_strategies, strategy_named

BUNDLED = {"sma_cross", "rsi_reversion", "breakout"}


def test_the_bundled_strategies_are_registered_as_entry_points() -> None:
    names = {ep.name for ep in metadata.entry_points(group="redfire.strategies")}
    assert names >= BUNDLED


def test_bundled_strategies_work_without_installed_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(strategies, "entry_points", lambda group: [])
    assert set(available_strategies()) == BUNDLED
    assert strategy_named("sma_cross").name == "sma_cross"


def test_a_plug_in_strategy_is_loaded_from_its_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Mine(Strategy):
        name: ClassVar[str] = "mine"
        parameters: ClassVar[dict[str, Any]] = {"n": 3}

    class FakeEntryPoint:
        name = "mine"

        def load(self) -> type[Strategy]:
            return Mine

    monkeypatch.setattr(strategies, "entry_points", lambda group: [FakeEntryPoint()])
    assert strategy_named("mine") is Mine
    assert "mine" in available_strategies()


def test_an_unknown_strategy_names_the_available_ones() -> None:
    with pytest.raises(StrategyError, match=r"unknown strategy 'x'.*sma_cross"):
        strategy_named("x")


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_every_bundled_parameter_is_bounded_and_its_default_lies_within(name: str) -> None:
    strategy = strategy_named(name)
    numeric = {k for k, v in strategy.parameters.items() if isinstance(v, int | float)}

    assert set(strategy.bounds) == numeric
    for key, (lowest, highest) in strategy.bounds.items():
        assert lowest <= strategy.parameters[key] <= highest
        with pytest.raises(StrategyError, match=f"'{key}' must be between"):
            strategy.resolve_parameters({key: highest + 1})


def test_a_plug_in_without_declared_bounds_is_held_to_the_default_bound() -> None:
    class Unbounded(Strategy):
        name: ClassVar[str] = "unbounded"
        parameters: ClassVar[dict[str, Any]] = {"window": 5, "weight": 0.5}

    assert Unbounded.resolve_parameters({"window": 10**6})["window"] == 10**6
    for huge in (10**400, 1e308, "1e308", -1e300):
        with pytest.raises(StrategyError) as refused:
            Unbounded.resolve_parameters({"window": huge})
        assert refused.value.code == "STRATEGY_INVALID_PARAMETER"
        assert "'window'" in str(refused.value) and len(str(refused.value)) < 120

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

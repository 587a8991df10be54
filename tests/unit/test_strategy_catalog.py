"""The strategy catalog: bundled strategies and plug-ins with their parameter schemas; a
plug-in named like a bundled one is refused; one installed while the process runs is
found without a restart."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from redfire_core.strategies import catalog, strategy_named
from redfire_core.strategies.builtin import SmaCross

PLUGIN = '''
from redfire_core.strategies import Strategy


class Quiet(Strategy):
    """Does nothing, patiently."""

    name = "{name}"
    parameters = {{"patience": 3, "ratio": 0.5, "verbose": False}}
    bounds = {{"patience": (1, 10)}}
'''


def install(site: Path, distribution: str, name: str) -> None:
    """What ``pip install`` leaves in site-packages: the package and its metadata."""
    module = f"rf_{distribution.replace('-', '_')}"
    (site / module).mkdir()
    (site / module / "__init__.py").write_text(PLUGIN.format(name=name))
    dist = site / f"{module}-0.3.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.3.0\n")
    (dist / "entry_points.txt").write_text(f"[redfire.strategies]\n{name} = {module}:Quiet\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("rf_")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_the_bundled_strategies_are_listed_with_their_parameter_schemas() -> None:
    items, refused = catalog()
    sma = next(item for item in items if item["name"] == "sma_cross")
    assert sma["distribution"] == "redfire"
    assert sma["description"].startswith("When the fast SMA of closes crosses above")
    assert sma["parameters"]["fast"] == {"type": "integer", "default": 10, "minimum": 1,
                                         "maximum": 1000}  # fmt: skip
    assert refused == []


def test_a_plugin_named_like_a_bundled_strategy_is_refused(site: Path) -> None:
    install(site, "shadow-plugin", "sma_cross")
    importlib.invalidate_caches()

    items, refused = catalog()

    assert [r["name"] for r in refused] == ["sma_cross"]
    assert refused[0]["distribution"] == "shadow-plugin"
    assert "STRATEGY_NAME_TAKEN" in refused[0]["reason"]
    assert strategy_named("sma_cross") is SmaCross
    assert [i["name"] for i in items].count("sma_cross") == 1


def test_a_plugin_installed_while_running_is_found_and_described(site: Path) -> None:
    catalog()  # the process has scanned before the plug-in arrives
    install(site, "quiet-plugin", "quiet")

    strategy = strategy_named("quiet")

    assert strategy.name == "quiet"
    quiet = next(item for item in catalog()[0] if item["name"] == "quiet")
    assert (quiet["distribution"], quiet["version"]) == ("quiet-plugin", "0.3.0")
    assert quiet["parameters"] == {
        "patience": {"type": "integer", "default": 3, "minimum": 1, "maximum": 10},
        "ratio": {"type": "number", "default": 0.5, "minimum": -1e9, "maximum": 1e9},
        "verbose": {"type": "boolean", "default": False},
    }

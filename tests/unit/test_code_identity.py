"""The reproducibility hash covers the code actually loaded: the plug-in's distribution
and version, every file of its package (a constant in a helper module too), and a worker
refuses to serve results once the code on disk is no longer what it loaded."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import BacktestSettings, reproducibility_hash, run_backtest
from redfire_core.strategies import Strategy, StrategyError, strategy_named
from redfire_core.strategies.code import check_loaded, identity

STRATEGY = """
from redfire_core.strategies import Strategy
from rfplug.helpers import THRESHOLD


class Threshold(Strategy):
    name = "rf_test"

    def on_bar(self, bar):
        if self.position == 0 and bar.close > THRESHOLD:
            self.buy(1)
"""


Loader = Callable[[Path], type[Strategy]]


def write_plugin(root: Path, version: str, threshold: int) -> Path:
    package = root / "rfplug"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(f"THRESHOLD = {threshold}\n")
    (package / "strategy.py").write_text(STRATEGY)
    dist = root / f"rf_test_plugin-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: rf-test-plugin\nVersion: {version}\n"
    )
    (dist / "entry_points.txt").write_text(
        "[redfire.strategies]\nrf_test = rfplug.strategy:Threshold\n"
    )
    return root


def _forget() -> None:
    for name in [m for m in sys.modules if m == "rfplug" or m.startswith("rfplug.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Iterator[Loader]:
    def loader(root: Path) -> type[Strategy]:
        _forget()
        monkeypatch.setattr(sys, "path", [str(root), *[p for p in sys.path if "rfplug" not in p]])
        return strategy_named("rf_test")

    yield loader
    _forget()


def _data() -> BarData:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    closes = [100.0 + i % 5 for i in range(30)]
    return BarData(
        [start + timedelta(days=i) for i in range(30)],
        closes,
        [c + 1 for c in closes],
        [c - 1 for c in closes],
        closes,
        [1.0] * 30,
    )


def _hash(strategy: type[Strategy]) -> str:
    return reproducibility_hash(_data(), strategy, {}, BacktestSettings())


def test_a_constant_moved_to_a_helper_module_changes_the_hash(tmp_path: Path, load: Loader) -> None:
    first = load(write_plugin(tmp_path / "a", "1.0.0", 101))
    first_hash = _hash(first)
    second = load(write_plugin(tmp_path / "b", "1.0.0", 103))

    assert _hash(second) != first_hash
    assert run_backtest(first, _data()).trades != run_backtest(second, _data()).trades


def test_the_hash_names_the_plugins_distribution_and_version(tmp_path: Path, load: Loader) -> None:
    old = load(write_plugin(tmp_path / "a", "1.2.3", 101))
    old_hash = _hash(old)
    new = load(write_plugin(tmp_path / "b", "1.2.4", 101))

    assert (identity(old).distribution, identity(old).version) == ("rf-test-plugin", "1.2.3")
    assert identity(new).version == "1.2.4" and identity(new).digest == identity(old).digest
    assert _hash(new) != old_hash
    assert identity(new).redfire.startswith(identity(new).redfire.split("+")[0] + "+")


def test_a_worker_refuses_code_that_changed_since_it_loaded_it(
    tmp_path: Path, load: Loader
) -> None:
    strategy = load(write_plugin(tmp_path / "a", "1.0.0", 101))
    check_loaded(strategy)  # as loaded: fine

    (tmp_path / "a" / "rfplug" / "helpers.py").write_text("THRESHOLD = 50\n")

    with pytest.raises(StrategyError) as refused:
        check_loaded(strategy)
    assert refused.value.code == "STRATEGY_CODE_CHANGED"

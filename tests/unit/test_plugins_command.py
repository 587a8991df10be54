"""``redfire plugins`` lists the installed plug-ins and says, with exit 1, which ones RedFire
refuses: a strategy or provider named like a built-in one (the built-in one keeps the
name), or one that does not load."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from redfire_cli.main import main

STRATEGY = (
    "from redfire_core.strategies import Strategy\n\n\nclass Mine(Strategy):\n    name = 'mine'\n"
)
PROVIDER = "class Feed:\n    def fetch(self, symbol, interval, start, end):\n        return []\n"


def install(site: Path, distribution: str, group: str, name: str, source: str) -> None:
    module = f"rfc_{distribution.replace('-', '_')}"
    (site / module).mkdir()
    (site / module / "__init__.py").write_text(source)
    dist = site / f"{module}-2.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 2.0.0\n")
    attribute = "Mine" if group == "redfire.strategies" else "Feed"
    (dist / "entry_points.txt").write_text(f"[{group}]\n{name} = {module}:{attribute}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("rfc_")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_a_clean_set_of_plugins_is_listed_and_exits_0(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install(site, "my-strats", "redfire.strategies", "mine", STRATEGY)
    importlib.invalidate_caches()

    assert main(["plugins"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("strategy")]
    assert line.split() == ["strategy", "mine", "my-strats", "2.0.0", "ok"]


def test_a_plugin_named_like_a_built_in_provider_is_refused_with_exit_1(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install(site, "shadow-feed", "redfire.providers", "binance", PROVIDER)
    install(site, "broken-feed", "redfire.providers", "broken", "raise ImportError('no sdk')\n")
    importlib.invalidate_caches()

    assert main(["plugins"]) == 1
    out = capsys.readouterr().out
    assert "binance" in out and "PROVIDER_NAME_TAKEN" in out and "shadow-feed" in out
    assert "refused: does not load: ImportError: no sdk" in out

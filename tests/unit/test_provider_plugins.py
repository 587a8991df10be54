"""Provider plug-ins: one named like a built-in provider is refused (the built-in one
serves, the refusal names the distribution and the reason), and one installed while the
process runs (the local cloud) is found without a restart."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from redfire_core.providers import provider_named, refused_providers
from redfire_core.providers.synthetic import SyntheticProvider

PLUGIN = """
class Feed:
    def fetch(self, symbol, interval, start, end):
        return []
"""


def install(site: Path, distribution: str, name: str) -> None:
    """What ``pip install`` leaves in site-packages: the package and its metadata."""
    module = f"rfp_{distribution.replace('-', '_')}"
    (site / module).mkdir()
    (site / module / "__init__.py").write_text(PLUGIN)
    dist = site / f"{module}-1.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0.0\n")
    (dist / "entry_points.txt").write_text(f"[redfire.providers]\n{name} = {module}:Feed\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("rfp_")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_a_plugin_named_like_a_built_in_provider_is_refused(site: Path) -> None:
    # Given a plug-in that registers itself as "synthetic"
    install(site, "shadow-feed", "synthetic")
    importlib.invalidate_caches()

    # When "synthetic" is asked for, then the built-in one answers
    assert isinstance(provider_named("synthetic"), SyntheticProvider)
    # and the plug-in is reported as refused, with its distribution and the reason
    assert refused_providers() == [
        {
            "name": "synthetic",
            "distribution": "shadow-feed",
            "reason": "PROVIDER_NAME_TAKEN: named like a built-in provider; rename it",
        }
    ]


def test_redfires_own_registrations_are_not_refused() -> None:
    assert refused_providers() == []


def test_a_provider_installed_while_running_is_found(site: Path) -> None:
    with pytest.raises(KeyError):
        provider_named("late_feed")  # the process has scanned before the plug-in arrives
    install(site, "late-feed", "late_feed")

    assert type(provider_named("late_feed")).__name__ == "Feed"

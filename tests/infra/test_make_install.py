"""``make install`` keeps installed plug-ins: its ``uv sync`` leaves alone what the lock does
not name (``--inexact``), so a plug-in installed into .venv survives a re-install. Runs the
Makefile's own sync line (``make -n``), offline, for a small project of no dependencies (the
flags are what matter) into a venv holding the fixture plug-in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.plugin_wheels import FIXTURE_PLUGINS, build_wheel

REPO_ROOT = Path(__file__).resolve().parents[2]
UV = REPO_ROOT / ".venv" / "bin" / "uv"

pytestmark = pytest.mark.slow

# The groups the Makefile's sync names, empty.
PROJECT = """
[project]
name = "host"
version = "0"
requires-python = ">=3.11"
dependencies = []

[dependency-groups]
dev = []
vectorbt = []
"""


def _sync_line(venv: Path) -> str:
    recipe = subprocess.run(
        ["make", "-n", "-B", "install", f"VENV={venv}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(line for line in recipe.splitlines() if " sync " in line)


def test_make_install_keeps_an_installed_plugin(tmp_path: Path) -> None:
    # Given a locked project and its venv holding a plug-in the lock does not name
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(PROJECT)
    venv = tmp_path / "venv"
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(venv),  # as the Makefile exports it
        "UV_OFFLINE": "1",
        "UV_LINK_MODE": "symlink",  # from the warm cache, without copying it
    }
    subprocess.run([UV, "lock", "--quiet"], cwd=project, env=env, check=True)
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, venv], env=env, check=True)
    (venv / "bin" / "uv").symlink_to(UV)
    wheel = build_wheel(FIXTURE_PLUGINS / "rf_meanrev", tmp_path / "wheels")
    install = [UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", wheel]
    subprocess.run(install, env=env, check=True)

    # When make install's sync runs
    subprocess.run(["bash", "-c", _sync_line(venv)], cwd=project, env=env, check=True)

    # Then the plug-in is still installed
    found = subprocess.run(
        [
            venv / "bin" / "python",
            "-c",
            "import importlib.metadata as m; print(m.version('rf-meanrev'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout.strip() == "0.1.0", found.stderr

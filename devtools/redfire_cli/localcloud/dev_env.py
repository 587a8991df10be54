"""The ``.redfire/`` folder of a working copy: ``dev.env`` while the cloud runs, and state.

``dev.env`` is ``KEY=VALUE`` lines, so ``set -a; . .redfire/dev.env`` works in a shell.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = ".redfire"


def folder(workdir: Path) -> Path:
    return workdir / FOLDER


def dev_env_path(workdir: Path) -> Path:
    return folder(workdir) / "dev.env"


def state_path(workdir: Path) -> Path:
    return folder(workdir) / "state.json"


def write(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    path.chmod(0o600)  # it holds a bearer token


def read(path: Path) -> dict[str, str]:
    """The variables of a dev.env file; empty when there is none."""
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        values[name.strip()] = value.strip().strip("'\"")
    return values

"""The ``.redfire/`` folder of a working copy: ``dev.env`` while the cloud runs, and state.

``dev.env`` is ``export KEY=VALUE`` lines, so ``source .redfire/dev.env`` hands the
variables to the programs the shell starts (curl, redfire, a test runner).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

FOLDER = ".redfire"


def folder(workdir: Path) -> Path:
    return workdir / FOLDER


def dev_env_path(workdir: Path) -> Path:
    return folder(workdir) / "dev.env"


def state_path(workdir: Path) -> Path:
    return folder(workdir) / "state.json"


def write(path: Path, values: dict[str, str]) -> None:
    """Write the variables, readable by the owner only: they include a bearer token."""
    lines = (f"export {name}={shlex.quote(value)}\n" for name, value in values.items())
    write_private(path, "".join(lines))


def write_private(path: Path, text: str) -> None:
    """Create or replace ``path`` with mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)  # in case it existed with a wider mode


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
        words = shlex.split(value.strip())  # undoes the quoting ``write`` did
        values[name.strip()] = words[0] if words else ""
    return values

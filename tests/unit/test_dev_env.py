"""``.redfire/dev.env`` is usable with ``source``: child processes see its variables."""

from __future__ import annotations

import subprocess
from pathlib import Path

from redfire_cli.localcloud import dev_env


def test_sourcing_dev_env_exports_the_variables_to_child_processes(tmp_path: Path) -> None:
    path = dev_env.dev_env_path(tmp_path)
    values = {"REDFIRE_API_URL": "http://127.0.0.1:4567", "REDFIRE_TOKEN": "a b'c$d"}
    dev_env.write(path, values)

    shown = subprocess.run(
        ["bash", "-c", f'source "{path}" && env'],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()

    assert "REDFIRE_API_URL=http://127.0.0.1:4567" in shown
    assert "REDFIRE_TOKEN=a b'c$d" in shown
    assert dev_env.read(path) == values

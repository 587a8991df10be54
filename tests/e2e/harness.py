"""Runs ``redfire dev`` as a subprocess in a folder of its own, on free ports.

Ports are 0 (the cloud picks free ones and writes them to ``.redfire/dev.env``), so the
tests run beside a developer's ``make dev``; the folder keeps ``.redfire/`` apart too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from redfire_cli.localcloud import dev_env

READY_PREFIX = "RedFire local cloud ready:"
READY_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 30


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def redfire_command() -> list[str]:
    """The installed console script, as ``make dev`` runs it."""
    script = Path(sys.executable).parent / "redfire"
    return [str(script)] if script.exists() else [sys.executable, "-m", "redfire_cli.main"]


def clean_environment() -> dict[str, str]:
    """The test process's environment without its fake-AWS and stage settings."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "REDFIRE_", "POWERTOOLS_"))
    }


@dataclass
class LocalCloudProcess:
    workdir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    ready_seconds: float = 0.0
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return self.settings["REDFIRE_API_URL"]

    @property
    def ws_url(self) -> str:
        return self.settings["REDFIRE_WS_URL"]

    @property
    def token(self) -> str:
        return self.settings["REDFIRE_TOKEN"]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as a developer's Ctrl-C or a supervisor would; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def redfire(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run another ``redfire`` command in the cloud's folder, as a developer would."""
        return subprocess.run(
            [*redfire_command(), *args],
            cwd=self.workdir,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )


def start_local_cloud(
    workdir: Path, *args: str, env: dict[str, str] | None = None
) -> LocalCloudProcess:
    """Start ``redfire dev`` (with ``env`` added to its environment) and wait for its
    ready line."""
    workdir.mkdir(parents=True, exist_ok=True)
    environment = clean_environment() | {
        "REDFIRE_API_PORT": "0",
        "REDFIRE_MOTO_PORT": "0",
        "REDFIRE_WS_PORT": "0",
        # Prices stay fresh (market orders fill at the latest price, which may be minutes
        # old); a slower demo feed leaves the 2-core CI machine to the tests' own orders.
        "REDFIRE_FEED_SECONDS": "15",
    }
    environment |= env or {}
    log_path = workdir / f"redfire-dev-{time.monotonic_ns()}.log"
    started = time.monotonic()
    with log_path.open("wb") as log:  # a file, not a pipe: a full pipe would block the cloud
        process = subprocess.Popen(
            [*redfire_command(), "dev", *args],
            cwd=workdir,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    cloud = LocalCloudProcess(workdir, process, log_path)
    deadline = started + READY_TIMEOUT_SECONDS
    while READY_PREFIX not in cloud.log():
        if process.poll() is not None:
            raise RuntimeError(f"redfire dev exited with {process.returncode}:\n{cloud.log()}")
        if time.monotonic() > deadline:
            cloud.stop()
            raise TimeoutError(
                f"redfire dev not ready in {READY_TIMEOUT_SECONDS} s:\n{cloud.log()}"
            )
        time.sleep(0.1)
    cloud.ready_seconds = time.monotonic() - started
    cloud.settings = dev_env.read(dev_env.dev_env_path(workdir))
    return cloud


MARKET_BUY = {
    "symbol": "GOOG",
    "side": "buy",
    "type": "market",
    "quantity": "10",
    "time_in_force": "day",
}
FILL_TIMEOUT_SECONDS = 10


def wait_for_status(api: httpx.Client, token: str, order_id: str, status: str) -> dict[str, Any]:
    """The order once it has ``status``, or as it is after FILL_TIMEOUT_SECONDS."""
    deadline = time.monotonic() + FILL_TIMEOUT_SECONDS
    while True:
        order: dict[str, Any] = api.get(f"/v1/orders/{order_id}", headers=bearer(token)).json()
        if order.get("status") == status or time.monotonic() > deadline:
            return order
        time.sleep(0.2)


MINT_TOKENS = """
import sys
from pathlib import Path

from redfire_cli.tokens import main

role = sys.argv[1]
for account in sys.argv[2:]:
    if main(account, role, Path.cwd()) != 0:
        sys.exit(1)
"""


def mint_tokens(
    workdir: Path, accounts: list[str] | tuple[str, ...], role: str = "admin"
) -> dict[str, str]:
    """A token of ``role`` per account (each account opened if new) from the local cloud
    running in ``workdir``, minted in one process: one ``redfire token`` per account
    would pay the CLI's start-up each time."""
    minted = subprocess.run(
        [sys.executable, "-c", MINT_TOKENS, role, *accounts],
        cwd=workdir,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert minted.returncode == 0, minted.stderr
    return dict(zip(accounts, minted.stdout.split(), strict=True))

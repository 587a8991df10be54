"""Submit-to-filled latency and end-to-end throughput of market orders on ``redfire dev``.

The local cloud starts as a subprocess in a temporary working directory with any free
ports (REDFIRE_API_PORT=0, REDFIRE_MOTO_PORT=0); once it prints its ready line, the
API URL and a trader token are read from ``.redfire/dev.env``. Each order is a POST
/v1/orders, then GET /v1/orders/{id} every ~10 ms until it is ``filled``; the time from
just before the POST to the response showing ``filled`` is the order's latency. Orders
run one at a time, then from several concurrent clients; SIGTERM stops the cloud.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import Result, Table, bench_environment, mark, ms, percentile
from redfire_cli.localcloud import dev_env

SEQUENTIAL_ORDERS = 60
CONCURRENT_ORDERS = 40
BURST_ORDERS = 40
CLIENTS = 4
WARMUP_ORDERS = 5
POLL_SECONDS = 0.050  # issue 14: one at a time, polled at 50 ms
BURST_POLL_SECONDS = 0.050
ORDER_TIMEOUT_SECONDS = 10.0
PHASE_BUDGET_SECONDS = 90.0  # a phase stops early (and says so) past this
STARTUP_TIMEOUT_SECONDS = 90.0
TARGET_P50_SECONDS = 0.25  # issue 14 goal 3
TARGET_P99_SECONDS = 1.0
READY_PREFIX = "RedFire local cloud ready:"
MARKET_BUY = {
    "symbol": "GOOG",
    "side": "buy",
    "type": "market",
    "quantity": "1",
    "time_in_force": "day",
}
FINAL = {"filled", "denied", "rejected", "cancelled", "expired"}


class Unavailable(Exception):
    """The local cloud is not there or does not start: the benchmark is skipped."""


@dataclass
class Client:
    api_url: str
    token: str

    def request(self, method: str, path: str, body: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(
            self.api_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=ORDER_TIMEOUT_SECONDS) as response:
            return json.loads(response.read())

    def place(self) -> str:
        return str(self.request("POST", "/v1/orders", MARKET_BUY)["id"])

    def status(self, order_id: str) -> str:
        return str(self.request("GET", f"/v1/orders/{order_id}")["status"])

    def order_until_final(self) -> tuple[float, str, int]:
        """(seconds from just before the POST to the GET showing a final status, that status,
        connection errors met on the way); a failed GET is retried by the next poll."""
        start = time.perf_counter()
        try:
            order_id = self.place()
        except OSError as error:  # URLError, HTTPError, connection resets
            return time.perf_counter() - start, f"POST failed ({_describe(error)})", 1
        errors = 0
        while time.perf_counter() - start < ORDER_TIMEOUT_SECONDS:
            try:
                status = self.status(order_id)
            except OSError:
                errors += 1
                status = ""
            if status in FINAL:
                return time.perf_counter() - start, status, errors
            time.sleep(POLL_SECONDS)
        return time.perf_counter() - start, "timeout", errors


def _describe(error: OSError) -> str:
    code = getattr(error, "code", None)
    return f"HTTP {code}" if code else type(error).__name__


@dataclass
class Phase:
    """Orders of one phase: latencies of the filled ones, outcomes of the others."""

    clients: int
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    connection_errors: int = 0
    seconds: float = 0.0
    stopped_early: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def orders(self) -> int:
        return len(self.latencies) + sum(self.failures.values())

    def record(self, seconds: float, status: str, errors: int) -> None:
        with self._lock:
            self.connection_errors += errors
            if status == "filled":
                self.latencies.append(seconds)
            else:
                self.failures[status] = self.failures.get(status, 0) + 1


def run_phase(client: Client, orders: int, clients: int) -> Phase:
    """``orders`` orders from ``clients`` threads, each placing its next order when done."""
    phase = Phase(clients)
    remaining = iter(range(orders))
    lock = threading.Lock()
    start = time.perf_counter()

    def worker() -> None:
        while time.perf_counter() - start < PHASE_BUDGET_SECONDS:
            with lock:
                if next(remaining, None) is None:
                    return
            phase.record(*client.order_until_final())
        phase.stopped_early = True

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PHASE_BUDGET_SECONDS + ORDER_TIMEOUT_SECONDS + 5)
    phase.seconds = time.perf_counter() - start
    return phase


def run_burst(client: Client, orders: int, clients: int) -> Phase:
    """Pipeline throughput: ``clients`` threads submit ``orders`` orders at once, then one
    light poller (one GET per ``BURST_POLL_SECONDS``, oldest pending order first) waits for
    all of them, within the phase budget; latencies are submit to the GET that saw the fill,
    so they include the wait behind the orders ahead."""
    phase = Phase(clients)
    submitted: dict[str, float] = {}
    lock = threading.Lock()
    start = time.perf_counter()

    def submit(count: int) -> None:
        for _ in range(count):
            placed_at = time.perf_counter()
            try:
                order_id = client.place()
            except OSError as error:
                phase.record(0.0, f"POST failed ({_describe(error)})", 1)
                continue
            with lock:
                submitted[order_id] = placed_at

    share = [orders // clients + (i < orders % clients) for i in range(clients)]
    threads = [threading.Thread(target=submit, args=(n,), daemon=True) for n in share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PHASE_BUDGET_SECONDS)
    pending = sorted(submitted, key=submitted.__getitem__)
    while pending and time.perf_counter() - start < PHASE_BUDGET_SECONDS:
        try:
            status = client.status(pending[0])
        except OSError:
            phase.connection_errors += 1
            status = ""
        if status in FINAL:  # no per-order timeout: a burst queues by design
            phase.record(time.perf_counter() - submitted[pending.pop(0)], status, 0)
        else:
            time.sleep(BURST_POLL_SECONDS)
    for _ in pending:
        phase.record(0.0, "timeout", 0)
    phase.stopped_early = bool(pending)
    phase.seconds = time.perf_counter() - start
    return phase


class LocalCloudProcess:
    """``redfire dev`` in a temporary directory, stopped by SIGTERM (then SIGKILL)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = env or {}  # added to the cloud's environment
        self.workdir = Path(tempfile.mkdtemp(prefix="redfire-bench-dev-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self.problems: Counter[str] = Counter()  # warnings and errors it logged

    def start(self) -> Client:
        command = Path(sys.executable).with_name("redfire")
        if not command.exists():
            raise Unavailable(f"{command} does not exist (run `make install`)")
        env = bench_environment()
        env.update({"REDFIRE_API_PORT": "0", "REDFIRE_MOTO_PORT": "0", "REDFIRE_WS_PORT": "0"})
        env.update(self.env)
        started = time.perf_counter()
        with (
            (self.workdir / "stdout.log").open("wb") as out,
            (self.workdir / "stderr.log").open("wb") as err,
        ):
            self.process = subprocess.Popen(
                [str(command), "dev", "--reset"], cwd=self.workdir, env=env, stdout=out, stderr=err
            )
        while time.perf_counter() - started < STARTUP_TIMEOUT_SECONDS:
            if self.process.poll() is not None:
                raise Unavailable(
                    f"`redfire dev` exited with {self.process.returncode}: {self._tail()}"
                )
            if READY_PREFIX in (self.workdir / "stdout.log").read_text(errors="replace"):
                self.startup_seconds = time.perf_counter() - started
                return self._client()
            time.sleep(0.1)
        raise Unavailable(f"no ready line within {STARTUP_TIMEOUT_SECONDS:.0f} s: {self._tail()}")

    def _client(self) -> Client:
        values = dev_env.read(dev_env.dev_env_path(self.workdir))
        return Client(values["REDFIRE_API_URL"], values["REDFIRE_TOKEN"])

    def _tail(self) -> str:
        text = (self.workdir / "stderr.log").read_text(errors="replace")
        return " / ".join(text.strip().splitlines()[-3:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.problems = logged_problems(self.workdir)
        shutil.rmtree(self.workdir, ignore_errors=True)


def logged_problems(workdir: Path) -> Counter[str]:
    """Warnings and errors in the cloud's logs: handler JSON lines and its own stderr."""
    problems: Counter[str] = Counter()
    for line in _lines(workdir / "stdout.log"):
        if line.startswith("{") and '"level":"' in line:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
                problems[f"{entry['level']} {entry.get('message', '')}"[:120]] += 1
    for line in _lines(workdir / "stderr.log"):
        for level in (" WARNING ", " ERROR ", " CRITICAL "):
            if level in line:
                problems[(level.strip() + " " + line.split(level, 1)[1])[:120]] += 1
    return problems


def _lines(path: Path) -> list[str]:
    return path.read_text(errors="replace").splitlines() if path.exists() else []


def _row(name: str, phase: Phase) -> list[str]:
    filled = len(phase.latencies)
    failed = ", ".join(f"{n} {s}" for s, n in sorted(phase.failures.items())) or "-"
    return [
        name,
        str(phase.clients),
        f"{filled}/{phase.orders}"
        + (" (stopped at the time budget)" if phase.stopped_early else ""),
        failed,
        str(phase.connection_errors),
        ms(percentile(phase.latencies, 50)),
        ms(percentile(phase.latencies, 99)),
        ms(max(phase.latencies)) if phase.latencies else "n/a",
        _rate(phase),
    ]


def _problem_notes(problems: Counter[str]) -> list[str]:
    if not problems:
        return ["The local cloud logged no warning or error during the run."]
    listed = "; ".join(f"{count} x `{message}`" for message, count in problems.most_common(5))
    return [f"The local cloud logged {sum(problems.values())} warnings/errors: {listed}."]


def _rate(phase: Phase) -> str:
    return f"{phase.orders / phase.seconds:.1f}" if phase.seconds else "n/a"


def skipped(reason: str) -> Result:
    return Result(
        name="local_cloud",
        title="Submit-to-filled latency on the local cloud",
        status="skipped",
        summary=f"skipped: {reason}",
        target=f"p50 <= {TARGET_P50_SECONDS} s; orders per second reported",
        reference=f"the {TARGET_P50_SECONDS} s target",
        notes=[f"Skipped: {reason}"],
    )


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)  # unwinds through ``finally``, which stops the cloud


def run() -> Result:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    cloud = LocalCloudProcess()
    try:
        client = cloud.start()
        for _ in range(WARMUP_ORDERS):
            client.order_until_final()
        sequential = run_phase(client, SEQUENTIAL_ORDERS, 1)
        concurrent = run_phase(client, CONCURRENT_ORDERS, CLIENTS)
        burst = run_burst(client, BURST_ORDERS, CLIENTS)
    except Unavailable as error:
        return skipped(str(error))
    finally:
        cloud.stop()

    p50, p99 = percentile(sequential.latencies, 50), percentile(sequential.latencies, 99)
    met = p50 <= TARGET_P50_SECONDS and p99 <= TARGET_P99_SECONDS and not sequential.stopped_early
    return Result(
        name="local_cloud",
        title="Submit-to-filled latency on the local cloud",
        status="met" if met else "missed",
        summary=(
            f"p50 {ms(p50)} ms, p99 {ms(p99)} ms one at a time "
            f"(target p50 <= {TARGET_P50_SECONDS * 1000:.0f} ms, p99 <= "
            f"{TARGET_P99_SECONDS * 1000:.0f} ms); orders/s end to end: "
            f"{_rate(sequential)} one at a time, {_rate(concurrent)} with {CLIENTS} polling "
            f"clients, {_rate(burst)} in a burst"
        ),
        target=f"p50 submit-to-filled <= {TARGET_P50_SECONDS} s and p99 <= "
        f"{TARGET_P99_SECONDS} s ({mark(met)})",
        reference=f"the {TARGET_P50_SECONDS} s / {TARGET_P99_SECONDS} s targets; one client vs "
        f"{CLIENTS} concurrent clients vs a burst, in the same run against the same local cloud",
        method=[
            "`.venv/bin/redfire dev --reset` in a temporary directory with "
            "REDFIRE_API_PORT=0 and REDFIRE_MOTO_PORT=0 (free loopback ports); ready when it "
            f"prints `{READY_PREFIX}` (took {cloud.startup_seconds:.1f} s); URL and token from "
            "`.redfire/dev.env`.",
            f"Each order: POST /v1/orders {json.dumps(MARKET_BUY)}, then GET /v1/orders/{{id}} "
            f"every {POLL_SECONDS * 1000:.0f} ms until a final status; latency = just before "
            "the POST to the GET that shows `filled`. Orders over "
            f"{ORDER_TIMEOUT_SECONDS:.0f} s count as timeouts.",
            f"{WARMUP_ORDERS} uncounted warm-up orders; then {SEQUENTIAL_ORDERS} orders one at "
            f"a time (the target's figure); then {CONCURRENT_ORDERS} from {CLIENTS} client "
            "threads, each polling its order as above and placing its next one when the last "
            f"is final; then a burst: {BURST_ORDERS} orders POSTed by {CLIENTS} threads at "
            "once, their fills detected by a single poller (one GET per "
            f"{BURST_POLL_SECONDS * 1000:.0f} ms, oldest pending order first, no per-order "
            "timeout), which measures the pipeline's throughput without the polling load; its "
            "latencies include queueing behind the orders ahead. Orders/s = final orders / "
            f"phase wall time. Each phase stops at {PHASE_BUDGET_SECONDS:.0f} s.",
        ],
        tables=[
            Table(
                "Submit-to-filled, ms",
                [
                    "phase",
                    "clients",
                    "filled",
                    "not filled",
                    "connection errors",
                    "p50",
                    "p99",
                    "max",
                    "orders/s end to end",
                ],
                [
                    _row("one at a time", sequential),
                    _row("concurrent clients, each polling", concurrent),
                    _row("burst, one light poller", burst),
                ],
            )
        ],
        notes=[
            *_problem_notes(cloud.problems),
            "Everything runs on this machine: moto's server, every handler (in one process, "
            "as `redfire dev` hosts them), the stream and SQS pollers and this client, so "
            "the figure includes moto's latency and the pollers' intervals, and the client's "
            "polling GETs compete with the pipeline for the same cores.",
        ],
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

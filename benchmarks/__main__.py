"""``python -m benchmarks [name ...]``: run the benchmarks and write RESULTS.md.

Each benchmark runs in its own interpreter (``python -m benchmarks.<name> --json``), so
one's imports, environment and moto patches cannot colour another's figures, and a
hung benchmark is killed at its time budget; the whole run stops by itself within
``TOTAL_BUDGET_SECONDS``. With names, only those run and the report goes to stdout
unless ``--output`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import REPO_ROOT, Result
from benchmarks.report import render_results

# (module, time budget in seconds), cheapest-to-disturb first: cold imports want a quiet
# machine, the local cloud loads it most.
BENCHMARKS: tuple[tuple[str, float], ...] = (
    ("cold_import", 480),
    ("warm_latency", 180),
    ("asset_size", 420),
    ("idle_cost", 300),
    ("aws_calls", 120),
    ("order_sequence", 180),
    ("local_cloud", 420),
    ("venue_fill", 300),
    ("backtest_speed", 1200),  # three configurations, two sweep references (numba compiles)
    ("ws_push", 600),
    ("risk_check", 120),
    ("marketdata_store", 300),
    ("marketdata_ingest", 300),
    ("load", 1200),
    ("console", 420),
)
TOTAL_BUDGET_SECONDS = 2700.0  # every benchmark gets its figures; run it in the background
TAIL_LINES = 12
GRACE_SECONDS = 20.0  # between SIGTERM and SIGKILL of a benchmark over its budget
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TITLES = {
    "cold_import": "Cold start of the handlers: import + first invocation",
    "warm_latency": "Warm latency of GET /v1/orders/{id} through Mangum",
    "asset_size": "Function assets and layer size",
    "idle_cost": "Idle cost per stage and month",
    "aws_calls": "AWS calls and cost per order",
    "order_sequence": "One account's orders in order: a burst of concurrent submits",
    "local_cloud": "Submit-to-filled latency on the local cloud",
    "venue_fill": "Fill latency through a fake Alpaca venue on the local cloud",
    "backtest_speed": "Backtest speed against backtesting.py 0.6.6",
    "ws_push": "WebSocket push and GraphQL on the local cloud",
    "risk_check": "Pre-trade risk check per order",
    "marketdata_store": "Market data stores: write calls and a year read at 1h",
    "marketdata_ingest": "Market data ingest throughput on the local cloud",
    "load": "Load: concurrent clients and duplicate submits on the local cloud",
    "console": "Web console on the local cloud",
}


def machine() -> dict[str, str]:
    """Where and when the figures were taken."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{usable} CPUs usable (nproc), {cpu}",
        "python": f"{platform.python_implementation()} {platform.python_version()} "
        "(Lambda runs CPython 3.12 on arm64)",
        "platform": platform.platform(),
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "commit": f"{commit or 'unknown'} (plus any uncommitted changes in the working tree)",
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def run_one(name: str, budget: float) -> Result:
    """One benchmark in its own process group, killed (group and all) past ``budget``."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="redfire-bench-") as scratch:
        output = Path(scratch) / "result.json"
        log = Path(scratch) / "log.txt"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", f"benchmarks.{name}", "--json", str(output)],
                cwd=REPO_ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                process.wait(budget)
                problem = "" if process.returncode == 0 else f"exited with {process.returncode}"
            except subprocess.TimeoutExpired:
                _stop_group(process)
                problem = f"stopped at its {budget:.0f} s budget"
        seconds = time.perf_counter() - started
        if not problem and output.exists():
            result = Result.from_json(json.loads(output.read_text()))
        else:
            tail = log.read_text(errors="replace").strip().splitlines()[-TAIL_LINES:]
            result = Result(
                name=name,
                title=TITLES.get(name, name),
                status="error",
                summary=f"no figures: the benchmark {problem or 'wrote no result'}",
                target="see the module's docstring",
                reference="-",
                output_tail=[line[:300] for line in tail],
            )
    result.seconds = seconds
    return result


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the benchmark's process group (it cleans up), SIGKILL what is left."""
    os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(GRACE_SECONDS)
    with contextlib.suppress(ProcessLookupError):  # the whole group may be gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def main() -> int:
    names = [name for name, _ in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("only", nargs="*", metavar="name", help=f"any of: {', '.join(names)}")
    parser.add_argument("--output", type=Path, help=f"report file (default: {RESULTS.name})")
    args = parser.parse_args()
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    selected = [(n, b) for n, b in BENCHMARKS if not args.only or n in args.only]
    output = args.output or (None if args.only else RESULTS)

    facts = machine()
    started = time.perf_counter()
    results = []
    for index, (name, budget) in enumerate(selected, 1):
        remaining = TOTAL_BUDGET_SECONDS - (time.perf_counter() - started)
        print(f"[{index}/{len(selected)}] {name} ...", file=sys.stderr, flush=True)
        result = run_one(name, max(1.0, min(budget, remaining)))
        print(f"    {result.status} in {result.seconds:.0f} s: {result.summary}", file=sys.stderr)
        results.append(result)
    report = render_results(results, facts, time.perf_counter() - started)
    if output:
        output.write_text(report)
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(report)
    return 1 if any(r.status == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

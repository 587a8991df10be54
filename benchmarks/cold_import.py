"""Cold import time of every handler module against the bare FastAPI + Mangum app.

Each figure is the median of 7 fresh interpreters that import one module (the time
around the import itself, interpreter start-up excluded), interleaved module by module
so drift on the machine hits every module alike. A first round, not counted, writes the
bytecode caches. A separate ``-X importtime`` run per handler names the slowest imports
our own code makes, i.e. what is worth making lazy.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from dataclasses import dataclass

from benchmarks.common import REPO_ROOT, Result, Table, bench_environment, mark, status_of
from redfire_core.resources import FUNCTIONS

RUNS = 7
TOP = 10
BARE = "benchmarks.bare_app"
API_TARGET = 1.2  # api import <= 1.2 x the bare app
EVENT_TARGET = 0.5  # event handlers <= 0.5 x the bare app
FIRST_PARTY = ("redfire_", "benchmarks")
# Not targets: what any handler touching AWS pays (boto3), and the X-Ray SDK that
# Powertools' Tracer imports even with tracing disabled - floors for the ratios above.
COMPARISON = ("boto3", "aws_xray_sdk.core")

_TIMED_IMPORT = (
    "import importlib, sys, time\n"
    "start = time.perf_counter()\n"
    "importlib.import_module(sys.argv[1])\n"
    "print(time.perf_counter() - start)\n"
)


def handler_modules() -> dict[str, str]:
    """Function name -> module Lambda imports, from the resource declaration."""
    return {name: f.handler.rpartition(".")[0] for name, f in FUNCTIONS.items()}


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=bench_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode:
        raise RuntimeError(f"python {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done


def time_import(module: str) -> float:
    """Seconds one fresh interpreter spends importing ``module``."""
    return float(_python("-c", _TIMED_IMPORT, module).stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Import:
    module: str
    depth: int
    self_us: int
    cumulative_us: int
    importer: str = ""  # nearest first-party module above it in the import tree


def import_tree(module: str) -> list[Import]:
    """``-X importtime`` of ``module`` in a fresh interpreter, each line with its importer."""
    stderr = _python("-X", "importtime", "-c", f"import {module}").stderr
    rows: list[tuple[str, int, int, int]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_text, cumulative_text, label = line.removeprefix("import time:").split("|")
        depth = (len(label) - len(label.lstrip(" "))) // 2
        rows.append((label.strip(), depth, int(self_text), int(cumulative_text)))
    # importtime prints a module after everything it imported: its importer is the
    # next line with a smaller depth.
    imports = []
    for index, (name, depth, self_us, cumulative_us) in enumerate(rows):
        importer, level = "", depth
        for other, other_depth, _, _ in rows[index + 1 :]:
            if other_depth < level:
                level = other_depth
                if other.startswith(FIRST_PARTY):
                    importer = other
                    break
        imports.append(Import(name, depth, self_us, cumulative_us, importer))
    return imports


def slowest_imports(module: str, top: int = TOP) -> list[Import]:
    """The costliest imports made by first-party code (outermost third-party/stdlib ones)."""
    tree = import_tree(module)
    outermost = []
    for index, item in enumerate(tree):
        if item.module.startswith(FIRST_PARTY) or not item.importer:
            continue  # our own modules, or the interpreter's start-up imports
        parent = next((p for p in tree[index + 1 :] if p.depth < item.depth), None)
        if parent is None or parent.module.startswith(FIRST_PARTY):
            outermost.append(item)
    return sorted(outermost, key=lambda i: i.cumulative_us, reverse=True)[:top]


def run() -> Result:
    modules = handler_modules()
    every = [BARE, *modules.values(), *COMPARISON]
    for module in every:  # warm-up round: bytecode caches, page cache
        time_import(module)
    samples: dict[str, list[float]] = {m: [] for m in every}
    for _ in range(RUNS):
        for module in every:
            samples[module].append(time_import(module))
    median = {m: statistics.median(s) for m, s in samples.items()}
    bare = median[BARE]

    rows = [[f"`{BARE}` (reference)", *_cells(samples[BARE]), "1.00", "-", "-"]]
    checks = []
    for function, module in modules.items():
        limit = API_TARGET if function == "api" else EVENT_TARGET
        ratio = median[module] / bare
        checks.append(ratio <= limit)
        rows.append(
            [
                f"`{module}`",
                *_cells(samples[module]),
                f"{ratio:.2f}",
                f"<= {limit}",
                mark(checks[-1]),
            ]
        )
    rows += [
        [f"`{m}` alone (for comparison)", *_cells(samples[m]), f"{median[m] / bare:.2f}", "-", "-"]
        for m in COMPARISON
    ]
    tables = [
        Table(
            f"Import time, ms ({RUNS} fresh interpreters each)",
            ["module", "median", "min", "max", "x bare", "target", "met"],
            rows,
        )
    ]
    for module in modules.values():
        tables.append(
            Table(
                f"`{module}`: {TOP} slowest imports made by first-party code",
                ["import", "cumulative ms", "imported by"],
                [
                    [f"`{i.module}`", f"{i.cumulative_us / 1000:.1f}", f"`{i.importer or '-'}`"]
                    for i in slowest_imports(module)
                ],
            )
        )
    api = median[modules["api"]]
    worst_event = max(median[m] for f, m in modules.items() if f != "api")
    return Result(
        name="cold_import",
        title="Cold import time of the handler modules",
        status=status_of(checks),
        summary=(
            f"api {api / bare:.2f}x bare (target <= {API_TARGET}x); slowest event handler "
            f"{worst_event / bare:.2f}x bare (target <= {EVENT_TARGET}x); "
            f"bare app {bare * 1000:.0f} ms"
        ),
        target=f"api <= {API_TARGET}x the bare app; event handlers <= {EVENT_TARGET}x the bare app",
        reference=f"`{BARE}` (FastAPI + Mangum, one route), imported the same way in the same run",
        method=[
            f"Each module is imported by `{sys.executable.rsplit('/', 1)[-1]} -c` in a fresh "
            f"interpreter; the time around `importlib.import_module` is recorded (interpreter "
            f"start-up excluded). {RUNS} counted rounds, each importing every module once, "
            "after one uncounted round that writes bytecode caches. "
            f"{' and '.join(f'`{m}`' for m in COMPARISON)} are timed alone the same way, for "
            "comparison only: what a handler pays for boto3, and for the X-Ray SDK.",
            "Environment: REDFIRE_STAGE=bench, AWS_DEFAULT_REGION=us-east-1, fake credentials, "
            "POWERTOOLS_TRACE_DISABLED=true; module names come from `FUNCTIONS` in "
            "`redfire_core.resources`.",
            "Slowest imports: one `-X importtime` run per handler; listed are the outermost "
            "third-party/stdlib imports (those whose importer is first-party code), ranked by "
            "cumulative time, with the first-party module that triggered them. A package "
            "shared by several first-party modules is charged to the first one to import it.",
        ],
        tables=tables,
        notes=[
            "Lambda ships the layer and the function assets without `__pycache__` "
            "(`ASSET_EXCLUDES`, `--no-compile`) on a read-only file system, so a real cold "
            "start also compiles the bytecode; these figures, taken with warm bytecode "
            "caches, are a lower bound for both the handlers and the reference.",
        ],
    )


def _cells(samples: list[float]) -> list[str]:
    return [f"{x * 1000:.0f}" for x in (statistics.median(samples), min(samples), max(samples))]


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

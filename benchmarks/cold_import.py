"""Cold start of every handler (import + first invocation) against the bare FastAPI + Mangum app.

Each figure is the median of 7 fresh interpreters that import one handler module and
invoke it once with its fixture event (time around both, interpreter start-up excluded),
interleaved handler by handler so drift on the machine hits every one alike. AWS calls are
answered by botocore's ``Stubber`` (``benchmarks.first_invocation``), so the network is
not timed while everything the first call loads is: moving an import into the first call
saves nothing here. The environment is a deployed stage's (prod's settings from cdk.json,
tracing as deployed, Lambda's variables, fake credentials). A first round, not counted,
writes the bytecode caches; a smaller round without them shows what shipping bytecode
saves. A separate ``-X importtime`` run per handler names the slowest imports our own code
makes.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT, Result, Table, bench_environment, mark, status_of
from benchmarks.first_invocation import SECRET
from redfire_core.resources import FUNCTIONS

RUNS = 7
BYTECODE_RUNS = 3
TOP = 10
BARE = "benchmarks.bare_app.handler"
API_TARGET = 1.2  # api import + first invocation <= 1.2 x the bare app's
EVENT_TARGET = 0.8  # event handlers <= 0.8 x the bare app's
TRACE_ID = "Root=1-6745d5c2-3b1e5a0f7c2d4e8f9a0b1c2d;Parent=53995c3f42cd8ad8;Sampled=1"
STAGE = "prod"  # the deployed environment measured: prod's cdk.json settings
FIRST_PARTY = ("redfire_", "benchmarks")
# Not targets: what any handler touching AWS pays (boto3), and what the lean path leaves
# out (the X-Ray SDK, pydantic-settings, PyJWT with cryptography) - each imported alone.
COMPARISON = ("boto3", "aws_xray_sdk.core", "pydantic_settings", "jwt")

_TIMED_IMPORT = (
    "import importlib, sys, time\n"
    "start = time.perf_counter()\n"
    "importlib.import_module(sys.argv[1])\n"
    "print(time.perf_counter() - start)\n"
)


@dataclass(frozen=True)
class Target:
    """One cold start to time: a handler, its event, the function whose environment it has."""

    label: str
    handler: str  # module.attribute
    function: str  # a FUNCTIONS name, or "" for the bare app
    event: str  # fixture the event is built from
    extra_env: tuple[tuple[str, str], ...] = ()


def stage_settings() -> dict[str, Any]:
    """The measured stage's settings, as cdk.json declares them."""
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return dict(context["redfire:stages"][STAGE])


def deployed_environment(function: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What Lambda and our CDK give ``function`` on the stage, with fake credentials; the
    bare app gets Lambda's own variables only."""
    from redfire_core.domain.caps import parse_caps
    from redfire_core.resources import Declaration

    env = bench_environment()
    env.pop("POWERTOOLS_TRACE_DISABLED", None)  # deployed: active tracing, Tracer not disabled
    name = Declaration(STAGE).name(function or "bare")
    memory = FUNCTIONS[function].memory_mb if function else 1024
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "_X_AMZN_TRACE_ID": TRACE_ID,
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        }
    )
    for variable in list(env):
        if variable.startswith("REDFIRE_") or variable.startswith("POWERTOOLS_"):
            del env[variable]
    if function:
        settings = stage_settings()
        env.update(
            {
                "REDFIRE_STAGE": STAGE,
                "POWERTOOLS_SERVICE_NAME": function,
                "POWERTOOLS_METRICS_NAMESPACE": "RedFire",
                "REDFIRE_LIMIT_CAPS": json.dumps(parse_caps(settings["limit_caps"]).as_strings()),
                "REDFIRE_DEEP_TRACING": "true" if settings.get("deep_tracing") else "false",
            }
        )
        if function == "api":
            env["REDFIRE_GRAPHQL_INTROSPECTION"] = str(settings["graphql_introspection"]).lower()
            env["REDFIRE_GRAPHQL_MAX_MUTATIONS"] = str(settings["graphql_max_mutations"])
    env.update(extra or {})
    return env


def _envelope_body(payload: Any) -> str:
    from redfire_core.events import Envelope
    from tests.support.events import eventbridge_body

    envelope = Envelope.wrap(
        payload, account_id="demo", correlation_id="corr-1", occurred_at=datetime.now(UTC)
    )
    return eventbridge_body(envelope.model_dump_json())


def first_events() -> dict[str, dict[str, Any]]:
    """Each function's first event, from the fixtures (API Gateway, SQS from EventBridge,
    DynamoDB stream, schedule, WebSocket), filled in as the tests fill them."""
    from redfire_core import events as e
    from redfire_core.auth import issue_token
    from redfire_core.config import Settings
    from redfire_core.domain.roles import Role
    from tests.support.events import http_event, load_event, sqs_event

    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    order = e.OrderView(
        id=e.new_id(),
        client_order_id=None,
        status="accepted",
        symbol="GOOG",
        side="buy",
        type="market",
        quantity="10",
        limit_price=None,
        stop_price=None,
        time_in_force="day",
        filled_quantity="0",
        average_fill_price=None,
        reject_reason=None,
        created_at=stamp,
        updated_at=stamp,
    )
    token = issue_token(
        SECRET,
        account_id="demo",
        role=Role.TRADER,
        subject="user-bench",
        settings=Settings(stage=STAGE),
        now=now,
    )
    backtest = e.BacktestView(
        id=e.new_id(),
        status="queued",
        strategy="sma_cross",
        params={"fast": 10, "slow": 20},
        symbol="GOOG",
        interval="1m",
        start="2026-11-02T00:00:00Z",
        end="2026-11-03T00:00:00Z",
        cash="10000",
        commission="0.001",
        created_at=stamp,
    )
    bars = e.MarketDataUpdated(
        symbol="GOOG",
        interval="1m",
        first_start=stamp,
        last_end=stamp,
        open="100",
        high="101",
        low="99",
        close="100.5",
        volume="1000",
        bar_count=1,
    )
    connect = load_event("apigw_ws_connect")
    connect["queryStringParameters"] = {"token": token}
    return {
        "bare": http_event("GET", f"/v1/orders/{order.id}"),
        "api": http_event("GET", f"/v1/orders/{order.id}", token=token),
        "risk": sqs_event([_envelope_body(e.OrderSubmitted(order=order))]),
        "orders": sqs_event([_envelope_body(e.OrderAccepted(order=order))]),
        "ingest": load_event("schedule_demo_feed"),
        "outbox": load_event("dynamodb_stream"),
        "ws": connect,
        "pusher": sqs_event([_envelope_body(e.OrderAccepted(order=order))]),
        "backtest": sqs_event([_envelope_body(e.BacktestRequested(backtest=backtest))]),
        "runner": sqs_event([_envelope_body(bars)]),
        "venue": {"action": "reconcile"},  # the reconcile schedule: no account routed yet
    }


# The fixture-built event each handler module gets first (keys of first_events()).
EVENT_OF = {
    "redfire_api.handler": "api",
    "redfire_risk.handler": "risk",
    "redfire_orders.handler": "orders",
    "redfire_ingest.handler": "ingest",
    "redfire_outbox.handler": "outbox",
    "redfire_stream.ws_handler": "ws",
    "redfire_stream.pusher": "pusher",
    "redfire_strategies.backtest_worker": "backtest",
    "redfire_strategies.runner": "runner",
    "redfire_venue_alpaca.handler": "venue",
    "redfire_venue_ccxt.handler": "venue",
}
# Functions off the paper path that load a venue SDK (alpaca-py with pandas, ccxt): timed and
# shown, not held to the event handlers' target (issue 17 gives them their own function).
NOT_TARGETS = frozenset({"venue-alpaca", "venue-ccxt"})


def targets() -> list[Target]:
    """The bare app, every function, and two of them with deep tracing on (what it costs)."""
    listed = [Target("bare", BARE, "", "bare")]
    for name, spec in FUNCTIONS.items():
        listed.append(Target(name, spec.handler, name, EVENT_OF[spec.handler.rpartition(".")[0]]))
    deep = (("REDFIRE_DEEP_TRACING", "true"),)
    listed += [
        Target(f"{name} with deep_tracing", FUNCTIONS[name].handler, name, name, deep)
        for name in ("api", "outbox")
    ]
    return listed


@dataclass(frozen=True)
class ColdStart:
    imported: float
    first: float
    outcome: str
    calls: tuple[str, ...]

    @property
    def total(self) -> float:
        return self.imported + self.first


def cold_start(target: Target, event_file: Path, bytecode: bool = True) -> ColdStart:
    """One fresh interpreter importing and invoking ``target`` (without bytecode caches: every
    module compiled from source, none written)."""
    env = deployed_environment(target.function, dict(target.extra_env))
    with tempfile.TemporaryDirectory(prefix="cold-pycache-") as empty:
        if not bytecode:
            env.update({"PYTHONPYCACHEPREFIX": empty, "PYTHONDONTWRITEBYTECODE": "1"})
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.first_invocation", target.handler, str(event_file)],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    if done.returncode:
        raise RuntimeError(f"{target.label} failed:\n{done.stderr[-2000:]}")
    line = json.loads(done.stdout.strip().splitlines()[-1])
    return ColdStart(line["import"], line["first"], line["outcome"], tuple(line["calls"]))


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=deployed_environment("api"),
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


def import_tree(module: str, function: str) -> list[Import]:
    """``-X importtime`` of ``module`` in a fresh interpreter, each line with its importer."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=REPO_ROOT,
        env=deployed_environment(function),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    rows: list[tuple[str, int, int, int]] = []
    for line in done.stderr.splitlines():
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


def slowest_imports(module: str, function: str, top: int = TOP) -> list[Import]:
    """The costliest imports made by first-party code (outermost third-party/stdlib ones)."""
    tree = import_tree(module, function)
    outermost = []
    for index, item in enumerate(tree):
        if item.module.startswith(FIRST_PARTY) or not item.importer:
            continue  # our own modules, or the interpreter's start-up imports
        parent = next((p for p in tree[index + 1 :] if p.depth < item.depth), None)
        if parent is None or parent.module.startswith(FIRST_PARTY):
            outermost.append(item)
    return sorted(outermost, key=lambda i: i.cumulative_us, reverse=True)[:top]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def run() -> Result:
    listed = targets()
    events = first_events()
    with tempfile.TemporaryDirectory(prefix="cold-events-") as folder:
        files = {}
        for key, event in events.items():
            files[key] = Path(folder) / f"{key}.json"
            files[key].write_text(json.dumps(event))
        first_round = {t.label: cold_start(t, files[t.event]) for t in listed}  # writes caches
        for module in COMPARISON:
            time_import(module)
        samples: dict[str, list[ColdStart]] = {t.label: [] for t in listed}
        alone: dict[str, list[float]] = {m: [] for m in COMPARISON}
        for _ in range(RUNS):
            for target in listed:
                samples[target.label].append(cold_start(target, files[target.event]))
            for module in COMPARISON:
                alone[module].append(time_import(module))
        total = {label: statistics.median(s.total for s in runs) for label, runs in samples.items()}
        bare = total["bare"]
        functions = [
            t for t in listed if t.function and not t.extra_env and t.function not in NOT_TARGETS
        ]
        api = total["api"]
        slowest = max((t for t in functions if t.function != "api"), key=lambda t: total[t.label])
        # Without bytecode caches: the bare app, the API and the slowest event handler.
        compiled: dict[str, list[float]] = {}
        for _ in range(BYTECODE_RUNS):
            for target in (listed[0], next(t for t in listed if t.label == "api"), slowest):
                run_ = cold_start(target, files[target.event], bytecode=False)
                compiled.setdefault(target.label, []).append(run_.total)

    rows = []
    checks = []
    for target in listed:
        runs = samples[target.label]
        ratio = total[target.label] / bare
        if target.function and not target.extra_env and target.function not in NOT_TARGETS:
            limit = API_TARGET if target.function == "api" else EVENT_TARGET
            checks.append(ratio <= limit)
            target_cells = [f"<= {limit}", mark(checks[-1])]
        else:
            target_cells = ["-", "-"]
        label = f"`{target.handler}`" + (" (reference)" if target.label == "bare" else "")
        if target.extra_env:
            label += ", deep_tracing on (not a target)"
        if target.function in NOT_TARGETS:
            label += " (loads its venue SDK; off the paper path, not a target)"
        rows.append(
            [
                label,
                _ms(total[target.label]),
                _ms(statistics.median(s.imported for s in runs)),
                _ms(statistics.median(s.first for s in runs)),
                _ms(min(s.total for s in runs)),
                _ms(max(s.total for s in runs)),
                f"{ratio:.2f}",
                *target_cells,
                f"{first_round[target.label].outcome}; {len(first_round[target.label].calls)}",
            ]
        )
    alone_rows = [
        [f"`{m}`", _ms(statistics.median(s)), f"{statistics.median(s) / bare:.2f}"]
        for m, s in alone.items()
    ]
    bytecode_rows = [
        [
            f"`{label}`",
            _ms(total[label]),
            _ms(statistics.median(values)),
            f"+{_ms(statistics.median(values) - total[label])}",
        ]
        for label, values in compiled.items()
    ]
    tables = [
        Table(
            f"Import + first invocation, ms ({RUNS} fresh interpreters each)",
            [
                "handler",
                "median",
                "import",
                "first call",
                "min",
                "max",
                "x bare",
                "target",
                "met",
                "first call answered; AWS calls stubbed",
            ],
            rows,
        ),
        Table(
            "Imported alone, for comparison (ms, median): boto3, and what the lean path left out",
            ["module", "import", "x bare"],
            alone_rows,
        ),
        Table(
            f"Without bytecode caches (ms, median of {BYTECODE_RUNS}; every module, the "
            "standard library's included, compiled from source)",
            ["handler", "with bytecode", "without", "difference"],
            bytecode_rows,
        ),
    ]
    for target in functions:
        module = target.handler.rpartition(".")[0]
        tables.append(
            Table(
                f"`{module}`: {TOP} slowest imports made by first-party code",
                ["import", "cumulative ms", "imported by"],
                [
                    [f"`{i.module}`", f"{i.cumulative_us / 1000:.1f}", f"`{i.importer or '-'}`"]
                    for i in slowest_imports(module, target.function)
                ],
            )
        )
    return Result(
        name="cold_import",
        title="Cold start of the handlers: import + first invocation",
        status=status_of(checks),
        summary=(
            f"api {api / bare:.2f}x bare (target <= {API_TARGET}x); slowest event handler "
            f"{total[slowest.label] / bare:.2f}x bare, {slowest.label} (target <= "
            f"{EVENT_TARGET}x); import + first invocation, bare app {bare * 1000:.0f} ms"
        ),
        target=(
            f"import + first invocation: api <= {API_TARGET}x the bare app; event handlers "
            f"<= {EVENT_TARGET}x the bare app"
        ),
        reference=(
            f"`{BARE}` (FastAPI + Mangum, one route): its import + first request "
            "(GET /v1/orders/{id}), measured the same way in the same run"
        ),
        method=[
            f"Each handler runs in a fresh `{Path(sys.executable).name}` (`python -m "
            "benchmarks.first_invocation`): the clock starts before `importlib.import_module` "
            "of the handler module and stops when its first invocation returns (interpreter "
            f"start-up and reading the event excluded). {RUNS} counted rounds, each running "
            "every handler once, after one uncounted round that writes bytecode caches.",
            "First events: the API gets GET /v1/orders/{id} with a bearer token (API Gateway "
            "HTTP API v2 fixture); SQS consumers an EventBridge-to-SQS record of the event "
            "type they consume (OrderSubmitted, OrderAccepted, BacktestRequested, "
            "MarketDataUpdated); the outbox the DynamoDB stream fixture; ingest the schedule "
            "fixture; the WebSocket handler a $connect with the token.",
            "Every AWS call is answered by a botocore `Stubber` attached to each client as it "
            "is created (an empty table, every write accepted, the JWT secret from Secrets "
            "Manager), so the first call's own work is timed but no network.",
            f"Environment: the {STAGE} stage as deployed - REDFIRE_STAGE, REDFIRE_LIMIT_CAPS, "
            "REDFIRE_DEEP_TRACING and the API's GraphQL variables from cdk.json, "
            "POWERTOOLS_SERVICE_NAME/METRICS_NAMESPACE, Lambda's own variables "
            "(LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, _X_AMZN_TRACE_ID, ...), active "
            "tracing (POWERTOOLS_TRACE_DISABLED unset), fake credentials.",
            "Comparison modules are imported alone in the same environment. Without bytecode: "
            "PYTHONPYCACHEPREFIX set to an empty folder and PYTHONDONTWRITEBYTECODE=1.",
        ],
        tables=tables,
        notes=[
            "The layer is bundled with bytecode compiled for python3.12 (the table without "
            "bytecode shows what that saves; here the standard library is compiled too, "
            "which Lambda's runtime ships compiled, so the difference is an upper bound).",
            "The Stubber hook loads `botocore.stub` in the timed region of every handler that "
            "creates a client (a few ms the handlers pay and the bare app does not).",
            "Why the goals (API <= 1.2x, event handlers <= 0.8x) are missed: what every handler "
            "needs sets a floor near them. boto3 alone costs about 0.64x the bare app (see "
            "the comparison rows), then pynamodb's models and pydantic; the API also builds "
            "its ~20 routers and two AWS clients on the first request. What this round took "
            "out (X-Ray SDK unless deep_tracing, pydantic-settings, PyJWT with cryptography "
            "for HS256) is in the comparison rows: about 0.16x, 0.49x and 0.21x of the bare "
            "app each. Next: one botocore session shared by the clients, fewer routers at "
            "import.",
        ],
    )


def _cells(samples: list[float]) -> list[str]:
    return [_ms(x) for x in (statistics.median(samples), min(samples), max(samples))]


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

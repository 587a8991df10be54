"""Warm latency of ``GET /v1/orders/{id}`` through Mangum, against the bare app's route.

Both handlers get API Gateway HTTP API (payload 2.0) events built from the same
fixture, in one process, inside moto. RedFire's call authenticates the bearer token
and reads the order from DynamoDB (moto); the bare app does neither. The calls run in
alternating blocks so both series see the same machine. Two more series, a JWT
verification alone and moto's GetItem alone, show where the difference goes.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable
from typing import Any

from benchmarks.common import Result, Table, apply_bench_environment, ms, percentile

WARMUP = 200
CALLS = 1000
BLOCK = 100


def _timed(call: Callable[[Any], Any], inputs: list[Any]) -> list[float]:
    samples = []
    for item in inputs:
        start = time.perf_counter()
        call(item)
        samples.append(time.perf_counter() - start)
    return samples


def measure(
    series: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]],
) -> dict[str, list[float]]:
    """Each series is (call, make one input); inputs are built outside the timed region."""
    for call, make in series.values():
        _timed(call, [make() for _ in range(WARMUP)])
    samples: dict[str, list[float]] = {name: [] for name in series}
    for _ in range(CALLS // BLOCK):
        for name, (call, make) in series.items():
            samples[name] += _timed(call, [make() for _ in range(BLOCK)])
    return samples


def run() -> Result:
    apply_bench_environment()
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    import boto3

    from benchmarks import bare_app
    from benchmarks.moto_account import SECRET, demo_account, place_order
    from redfire_api.handler import handler as api_handler
    from redfire_core.auth import verify_token
    from redfire_core.config import get_settings
    from tests.support.events import LambdaContext, http_event

    context = LambdaContext()
    with demo_account() as account:
        order_id = place_order(account.token)["id"]
        path = f"/v1/orders/{order_id}"
        ours = http_event("GET", path, token=account.token)
        bare = http_event("GET", path)
        for name, handler, event in (
            ("redfire", api_handler, ours),
            ("bare", bare_app.handler, bare),
        ):
            response = handler(copy.deepcopy(event), context)
            if response["statusCode"] != 200:
                raise RuntimeError(
                    f"{name} GET {path}: {response['statusCode']} {response['body']}"
                )
        dynamodb = boto3.client("dynamodb")
        table = get_settings().table_name("orders")
        key = {"pk": {"S": account.account_id}, "sk": {"S": f"ORDER#{order_id}"}}
        settings = get_settings()
        samples = measure(
            {
                "bare": (lambda e: bare_app.handler(e, context), lambda: copy.deepcopy(bare)),
                "redfire": (lambda e: api_handler(e, context), lambda: copy.deepcopy(ours)),
                "jwt": (lambda t: verify_token(t, SECRET, settings), lambda: account.token),
                "getitem": (
                    lambda k: dynamodb.get_item(TableName=table, Key=k, ConsistentRead=True),
                    lambda: key,
                ),
            }
        )

    p50 = {name: percentile(s, 50) for name, s in samples.items()}
    p99 = {name: percentile(s, 99) for name, s in samples.items()}
    labels = {
        "bare": "bare app, one route (reference)",
        "redfire": "`redfire_api.handler`, GET /v1/orders/{id}",
        "jwt": "for comparison: `verify_token` alone",
        "getitem": "for comparison: moto GetItem alone (boto3, consistent read)",
    }
    rows = [
        [labels[name], str(len(s)), ms(p50[name]), ms(p99[name]), ms(min(s)), ms(max(s))]
        for name, s in samples.items()
    ]
    rows.insert(
        2,
        [
            "difference (RedFire's overhead)",
            "",
            f"+{ms(p50['redfire'] - p50['bare'])}",
            f"+{ms(p99['redfire'] - p99['bare'])}",
            "",
            "",
        ],
    )
    return Result(
        name="warm_latency",
        title="Warm latency of GET /v1/orders/{id} through Mangum",
        status="info",
        summary=(
            f"p50 {ms(p50['redfire'])} ms vs bare {ms(p50['bare'])} ms "
            f"(+{ms(p50['redfire'] - p50['bare'])} ms); p99 {ms(p99['redfire'])} ms vs "
            f"{ms(p99['bare'])} ms; moto included"
        ),
        target="none set by the issue: reported to track RedFire's overhead over the bare app",
        reference="`benchmarks.bare_app.handler` (the same GET route, no auth, no storage), "
        "called in the same process in alternating blocks",
        method=[
            "One process, inside `moto.mock_aws`, resources provisioned from the declaration, "
            "demo account seeded, one market order placed with POST /v1/orders first.",
            f"Each series: {WARMUP} warm-up calls, then {CALLS} timed calls in blocks of "
            f"{BLOCK}, alternating between series; events are deep copies of an API Gateway "
            "HTTP API v2 event from `tests/fixtures/events/apigw_http_v2.json`, built outside "
            "the timed region. Handlers are called directly with a `LambdaContext` stand-in.",
            "RedFire's handler runs with its Powertools decorators (logger, metrics, tracer "
            "disabled by POWERTOOLS_TRACE_DISABLED) exactly as Lambda calls it.",
        ],
        tables=[
            Table(
                "Latency per call, ms",
                ["series", "calls", "p50", "p99", "min", "max"],
                rows,
            )
        ],
        notes=[
            "moto's own latency is part of RedFire's figure: the GetItem runs in-process "
            "through botocore and moto's Python backend, not over the network to DynamoDB. "
            "The 'moto GetItem alone' row measures that share; on AWS a consistent GetItem "
            "is a network round trip of a few milliseconds instead.",
        ],
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

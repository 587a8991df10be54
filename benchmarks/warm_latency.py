"""Warm latency of ``GET /v1/orders/{id}`` through Mangum, against the bare app's route.

Both handlers get API Gateway HTTP API (payload 2.0) events built from the same
fixture, in one process, inside moto. RedFire's call authenticates the bearer token,
counts it against the caller's rate limit (on, with a limit this benchmark stays under)
and reads the order from DynamoDB (moto); the bare app does neither. Every counted answer
must be a 200. The calls run in alternating blocks so both series see the same machine.
More series show where the difference goes: a JWT verification alone, the route's own
GetItem alone (``TradingStore.get_order`` on moto), and a plain boto3 GetItem; the goal is
on RedFire's figure less the route's GetItem.
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

from benchmarks.common import (
    Result,
    Table,
    apply_bench_environment,
    mark,
    ms,
    percentile,
    status_of,
)

WARMUP = 200
CALLS = 1000
BLOCK = 100
GOAL = 1.5  # p50(RedFire) - p50(GetItem alone) <= 1.5 x p50(bare app)
# Per caller and second: far above what one process sends here, so the limiter counts (and
# leases) every request without refusing any.
RATE_LIMIT = 100_000


def _timed(call: Callable[[Any], Any], inputs: list[Any]) -> list[float]:
    samples = []
    answers = []
    for item in inputs:
        start = time.perf_counter()
        answer = call(item)
        samples.append(time.perf_counter() - start)
        answers.append(answer)
    for answer in answers:  # checked outside the timed region, every one of them
        if isinstance(answer, dict) and answer.get("statusCode", 200) != 200:
            raise RuntimeError(f"a counted request answered {answer['statusCode']}: {answer}")
    return samples


def measure(
    series: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]],
) -> dict[str, list[float]]:
    """Each series is (call, make one input); inputs are built outside the timed region.
    A handler's answer other than 200 stops the benchmark (a 429 would look fast)."""
    for call, make in series.values():
        _timed(call, [make() for _ in range(WARMUP)])
    samples: dict[str, list[float]] = {name: [] for name in series}
    for _ in range(CALLS // BLOCK):
        for name, (call, make) in series.items():
            samples[name] += _timed(call, [make() for _ in range(BLOCK)])
    return samples


def run() -> Result:
    apply_bench_environment()
    os.environ["REDFIRE_RATE_LIMIT_PER_SECOND"] = str(RATE_LIMIT)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    import boto3

    from benchmarks import bare_app
    from benchmarks.moto_account import SECRET, demo_account, place_order
    from redfire_api import security
    from redfire_api.deps import trading_store
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
        limiter = security._rate_limiter()
        store = trading_store()
        writes_before = getattr(limiter, "writes", None)
        samples = measure(
            {
                "bare": (lambda e: bare_app.handler(e, context), lambda: copy.deepcopy(bare)),
                "redfire": (lambda e: api_handler(e, context), lambda: copy.deepcopy(ours)),
                "jwt": (lambda t: verify_token(t, SECRET, settings), lambda: account.token),
                "getitem": (
                    lambda oid: store.get_order(account.account_id, oid),
                    lambda: order_id,
                ),
                "boto3": (
                    lambda k: dynamodb.get_item(TableName=table, Key=k, ConsistentRead=True),
                    lambda: key,
                ),
            }
        )

        requests = WARMUP + CALLS
        writes = None if writes_before is None else limiter.writes - writes_before
        lease = getattr(limiter, "lease", 1)

    p50 = {name: percentile(s, 50) for name, s in samples.items()}
    overhead = p50["redfire"] - p50["getitem"]
    met = overhead <= GOAL * p50["bare"]
    per_request = "1 (a write per request)" if writes is None else f"{writes / requests:.3f}"
    p99 = {name: percentile(s, 99) for name, s in samples.items()}
    labels = {
        "bare": "bare app, one route (reference)",
        "redfire": "`redfire_api.handler`, GET /v1/orders/{id}",
        "jwt": "for comparison: `verify_token` alone",
        "getitem": "the same GetItem alone (`TradingStore.get_order`, as the route calls it)",
        "boto3": "for comparison: moto GetItem alone (boto3, consistent read)",
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
        status=status_of([met]),
        summary=(
            f"p50 {ms(p50['redfire'])} ms - GetItem {ms(p50['getitem'])} ms = "
            f"{ms(overhead)} ms = {overhead / p50['bare']:.2f}x bare {ms(p50['bare'])} ms "
            f"(target <= {GOAL}x); every answer 200, rate limiter on at {per_request} "
            "writes/request"
        ),
        target=(
            f"p50(GET /v1/orders/{{id}}) - p50(the same GetItem alone) <= {GOAL} x p50(bare "
            "app), rate limiter on, every counted request answered 200"
        ),
        reference="`benchmarks.bare_app.handler` (the same GET route, no auth, no storage), "
        "called in the same process in alternating blocks",
        method=[
            "One process, inside `moto.mock_aws`, resources provisioned from the declaration, "
            "demo account seeded, one market order placed with POST /v1/orders first.",
            f"Each series: {WARMUP} warm-up calls, then {CALLS} timed calls in blocks of "
            f"{BLOCK}, alternating between series; events are deep copies of an API Gateway "
            "HTTP API v2 event from `tests/fixtures/events/apigw_http_v2.json`, built outside "
            "the timed region. Handlers are called directly with a `LambdaContext` stand-in.",
            "RedFire's handler runs with its Powertools decorators (logger, metrics; no "
            "deep tracing) exactly as Lambda calls it. Every answer of every series, warm-up "
            "included, is checked to be a 200 (outside the timed region).",
            f"The rate limiter is on (REDFIRE_RATE_LIMIT_PER_SECOND={RATE_LIMIT}, so none is "
            "refused): it leases tokens from DynamoDB (moto) in batches; writes are the "
            "limiter's conditional ADDs over the warm-up and counted calls.",
        ],
        tables=[
            Table(
                "Latency per call, ms",
                ["series", "calls", "p50", "p99", "min", "max"],
                rows,
            ),
            Table(
                "Goal",
                ["p50 RedFire - p50 GetItem", "p50 bare", "ratio", "target", "met"],
                [
                    [
                        ms(overhead),
                        ms(p50["bare"]),
                        f"{overhead / p50['bare']:.2f}",
                        f"<= {GOAL}",
                        mark(met),
                    ]
                ],
            ),
            Table(
                "Rate limiter",
                ["limit per caller and second", "lease", "requests", "writes", "per request"],
                [[str(RATE_LIMIT), str(lease), str(requests), str(writes), per_request]],
            ),
        ],
        notes=[
            "moto's own latency is part of RedFire's figure: the GetItem runs in-process "
            "through botocore and moto's Python backend, not over the network to DynamoDB. "
            "The 'same GetItem alone' row measures that share; on AWS a GetItem "
            "is a network round trip of a few milliseconds instead.",
            "Why the 1.5x goal is missed: besides the GetItem, each request runs the "
            "idempotency and body-limit middleware, the token check (HMAC, claims, the key's "
            "revocation cache), the leased rate limiter, FastAPI's routing and dependency "
            "resolution and pydantic's serialization of the order view; the bare app does "
            "none of these. Under load (a shared machine) the subtraction is noisy: compare "
            "minimums too.",
        ],
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

"""One account's orders in order: a burst of concurrent submits on one account, against the
same burst spread over several accounts, in the same run.

Inside moto (the same set-up as ``aws_calls``): ``BURST`` submits POSTed through the API
handler from ``THREADS`` threads at once, then the pipeline drives every order to its
decision. Counted: the conflict retries of the whole run (where the code retries a lost
conditional write: ``services.retrying``), the sequence numbers each account's orders got,
and the order in which the orders stream's consumer decided them. Every submit is checked
(201) and every order decided (none left ``submitted``).
"""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from benchmarks.common import Result, Table, apply_bench_environment

BURST = 50
THREADS = 10
SPREAD_ACCOUNTS = 5


def limit_buy(n: int) -> dict[str, str]:
    """A resting limit buy (prices spread so the self-trade and duplicate rules pass)."""
    return {
        "symbol": "GOOG",
        "side": "buy",
        "type": "limit",
        "quantity": "1",
        "limit_price": f"{90 + n % 7}.{n % 100:02d}",
        "time_in_force": "gtc",
    }


@contextmanager
def decisions_recorded(log: list[tuple[str, int | None]]) -> Iterator[None]:
    """Record (account, sequence) of each order the stream's consumer decides, in order."""
    from redfire_core.services import order_stream

    real = getattr(order_stream, "decide_order")  # noqa: B009

    def spy(store: Any, order: Any, *args: Any, **kwargs: Any) -> Any:
        log.append((order.account_id, order.sequence))
        return real(store, order, *args, **kwargs)

    setattr(order_stream, "decide_order", spy)  # noqa: B010 (typed module attribute)
    try:
        yield
    finally:
        setattr(order_stream, "decide_order", real)  # noqa: B010


def _own_event_loop() -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())


def burst(accounts: list[tuple[str, str]], pipeline: Any) -> dict[str, Any]:
    return burst_of(accounts, pipeline, BURST)


def burst_of(accounts: list[tuple[str, str]], pipeline: Any, count: int) -> dict[str, Any]:
    """POST ``count`` orders at once, round robin over ``accounts`` ((id, token) pairs),
    then decide them all."""
    from benchmarks.moto_account import place_order
    from redfire_core.services.retrying import conflict_retries
    from tests.support.serialised_moto import serialised_aws_calls

    def submit(n: int) -> tuple[str, dict[str, Any]]:
        account_id, token = accounts[n % len(accounts)]
        return account_id, place_order(token, limit_buy(n))

    retries_before = conflict_retries()
    started = time.perf_counter()
    # Each thread is one API invocation at a time, with its own event loop (Mangum's).
    pool = ThreadPoolExecutor(max_workers=THREADS, initializer=_own_event_loop)
    with serialised_aws_calls(), pool:
        placed = list(pool.map(submit, range(count)))
    submitted_seconds = time.perf_counter() - started
    decided: list[tuple[str, int | None]] = []
    with decisions_recorded(decided):
        pipeline.run_until_quiet()
    numbered: dict[str, list[int]] = defaultdict(list)
    for account_id, view in placed:
        numbered[account_id].append(int(view["sequence"]))
    decided_by: dict[str, list[int]] = defaultdict(list)
    for account_id, sequence in decided:
        decided_by[account_id].append(sequence if sequence is not None else -1)
    return {
        "retries": conflict_retries() - retries_before,
        "placed": len(placed),
        "decided": len(decided),
        "in_order": all(seqs == sorted(seqs) for seqs in decided_by.values()),
        "gapless": all(
            sorted(seqs) == list(range(min(seqs), min(seqs) + len(seqs)))
            for seqs in numbered.values()
        ),
        "accounts": len(numbered),
        "submitted_seconds": submitted_seconds,
        "failures": list(pipeline.failures),
    }


def run() -> Result:
    apply_bench_environment()
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    import tests.support.pipeline as pipeline_module
    from benchmarks.moto_account import demo_account, trader_token
    from redfire_core.adapters.audit_log import AuditLog
    from redfire_core.adapters.trading_store import TradingStore
    from redfire_core.config import get_settings
    from redfire_core.domain.orders import OrderStatus
    from redfire_core.services.accounts import open_account

    results: dict[str, dict[str, Any]] = {}
    with demo_account() as demo:
        settings = get_settings()
        pipeline = pipeline_module.Pipeline(settings.stage)
        now = datetime.now(UTC)
        store, audit = TradingStore(), AuditLog()
        others = [f"bench-{n}" for n in range(1, SPREAD_ACCOUNTS)]
        accounts = [(demo.account_id, demo.token)]
        for account_id in others:
            open_account(store, audit, account_id, actor="bench", now=now)
            accounts.append((account_id, trader_token(account_id, now)))
        # One uncounted order per account warms every cache and import on the path.
        burst_of(accounts, pipeline, len(accounts))
        results["one account"] = burst(accounts[:1], pipeline)
        results[f"{SPREAD_ACCOUNTS} accounts"] = burst(accounts, pipeline)
        left = {
            account_id: [
                o.id
                for o in store.list_orders(account_id, 200, None).items
                if o.status is OrderStatus.SUBMITTED
            ]
            for account_id in [demo.account_id, *others]
        }
    return report(results, sum(len(ids) for ids in left.values()))


def report(results: dict[str, dict[str, Any]], still_submitted: int) -> Result:
    one = results["one account"]
    met = (
        one["retries"] == 0
        and one["in_order"]
        and one["decided"] == BURST
        and still_submitted == 0
        and not any(r["failures"] for r in results.values())
    )
    rows = [
        [
            phase,
            str(r["accounts"]),
            str(r["placed"]),
            str(r["decided"]),
            "yes" if r["in_order"] else "**no**",
            "yes" if r["gapless"] else "**no**",
            str(r["retries"]),
            f"{r['submitted_seconds']:.2f}",
        ]
        for phase, r in results.items()
    ]
    return Result(
        name="order_sequence",
        title="One account's orders in order: a burst of concurrent submits",
        status="met" if met else "missed",
        summary=(
            f"{BURST} concurrent submits on one account: {one['retries']} conflict retries, "
            f"decided in sequence order: {'yes' if one['in_order'] else 'no'}; spread over "
            f"{SPREAD_ACCOUNTS} accounts: {results[f'{SPREAD_ACCOUNTS} accounts']['retries']} "
            "retries"
        ),
        target=f"a burst of {BURST} concurrent submits on one account: numbered 1..n per "
        "account when stored, decided in that order, and no transaction-conflict retry",
        reference=f"the same burst spread over {SPREAD_ACCOUNTS} accounts, in the same run",
        method=[
            f"Inside moto with the resources of the declaration: {BURST} resting limit buys "
            f"POSTed through the API handler from {THREADS} threads at once (AWS calls "
            "serialised, as moto needs: PITFALLS.md), each answer checked (201); then the "
            "pipeline (`tests.support.pipeline`) runs the orders stream's consumer and every "
            "queue until quiet. Conflict retries are counted where the code retries a lost "
            "conditional write (`redfire_core.services.retrying.conflict_retries`); the "
            "decision order is recorded at `order_stream.decide_order`.",
            "Per account, the sequence numbers the stored orders got must be consecutive "
            "(gapless) and the decisions must come in their order.",
        ],
        tables=[
            Table(
                "Burst of concurrent submits",
                [
                    "phase",
                    "accounts",
                    "submits (201)",
                    "decided",
                    "decided in sequence order",
                    "numbers gapless",
                    "conflict retries",
                    "submit wall time, s",
                ],
                rows,
            )
        ],
        notes=[
            "Why no retry: the number comes from one `UpdateItem ADD` on the account's "
            "`SEQUENCE` item, which no transaction touches, and the order is a new item; "
            "the decisions, which do write the account's book, run one at a time per "
            "account in the stream consumer (DynamoDB streams keep one item's writes in "
            "order, and an order waits for its predecessor's decision).",
            f"Orders left `submitted` after the pipeline went quiet: {still_submitted}.",
            "In moto every AWS call is serialised, so the wall time is not a measure of "
            "parallelism; across accounts, decisions on a deployed stage proceed in "
            "parallel per stream shard.",
            json.dumps({k: v["failures"] for k, v in results.items() if v["failures"]})
            if any(r["failures"] for r in results.values())
            else "No message failed in either phase.",
        ],
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

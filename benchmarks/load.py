"""Load against the local cloud over HTTP: concurrent clients and concurrent duplicate
submits of one ``client_order_id`` (the driver is ``tests/support/http_load.py``, which
``make test`` runs at 20 x 50 + 200). The reference, in the same run and on the same
cloud, is one client submitting the same kind of order alone, so the cost of contention
shows. Then the books, read back through the API: every acknowledged order stored once,
one order for all the duplicates, no 5xx.
"""

from __future__ import annotations

import time

from benchmarks.common import Result, Table, mark, ms, percentile

CLIENTS = 20
ORDERS_PER_CLIENT = 500
DUPLICATES = 1000
REFERENCE_ORDERS = 50


def run() -> Result:
    import httpx

    from benchmarks.local_cloud import LocalCloudProcess
    from tests.e2e.harness import mint_tokens
    from tests.support.http_load import ORDER, add_instrument, bearer, run_http_load

    cloud = LocalCloudProcess()
    client = cloud.start()
    try:
        accounts = [f"load-{n:02d}" for n in range(CLIENTS)]
        tokens = mint_tokens(cloud.workdir, [*accounts, "load-dup", "load-alone"], "trader")
        operator = mint_tokens(cloud.workdir, ["load-operator"], "operator")["load-operator"]
        add_instrument(client.api_url, operator)
        alone = []
        with httpx.Client(base_url=client.api_url, timeout=60) as api:
            for n in range(REFERENCE_ORDERS):
                started = time.perf_counter()
                response = api.post(
                    "/v1/orders",
                    json={**ORDER, "client_order_id": f"alone-{n}"},
                    headers=bearer(tokens["load-alone"]),
                )
                alone.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text
        report = run_http_load(
            client.api_url,
            {account: tokens[account] for account in accounts},
            tokens["load-dup"],
            ORDERS_PER_CLIENT,
            DUPLICATES,
        )
    finally:
        cloud.stop()
    total = CLIENTS * ORDERS_PER_CLIENT + DUPLICATES
    acknowledged = sum(len(acked) for acked in report.acknowledged.values())
    checks = {
        "no 5xx": report.server_errors == 0,
        "every submit acknowledged": report.submitted == total
        and acknowledged == CLIENTS * ORDERS_PER_CLIENT,
        "no order lost": not report.lost,
        "no order doubled": not report.doubled,
        "one order for the duplicates": report.duplicate_orders_stored == 1
        and len(report.duplicate_ids) == 1,
    }
    p50, p99 = percentile(report.latencies, 50), percentile(report.latencies, 99)
    return Result(
        name="load",
        title="Load: concurrent clients and duplicate submits on the local cloud",
        status="met" if all(checks.values()) else "missed",
        summary=(
            f"{report.submitted} submits from {CLIENTS + DUPLICATES} threads: "
            f"{report.server_errors} 5xx, {len(report.lost)} lost, {len(report.doubled)} "
            f"doubled, {report.duplicate_orders_stored} order for {DUPLICATES} duplicates; "
            f"p50 {ms(p50)} ms, p99 {ms(p99)} ms"
        ),
        target="zero lost, zero 5xx, exactly one order for the duplicates; p50/p99 recorded",
        reference=f"one client submitting {REFERENCE_ORDERS} orders alone, same cloud, same run",
        method=[
            "`redfire dev` started fresh in a temporary folder (moto behind its DynamoDB lock, "
            "the API gateway on 127.0.0.1, every poller running: risk reviews each order "
            "while the load goes on).",
            f"{CLIENTS} client threads, each an account of its own with its own token, submit "
            f"{ORDERS_PER_CLIENT} resting limit orders each (a symbol without a price feed); "
            f"{DUPLICATES} threads released together submit one `client_order_id`.",
            "Then every account's orders are listed through the API: each acknowledged "
            "`client_order_id` stored exactly once, one order for all the duplicates.",
        ],
        tables=[
            Table(
                "POST /v1/orders latency, ms",
                ["series", "requests", "p50", "p99", "requests/s"],
                [
                    [
                        f"{CLIENTS} clients x {ORDERS_PER_CLIENT} + {DUPLICATES} duplicates",
                        str(report.submitted),
                        ms(p50),
                        ms(p99),
                        f"{report.submitted / report.wall_seconds:.1f}",
                    ],
                    [
                        "reference: one client alone",
                        str(len(alone)),
                        ms(percentile(alone, 50)),
                        ms(percentile(alone, 99)),
                        f"{len(alone) / sum(alone):.1f}",
                    ],
                ],
            ),
            Table(
                "Checks", ["check", "held"], [[name, mark(held)] for name, held in checks.items()]
            ),
        ],
        notes=[
            f"Statuses: {dict(sorted(report.statuses.items()))}.",
            "The local cloud serialises DynamoDB requests (moto is not thread-safe), so "
            "concurrent latency here is mostly the queue for that lock; DynamoDB itself has "
            "no such lock.",
        ],
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

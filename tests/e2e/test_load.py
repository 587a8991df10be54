"""A bounded load test against the local cloud on 127.0.0.1 over real HTTP: 20 clients
(an account each) submit 50 orders each while 200 concurrent submits repeat one
``client_order_id``. Zero 5xx, zero lost (every acknowledged order is stored, once),
exactly one order for the duplicates. The larger run is ``python -m benchmarks load``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import LocalCloudProcess, mint_tokens, start_local_cloud
from tests.support.http_load import add_instrument, run_http_load

pytestmark = pytest.mark.slow

CLIENTS = 20
ORDERS_PER_CLIENT = 50
DUPLICATES = 200


@pytest.fixture
def own_cloud(tmp_path: Path) -> Iterator[LocalCloudProcess]:
    """A local cloud of this test's own: the risk reviews of its 1,000 orders go on after
    the submits, and must not queue ahead of the other tests' orders."""
    cloud = start_local_cloud(tmp_path)
    yield cloud
    cloud.stop()


def test_concurrent_clients_and_duplicate_submits_lose_and_double_nothing(
    own_cloud: LocalCloudProcess,
) -> None:
    local_cloud = own_cloud
    accounts = [f"load-{n:02d}" for n in range(CLIENTS)]
    tokens = mint_tokens(local_cloud.workdir, [*accounts, "load-dup"], role="trader")
    operator = mint_tokens(local_cloud.workdir, ["load-operator"], role="operator")
    add_instrument(local_cloud.api_url, operator["load-operator"])

    report = run_http_load(
        local_cloud.api_url,
        {account: tokens[account] for account in accounts},
        tokens["load-dup"],
        ORDERS_PER_CLIENT,
        DUPLICATES,
    )

    assert report.submitted == CLIENTS * ORDERS_PER_CLIENT + DUPLICATES
    assert report.server_errors == 0, report.statuses
    assert set(report.statuses) <= {200, 201}, report.statuses
    assert report.statuses[201] == CLIENTS * ORDERS_PER_CLIENT + 1  # one created duplicate
    assert all(len(acked) == ORDERS_PER_CLIENT for acked in report.acknowledged.values())
    assert report.lost == [] and report.doubled == []
    assert len(report.duplicate_ids) == 1 and report.duplicate_orders_stored == 1
    cuts = statistics.quantiles(report.latencies, n=100)
    print(f"\nload: {report.submitted} submits in {report.wall_seconds:.1f} s, "
          f"p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms")  # fmt: skip

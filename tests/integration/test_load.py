"""A bounded load run in `make test`: 20 clients x 5 orders and 20 concurrent duplicates of
one client_order_id through the API entry point: nothing lost, nothing doubled, no 5xx.

Submission only: the pipeline under load and faults is tests/integration/
test_fault_injection.py (moto's transactions copy whole tables, so settling 120 orders
here would cost minutes). The larger run is `python -m benchmarks load` (RESULTS.md)."""

from __future__ import annotations

import pytest

from redfire_core.adapters.trading_store import TradingStore
from tests.integration.conftest import SECRET, call_api
from tests.support.load import run_load

CLIENTS = 20
ORDERS_PER_CLIENT = 5
DUPLICATES = 20


@pytest.mark.slow
def test_concurrent_clients_and_duplicate_submits_lose_and_double_nothing(
    seeded: TradingStore,
) -> None:
    report = run_load(
        seeded,
        SECRET,
        clients=CLIENTS,
        orders_per_client=ORDERS_PER_CLIENT,
        duplicates=DUPLICATES,
        call_api=call_api,
        settle=False,
    )
    assert report.submitted == CLIENTS * ORDERS_PER_CLIENT + DUPLICATES
    assert report.server_errors == 0, report.statuses
    assert set(report.statuses) <= {200, 201}, report.statuses
    assert report.lost == [] and report.doubled == []
    assert report.stored == CLIENTS * ORDERS_PER_CLIENT
    assert report.unsettled == []
    # Every duplicate submit was answered with the one order, and only one was stored.
    assert len(report.duplicate_ids) == 1 and report.duplicate_orders_stored == 1

"""A bounded load run against the in-process pipeline (API through Mangum, moto, handlers).

``clients`` threads, each an account of its own with its own token, submit
``orders_per_client`` orders through the API entry point, while ``duplicates`` threads
submit the same ``client_order_id`` at once; then the pipeline runs until quiet and the
books are checked. Used by ``tests/integration/test_load.py`` (small) and by
``benchmarks/load.py`` (large, figures into RESULTS.md). AWS calls are serialised as the
local cloud serialises them (moto's transactions are not thread-safe: PITFALLS.md).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.auth import Role, issue_token
from redfire_core.config import get_settings
from redfire_core.domain.orders import OrderStatus
from redfire_core.services.accounts import open_account
from tests.support.pipeline import Pipeline
from tests.support.serialised_moto import serialised_aws_calls

SETTLED = {
    OrderStatus.FILLED,
    OrderStatus.CANCELED,
    OrderStatus.REJECTED,
    OrderStatus.DENIED,
    OrderStatus.EXPIRED,
    OrderStatus.ACCEPTED,  # a resting limit order
    OrderStatus.PARTIALLY_FILLED,
}
DUPLICATE_ACCOUNT = "load-dup"
DUPLICATE_CID = "the-one-order"


@dataclass
class LoadReport:
    submitted: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds per accepted submit
    duplicate_ids: set[str] = field(default_factory=set)
    lost: list[str] = field(default_factory=list)  # acknowledged client order ids not stored
    doubled: list[str] = field(default_factory=list)  # client order ids stored more than once
    unsettled: list[str] = field(default_factory=list)  # orders neither final nor resting
    duplicate_orders_stored: int = 0
    stored: int = 0  # orders stored for the clients' accounts
    wall_seconds: float = 0.0
    pipeline_seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def _token(account_id: str, secret: str) -> str:
    return issue_token(
        secret,
        account_id=account_id,
        role=Role.TRADER,
        subject=f"load-{account_id}",
        settings=get_settings(),
        now=datetime.now(UTC),
    )


def _body(client: int, n: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": "GOOG",
        "side": "buy",
        "type": "market" if n % 2 == 0 else "limit",
        "quantity": str(1 + n % 3),
        "client_order_id": f"load-{client}-{n}",
    }
    if body["type"] == "limit":
        body |= {"limit_price": "50.00", "time_in_force": "gtc"}
    return body


def run_load(
    store: TradingStore,
    secret: str,
    *,
    clients: int,
    orders_per_client: int,
    duplicates: int,
    call_api: Any,
    settle: bool = True,
) -> LoadReport:
    """Submit concurrently, run the pipeline until quiet (with ``settle``), then check the
    books: every acknowledged order stored once, the duplicates as one order."""
    report = LoadReport()
    now = datetime.now(UTC)
    accounts = [f"load-{client}" for client in range(clients)]
    for account_id in [*accounts, DUPLICATE_ACCOUNT]:
        open_account(store, AuditLog(), account_id, actor="load", now=now)
    tokens = {account_id: _token(account_id, secret) for account_id in accounts}
    duplicate_token = _token(DUPLICATE_ACCOUNT, secret)
    lock = threading.Lock()

    def submit(token: str, body: dict[str, Any]) -> str | None:
        start = time.perf_counter()
        status, _, answer = call_api("POST", "/v1/orders", token=token, body=body)
        elapsed = time.perf_counter() - start
        with lock:
            report.submitted += 1
            report.statuses[status] += 1
            if status < 300:
                report.latencies.append(elapsed)
        return answer["id"] if status < 300 else None

    def client(index: int) -> list[tuple[str, str | None]]:
        token = tokens[accounts[index]]
        return [
            (body["client_order_id"], submit(token, body))
            for body in (_body(index, n) for n in range(orders_per_client))
        ]

    duplicate = {
        "symbol": "GOOG",
        "side": "buy",
        "type": "limit",
        "quantity": "1",
        "limit_price": "50.00",
        "time_in_force": "gtc",
        "client_order_id": DUPLICATE_CID,
    }
    started = time.perf_counter()
    workers = ThreadPoolExecutor(max_workers=clients + duplicates, initializer=_own_event_loop)
    with serialised_aws_calls(), workers as pool:
        client_runs = [pool.submit(client, index) for index in range(clients)]
        duplicate_runs = [
            pool.submit(submit, duplicate_token, dict(duplicate)) for _ in range(duplicates)
        ]
        acknowledged = [pair for run in client_runs for pair in run.result()]
        report.duplicate_ids = {i for i in (run.result() for run in duplicate_runs) if i}
    report.wall_seconds = time.perf_counter() - started

    settled = SETTLED if settle else SETTLED | {OrderStatus.SUBMITTED}
    if settle:
        started = time.perf_counter()
        rounds = 10 + clients * orders_per_client // 5
        Pipeline(get_settings().stage).run_until_quiet(rounds=rounds)
        report.pipeline_seconds = time.perf_counter() - started

    for index, account_id in enumerate(accounts):
        orders = _all_orders(store, account_id)
        stored = Counter(o.client_order_id for o in orders)
        for cid, order_id in acknowledged:
            if not cid.startswith(f"load-{index}-"):
                continue
            if order_id is not None and stored[cid] == 0:
                report.lost.append(cid)
            if stored[cid] > 1:
                report.doubled.append(cid)
        report.unsettled += [o.id for o in orders if o.status not in settled]
        report.stored += len(orders)
    duplicates_stored = _all_orders(store, DUPLICATE_ACCOUNT)
    report.duplicate_orders_stored = len(duplicates_stored)
    report.unsettled += [o.id for o in duplicates_stored if o.status not in settled]
    return report


def _own_event_loop() -> None:
    """Mangum runs the app on the thread's event loop, as each Lambda sandbox has one."""
    asyncio.set_event_loop(asyncio.new_event_loop())


def _all_orders(store: TradingStore, account_id: str) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = store.list_orders(account_id, 100, cursor)
        items += page.items
        cursor = page.next_cursor
        if not cursor:
            return items

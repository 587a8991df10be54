"""A bounded load run against a running local cloud over real HTTP.

Each client (an account of its own, its own token) submits ``orders_per_client`` resting
limit orders with client order ids of its own, while ``duplicates`` threads, released
together, submit one ``client_order_id`` of another account. Then every account's orders
are read back through the API: each acknowledged order stored exactly once, one order
for all the duplicates. Used by ``tests/e2e/test_load.py`` (the issue's size for
``make test``) and ``benchmarks/load.py`` (the larger run).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

# A symbol of its own, with no price feed: the resting orders it collects cost the rest of
# the cloud nothing (no bar walks them).
SYMBOL = "LOADTEST"
INSTRUMENT = {"symbol": SYMBOL, "asset_class": "equity", "currency": "USD", "tick_size": "0.01",
              "lot_size": "1", "min_quantity": "1", "price_precision": 2}  # fmt: skip
ORDER = {"symbol": SYMBOL, "side": "buy", "type": "limit", "quantity": "1",
         "limit_price": "1.00", "time_in_force": "gtc"}  # fmt: skip
DUPLICATE_CID = "the-one-order"


@dataclass
class HttpLoadReport:
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    acknowledged: dict[str, dict[str, str]] = field(default_factory=dict)  # cid -> order id
    duplicate_ids: set[str] = field(default_factory=set)
    lost: list[str] = field(default_factory=list)  # acknowledged, not stored as acknowledged
    doubled: list[str] = field(default_factory=list)  # stored more than once
    duplicate_orders_stored: int = 0
    wall_seconds: float = 0.0

    @property
    def submitted(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_instrument(api_url: str, operator_token: str) -> None:
    """The load's own instrument (an operator adds it; 409 when an earlier run did)."""
    created = httpx.post(
        f"{api_url}/v1/instruments", json=INSTRUMENT, headers=bearer(operator_token), timeout=30
    )
    assert created.status_code in (201, 409), created.text


def stored_orders(api: httpx.Client, token: str) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/orders", params=params, headers=bearer(token)).json()
        orders.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return orders


def run_http_load(
    api_url: str,
    client_tokens: dict[str, str],
    duplicate_token: str,
    orders_per_client: int,
    duplicates: int,
) -> HttpLoadReport:
    report = HttpLoadReport(acknowledged={account: {} for account in client_tokens})
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=len(client_tokens) + duplicates)
    released = threading.Barrier(duplicates)

    with httpx.Client(base_url=api_url, timeout=300, limits=limits) as api:

        def submit(token: str, cid: str) -> str | None:
            started = time.perf_counter()
            response = api.post(
                "/v1/orders", json={**ORDER, "client_order_id": cid}, headers=bearer(token)
            )
            ok = response.status_code in (200, 201)
            with lock:
                report.statuses[response.status_code] += 1
                report.latencies.append(time.perf_counter() - started)
            return str(response.json()["id"]) if ok else None

        def client(account: str) -> None:
            for n in range(orders_per_client):
                cid = f"{account}-{n}"
                order_id = submit(client_tokens[account], cid)
                if order_id:
                    with lock:
                        report.acknowledged[account][cid] = order_id

        def duplicate(_: int) -> None:
            released.wait()
            order_id = submit(duplicate_token, DUPLICATE_CID)
            if order_id:
                with lock:
                    report.duplicate_ids.add(order_id)

        started = time.perf_counter()
        with ThreadPoolExecutor(len(client_tokens) + duplicates) as pool:
            work = [pool.submit(client, account) for account in client_tokens]
            work += [pool.submit(duplicate, n) for n in range(duplicates)]
            for done in work:
                done.result()
        report.wall_seconds = time.perf_counter() - started

        report.duplicate_orders_stored = len(stored_orders(api, duplicate_token))
        for account, token in client_tokens.items():
            stored = stored_orders(api, token)
            counts = Counter(order["client_order_id"] for order in stored)
            report.doubled += [cid for cid, n in counts.items() if n > 1]
            found = {order["client_order_id"]: order["id"] for order in stored}
            report.lost += [
                cid for cid, oid in report.acknowledged[account].items() if found.get(cid) != oid
            ]
    return report

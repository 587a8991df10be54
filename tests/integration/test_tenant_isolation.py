"""Every route of the OpenAPI document, called by account B with account A's identifiers:
B never sees or changes anything of A's (404 or B's own empty data, never A's)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from redfire_api.app import create_app
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.auth import Role
from tests.integration.conftest import call_api, token_for
from tests.support.pipeline import Pipeline

PUBLIC = {("GET", "/health"), ("POST", "/v1/auth/token")}
# A body that is valid enough to reach the route's logic for each method and path.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/v1/orders/{order_id}"): {"quantity": "2"},
    ("POST", "/v1/orders"): {
        "symbol": "GOOG",
        "side": "buy",
        "type": "limit",
        "quantity": "1",
        "limit_price": "1.00",
        "time_in_force": "gtc",
    },
    ("PATCH", "/v1/account"): {"slippage_bps": "1"},
    ("POST", "/v1/api-keys"): {"name": "b", "scopes": ["read"]},
}


def operations() -> list[tuple[str, str]]:
    spec = create_app().openapi()
    return sorted(
        (method.upper(), path)
        for path, methods in spec["paths"].items()
        for method in methods
        if (method.upper(), path) not in PUBLIC
    )


@pytest.fixture
def account_a(seeded: TradingStore, pipeline: Pipeline) -> dict[str, Any]:
    """A's footprint: a filled order (trade, position, ledger), a resting order, a key."""
    admin_a = token_for("demo", Role.ADMIN)
    filled = call_api(
        "POST",
        "/v1/orders",
        token=admin_a,
        body={
            "symbol": "GOOG",
            "side": "buy",
            "type": "market",
            "quantity": "3",
            "client_order_id": "a-filled-cid",
        },
    )[2]
    resting = call_api(
        "POST",
        "/v1/orders",
        token=admin_a,
        body={
            "symbol": "GOOG",
            "side": "buy",
            "type": "limit",
            "quantity": "1",
            "limit_price": "50.00",
            "time_in_force": "gtc",
            "client_order_id": "a-secret-cid",
        },
    )[2]
    pipeline.run_until_quiet()
    key = call_api(
        "POST", "/v1/api-keys", token=admin_a, body={"name": "a-key", "scopes": ["read"]}
    )[2]
    trades = seeded.list_trades("demo").items
    assert trades and seeded.get_position("demo", "GOOG").quantity == 3
    return {
        "order_id": resting["id"],
        "filled_id": filled["id"],
        "client_order_id": "a-secret-cid",
        "key_id": key["key_id"],
        "trade_ids": [t.trade_id for t in trades],
        "snapshot": snapshot(seeded),
    }


def snapshot(store: TradingStore) -> tuple[Any, ...]:
    orders = store.list_orders("demo", 100, None).items
    position = store.get_position("demo", "GOOG")
    account = store.get_account("demo")
    return (sorted((o.id, o.status, o.version) for o in orders), position, account)


def fill_path(path: str, a: dict[str, Any]) -> str:
    values = {
        "symbol": "GOOG",
        "order_id": a["order_id"],
        "key_id": a["key_id"],
        "client_order_id": a["client_order_id"],
    }
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), a["order_id"])), path)


def secrets_of(a: dict[str, Any]) -> list[str]:
    return [
        a["order_id"],
        a["filled_id"],
        a["client_order_id"],
        "a-filled-cid",
        a["key_id"],
        *a["trade_ids"],
    ]


def test_account_b_can_neither_read_nor_change_anything_of_account_a(
    account_a: dict[str, Any], other_account: str, seeded: TradingStore
) -> None:
    b = token_for(other_account, Role.ADMIN)
    leaks, wrong_status = [], []
    for method, path in operations():
        url = fill_path(path, account_a)
        status, _, body = call_api(method, url, token=b, body=BODIES.get((method, path)))
        text = json.dumps(body)
        # An id B sent may be echoed back ("no order 'x'"); anything else of A's is a leak.
        leaked = [s for s in secrets_of(account_a) if s in text and s not in url]
        if leaked:
            leaks.append(f"{method} {path} -> {status}: {leaked}")
        names_a = "{" in path and path.split("{")[1].split("}")[0] != "symbol"
        if names_a and status < 400:
            wrong_status.append(f"{method} {path} -> {status}")
    assert leaks == []
    assert wrong_status == []
    assert snapshot(seeded) == account_a["snapshot"]
    assert (
        call_api("GET", "/v1/api-keys", token=token_for("demo", Role.ADMIN))[2]["items"][0][
            "revoked_at"
        ]
        is None
    )


def test_the_enumeration_covers_every_account_route() -> None:
    covered = {path for _, path in operations()}
    assert {
        "/v1/orders/{order_id}",
        "/v1/api-keys/{key_id}",
        "/v1/positions/{symbol}",
        "/v1/account/activities",
        "/v1/trades",
        "/v1/audit",
    } <= covered

"""List cursors are opaque, signed, and bound to their list and account (issue 13, item 10):
every list route in the OpenAPI document answers 422 REQUEST_INVALID for a cursor it did
not issue (forged ones used to reach DynamoDB and give 500s)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest

from redfire_api.app import create_app
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.roles import Role
from tests.integration.conftest import call_api, token_for

MARKET_BUY = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"}
# Values for the required query parameters of list routes (GET /v1/bars needs a range).
REQUIRED_QUERY = {
    "symbol": "GOOG",
    "interval": "1d",
    "start": "2024-01-01T00:00:00Z",
    "end": "2024-03-01T00:00:00Z",
}


def _raw(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def list_routes() -> list[tuple[str, str]]:
    """(path, query) of every GET in the OpenAPI document that takes a ``cursor``."""
    routes = []
    for path, operations in create_app().openapi()["paths"].items():
        parameters = operations.get("get", {}).get("parameters", [])
        if not any(p["name"] == "cursor" and p["in"] == "query" for p in parameters):
            continue
        required = [p["name"] for p in parameters if p.get("required") and p["in"] == "query"]
        assert "{" not in path, f"{path}: a list route with path parameters needs a value here"
        routes.append((path, "&".join(f"{name}={REQUIRED_QUERY[name]}" for name in required)))
    return routes


LIST_ROUTES = list_routes()
# Cursors no list issued: junk, the old unsigned format (an offset, another account's
# DynamoDB key, a date past year 9999), and signed-looking shapes without a valid MAC.
MALFORMED = [
    "garbage",
    ".",
    "e30=.",
    _raw({"offset": 2}),
    _raw({"pk": "other", "sk": "ORDER#01J0000000000000000000000"}),
    _raw({"t": "9999-12-31T23:59:00Z"}),
    _raw({"pk": ["not", "a", "key"]}),
    _raw({"offset": 2}) + ".AAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "\u0661.\u0661",
]


def get(path: str, query: str, cursor: str, account: str = "demo") -> tuple[int, Any]:
    url = f"{path}?{query}&cursor={quote(cursor)}" if query else f"{path}?cursor={quote(cursor)}"
    status, _, body = call_api("GET", url, token=token_for(account, Role.ADMIN))
    return status, body


def assert_refused(status: int, body: Any) -> None:
    assert status == 422, body
    assert body["code"] == "REQUEST_INVALID"
    assert body["errors"][0]["field"] == "cursor"


def test_the_walk_covers_every_list_the_issue_names() -> None:
    walked = {path for path, _ in LIST_ROUTES}
    assert walked >= {
        "/v1/orders",
        "/v1/trades",
        "/v1/audit",
        "/v1/backtests",
        "/v1/strategies/instances",
        "/v1/account/activities",
        "/v1/bars",
        "/v1/instruments",
        "/v1/positions",
    }


@pytest.mark.parametrize(("path", "query"), LIST_ROUTES)
def test_every_list_refuses_a_malformed_or_forged_cursor(
    seeded: TradingStore, path: str, query: str
) -> None:
    for cursor in MALFORMED:
        assert_refused(*get(path, query, cursor))


@pytest.mark.parametrize(("path", "query"), LIST_ROUTES)
def test_every_list_refuses_another_accounts_or_another_lists_cursor(
    seeded: TradingStore, other_account: str, path: str, query: str
) -> None:
    from redfire_api.paging import seal

    # Given positions signed with the stage's key for this list but another account, and
    # for this account but every other list
    position = _raw({"offset": 1})
    foreign = [seal(position, path, other_account)]
    foreign += [seal(position, other, "demo") for other, _ in LIST_ROUTES if other != path]

    # Then the list refuses each of them before any store reads it
    for cursor in foreign:
        assert cursor is not None
        assert_refused(*get(path, query, cursor))


def test_a_cursor_works_only_for_the_list_and_account_it_was_issued_to(
    seeded: TradingStore, other_account: str
) -> None:
    # Given a real next_cursor of the demo account's orders
    for _ in range(3):
        call_api("POST", "/v1/orders", body=MARKET_BUY, token=token_for())
    status, _, first = call_api("GET", "/v1/orders?limit=2", token=token_for())
    cursor = first["next_cursor"]
    assert status == 200 and cursor

    # Then it pages the demo account's orders
    status, body = get("/v1/orders", "limit=2", cursor)
    assert status == 200 and len(body["items"]) == 1

    # And it is refused to the other account, on the trades list, and when edited
    assert_refused(*get("/v1/orders", "limit=2", cursor, account=other_account))
    assert_refused(*get("/v1/trades", "", cursor))
    position, _, signature = cursor.rpartition(".")
    flipped = "A" if signature[0] != "A" else "B"
    assert_refused(*get("/v1/orders", "", f"{position}.{flipped}{signature[1:]}"))
    assert_refused(*get("/v1/orders", "", f"{_raw({'offset': 0})}.{signature}"))


def test_graphql_connections_refuse_a_cursor_they_did_not_issue(seeded: TradingStore) -> None:
    from redfire_api.paging import seal

    query = "{ orders(first: 1, after: %s) { items { id } nextCursor } }"
    status, _, body = call_api(
        "POST", "/graphql", body={"query": query % json.dumps("garbage")}, token=token_for()
    )
    assert status == 200
    assert body["errors"][0]["extensions"]["code"] == "REQUEST_INVALID"
    trades_cursor = seal(_raw({"offset": 1}), "/v1/trades", "demo")
    status, _, body = call_api(
        "POST", "/graphql", body={"query": query % json.dumps(trades_cursor)}, token=token_for()
    )
    assert body["errors"][0]["extensions"]["code"] == "REQUEST_INVALID"


def test_bars_near_year_9999_page_to_the_end_without_overflow(seeded: TradingStore) -> None:
    # Given a range that ends in the last days datetime can hold
    query = "symbol=GOOG&interval=1m&start=9999-12-20T00:00:00Z&end=9999-12-31T23:00:00Z"
    status, _, page = call_api("GET", f"/v1/bars?{query}", token=token_for())

    # Then every page answers, up to the last one
    pages = 1
    while status == 200 and page["next_cursor"]:
        status, page = get("/v1/bars", query, page["next_cursor"])
        pages += 1
    assert status == 200, page
    assert page["next_cursor"] is None and pages >= 2


def test_a_bars_cursor_for_another_range_is_refused(seeded: TradingStore) -> None:
    # Given a cursor issued for a range in 2024
    query = "symbol=GOOG&interval=1m&start=2024-01-01T00:00:00Z&end=2024-01-10T00:00:00Z"
    _, _, page = call_api("GET", f"/v1/bars?{query}", token=token_for())
    assert page["next_cursor"]

    # Then a request for a range that does not hold its position refuses it
    later = "symbol=GOOG&interval=1m&start=2025-01-01T00:00:00Z&end=2025-01-10T00:00:00Z"
    assert_refused(*get("/v1/bars", later, page["next_cursor"]))

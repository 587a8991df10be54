"""GraphQL at POST /graphql: the same services, auth, tenant scoping and codes as REST."""

from __future__ import annotations

from typing import Any

import pytest

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.auth import Role
from tests.integration.conftest import call_api, token_for
from tests.support.pipeline import Pipeline

ORDER_FIELDS = """
    id clientOrderId status symbol side type quantity limitPrice stopPrice trailPrice
    trailPercent timeInForce filledQuantity averageFillPrice commission rejectReason rejectReasons
    replaces replacedBy expiresAt createdAt updatedAt
"""
PLACE = f"""
mutation Place($input: PlaceOrderInput!) {{ placeOrder(input: $input) {{ {ORDER_FIELDS} }} }}
"""
GRAPHQL_ORDER = {
    "symbol": "GOOG",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "10",
    "limitPrice": "99.50",
    "timeInForce": "GTC",
}
REST_ORDER = {
    "symbol": "GOOG",
    "side": "buy",
    "type": "limit",
    "quantity": "10",
    "limit_price": "99.50",
    "time_in_force": "gtc",
}


def graphql(
    query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    status, _, body = call_api(
        "POST",
        "/graphql",
        body={"query": query, "variables": variables or {}},
        token=token if token is not None else token_for(),
    )
    return status, body


def as_rest(order: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL order in REST's spelling (snake_case, lowercase enums)."""
    import re

    rest = {}
    for name, value in order.items():
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        rest[snake] = (
            value.lower() if snake in ("status", "side", "type", "time_in_force") else value
        )
    return rest


def test_place_order_gives_the_order_rest_then_shows(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    status, body = graphql(PLACE, {"input": GRAPHQL_ORDER})
    assert status == 200 and "errors" not in body, body
    placed = body["data"]["placeOrder"]
    assert (
        placed["side"] == "BUY" and placed["quantity"] == "10" and placed["limitPrice"] == "99.50"
    )

    _, _, rest = call_api("GET", f"/v1/orders/{placed['id']}", token=token_for())
    assert as_rest(placed) == rest


def test_orders_query_matches_the_rest_list_with_the_same_pagination(
    seeded: TradingStore,
) -> None:
    for n in range(3):
        call_api(
            "POST", "/v1/orders", body={**REST_ORDER, "limit_price": f"9{n}"}, token=token_for()
        )
    query = f"""query($after: String) {{
        orders(status: [SUBMITTED], symbol: "GOOG", first: 2, after: $after) {{
            items {{ {ORDER_FIELDS} }} nextCursor }} }}"""
    _, first = graphql(query)
    page = first["data"]["orders"]
    _, _, rest = call_api(
        "GET", "/v1/orders?limit=2&status=submitted&symbol=GOOG", token=token_for()
    )
    assert [as_rest(o) for o in page["items"]] == rest["items"]
    assert page["nextCursor"] == rest["next_cursor"]

    _, second = graphql(query, {"after": page["nextCursor"]})
    assert len(second["data"]["orders"]["items"]) == 1


def test_account_trades_positions_and_instruments_match_rest(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    call_api(
        "POST",
        "/v1/orders",
        body={**REST_ORDER, "type": "market", "limit_price": None},
        token=token_for(),
    )
    pipeline.run_until_quiet()
    _, body = graphql(
        """{ account { id cash equity buyingPower }
             trades { items { tradeId orderId side quantity price } nextCursor }
             positions { items { symbol quantity averageCost marketValue } }
             instruments(first: 2) { items { symbol tickSize } nextCursor } }"""
    )
    assert "errors" not in body, body
    data = body["data"]
    _, _, account = call_api("GET", "/v1/account", token=token_for())
    _, _, trades = call_api("GET", "/v1/trades", token=token_for())
    _, _, positions = call_api("GET", "/v1/positions", token=token_for())
    assert data["account"]["cash"] == account["cash"]
    assert data["account"]["buyingPower"] == account["buying_power"]
    assert [t["tradeId"] for t in data["trades"]["items"]] == [
        t["trade_id"] for t in trades["items"]
    ]
    assert data["trades"]["items"][0]["side"] == "BUY"
    assert [p["quantity"] for p in data["positions"]["items"]] == [
        p["quantity"] for p in positions["items"]
    ]
    assert len(data["instruments"]["items"]) == 2


def test_another_accounts_order_is_not_found(seeded: TradingStore, other_account: str) -> None:
    _, _, mine = call_api("POST", "/v1/orders", body=REST_ORDER, token=token_for())
    theirs = token_for(other_account)
    _, body = graphql(f'{{ order(id: "{mine["id"]}") {{ id }} }}', token=theirs)
    assert body["data"]["order"] is None
    _, listed = graphql("{ orders { items { id } nextCursor } }", token=theirs)
    assert listed["data"]["orders"]["items"] == []


def test_cancel_order_is_the_same_service_as_rest(seeded: TradingStore) -> None:
    _, _, order = call_api("POST", "/v1/orders", body=REST_ORDER, token=token_for())
    _, body = graphql(f'mutation {{ cancelOrder(id: "{order["id"]}") {{ id status }} }}')
    assert body["data"]["cancelOrder"]["status"] == "PENDING_CANCEL"
    _, again = graphql(f'mutation {{ cancelOrder(id: "{order["id"]}") {{ status }} }}')
    assert again["data"]["cancelOrder"]["status"] == "PENDING_CANCEL"


def test_a_broken_rule_carries_the_rest_code(seeded: TradingStore) -> None:
    bad_tick = {**GRAPHQL_ORDER, "limitPrice": "99.505"}
    _, body = graphql(PLACE, {"input": bad_tick})
    rest_status, _, rest = call_api(
        "POST", "/v1/orders", body={**REST_ORDER, "limit_price": "99.505"}, token=token_for()
    )
    error = body["errors"][0]["extensions"]
    assert (error["code"], error["status"]) == (rest["code"], rest_status)


def test_an_unknown_order_to_cancel_is_order_not_found(seeded: TradingStore) -> None:
    _, body = graphql('mutation { cancelOrder(id: "nope") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "ORDER_NOT_FOUND"


def test_a_viewer_cannot_place_orders(seeded: TradingStore) -> None:
    _, body = graphql(PLACE, {"input": GRAPHQL_ORDER}, token=token_for("demo", Role.VIEWER))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_no_valid_token_is_401_problem_json(seeded: TradingStore, token: str) -> None:
    status, _, body = call_api(
        "POST", "/graphql", body={"query": "{ account { id } }"}, token=token or None
    )
    assert status == 401 and body["code"] == "UNAUTHORIZED"


def test_a_query_too_deep_is_refused_before_it_runs(seeded: TradingStore) -> None:
    _, body = graphql("{ orders { items { id } } a: orders { items { x { y { z { w } } } } } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"


def test_a_query_too_costly_is_refused_before_it_runs(seeded: TradingStore) -> None:
    fields = " ".join(f"f{n}: id" for n in range(60))
    _, body = graphql(f"{{ orders(first: 500) {{ items {{ {fields} }} }} }}")
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_a_malformed_query_is_a_graphql_error(seeded: TradingStore) -> None:
    _, body = graphql("{ orders { ")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_bars_come_from_the_rest_bars_route_with_its_codes(seeded: TradingStore) -> None:
    query = """query($symbol: String!) { bars(symbol: $symbol, interval: "1m",
        start: "2026-11-25T09:00:00Z", end: "2026-11-25T10:00:00Z") {
        items { timestamp close } nextCursor } }"""
    status, _, rest = call_api(
        "GET",
        "/v1/bars?symbol=GOOG&interval=1m&start=2026-11-25T09:00:00Z&end=2026-11-25T10:00:00Z",
        token=token_for(),
    )
    assert status == 200
    _, body = graphql(query, {"symbol": "GOOG"})
    assert "errors" not in body, body
    assert [b["timestamp"] for b in body["data"]["bars"]["items"]] == [
        b["timestamp"] for b in rest["items"]
    ]
    _, unknown = graphql(query, {"symbol": "NOPE"})
    assert unknown["errors"][0]["extensions"]["code"] == "MARKETDATA_SYMBOL_UNKNOWN"

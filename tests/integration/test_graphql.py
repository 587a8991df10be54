"""GraphQL at POST /graphql: the same services, auth, tenant scoping and codes as REST."""

from __future__ import annotations

from typing import Any

import pytest

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.roles import Role
from tests.integration.conftest import call_api, token_for
from tests.support.pipeline import Pipeline

ORDER_FIELDS = """
    id clientOrderId status symbol side type quantity limitPrice stopPrice trailPrice
    trailPercent timeInForce filledQuantity averageFillPrice commission rejectReason rejectReasons
    replaces replacedBy expiresAt createdAt updatedAt sequence orderClass parentOrderId
    notional legs
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


# --- cost limits that could be bypassed (issue 13, item 4) ---

SIXTY_FIELDS = " ".join(f"f{n}: id" for n in range(60))


def refused(body: dict[str, Any], code: str) -> None:
    """Refused before anything ran: no data at all, one error with ``code``."""
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"]["code"] == code, body


def test_aliased_introspection_is_counted_and_refused(seeded: TradingStore) -> None:
    # Given 148 aliased __schema queries (3 MB of answer, seconds of work, counted as 0)
    one = "__schema { types { name fields { name args { name type { name } } } } }"
    query = "{ " + " ".join(f"a{n}: {one}" for n in range(148)) + " }"

    # When sent, then it is refused as too costly before anything runs
    _, body = graphql(query)
    refused(body, "QUERY_TOO_COMPLEX")


def test_the_standard_introspection_query_still_runs(seeded: TradingStore) -> None:
    from graphql import get_introspection_query

    _, body = graphql(get_introspection_query())
    assert "errors" not in body, body
    assert {"Order", "Mutation"} <= {t["name"] for t in body["data"]["__schema"]["types"]}


def test_introspection_can_be_turned_off_per_stage(
    seeded: TradingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redfire_core.config import get_settings

    # Given a stage with introspection off (cdk.json -> REDFIRE_GRAPHQL_INTROSPECTION)
    monkeypatch.setenv("REDFIRE_GRAPHQL_INTROSPECTION", "false")
    get_settings.cache_clear()
    try:
        # Then __schema and __type are refused, and __typename still answers
        _, body = graphql("{ __schema { queryType { name } } }")
        refused(body, "INTROSPECTION_DISABLED")
        _, body = graphql('{ x: __type(name: "Order") { name } }')
        refused(body, "INTROSPECTION_DISABLED")
        _, body = graphql("{ __typename account { id } }")
        assert body["data"]["__typename"] == "Query" and body["data"]["account"]["id"] == "demo"
    finally:
        monkeypatch.delenv("REDFIRE_GRAPHQL_INTROSPECTION")
        get_settings.cache_clear()


def test_a_negative_page_size_is_refused_before_anything_runs(seeded: TradingStore) -> None:
    # Given a negative first that would make the cost negative, beside a costly page
    query = (
        f"{{ a: orders(first: -500) {{ items {{ {SIXTY_FIELDS} }} }} "
        f"b: orders(first: 500) {{ items {{ {SIXTY_FIELDS} }} }} }}"
    )

    # Then nothing runs: the size is refused up front (a resolver's error would carry the
    # path of the field that failed, after the other page ran)
    _, body = graphql(query)
    refused(body, "REQUEST_INVALID")
    assert "path" not in body["errors"][0], body


@pytest.mark.parametrize("size", [0, 501, 1.5, "10"])
def test_a_page_size_that_is_not_a_whole_number_from_1_to_500_is_refused(
    seeded: TradingStore, size: Any
) -> None:
    query = "query($n: Int!) { orders(first: $n) { items { id } } }"
    _, body = graphql(query, {"n": size})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] in (
        "REQUEST_INVALID",
        "GRAPHQL_VALIDATION_FAILED",
    )


def test_a_page_size_from_a_variable_is_costed_at_its_value(seeded: TradingStore) -> None:
    # Given first: $n with n = 500.0 (a whole number sent as a float; it used to cost 100)
    query = f"query($n: Int!) {{ orders(first: $n) {{ items {{ {SIXTY_FIELDS} }} }} }}"

    # Then the query costs 500 pages of 60 fields: refused
    _, body = graphql(query, {"n": 500.0})
    refused(body, "QUERY_TOO_COMPLEX")


def test_a_page_without_first_is_costed_at_its_default_size(seeded: TradingStore) -> None:
    # Given four lists without first (each defaults to 100 orders; they used to cost 1 each)
    query = (
        "{ " + " ".join(f"l{n}: orders {{ items {{ {SIXTY_FIELDS} }} }}" for n in range(4)) + " }"
    )

    # Then 4 x 100 x 60 fields is over the limit
    _, body = graphql(query)
    refused(body, "QUERY_TOO_COMPLEX")


# --- batched mutations (issue 13, item 5) ---


def batch(count: int) -> str:
    placements = " ".join(f"p{n}: placeOrder(input: $input) {{ id }}" for n in range(count))
    return f"mutation Batch($input: PlaceOrderInput!) {{ {placements} }}"


def test_a_request_holds_at_most_ten_mutations(seeded: TradingStore) -> None:
    # When one request holds 11 placeOrder mutations
    _, body = graphql(batch(11), {"input": GRAPHQL_ORDER})

    # Then none runs
    refused(body, "TOO_MANY_MUTATIONS")
    assert seeded.list_orders("demo", 20, None).items == []


def test_the_mutation_limit_is_a_stage_setting(
    seeded: TradingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redfire_core.config import get_settings

    monkeypatch.setenv("REDFIRE_GRAPHQL_MAX_MUTATIONS", "2")
    get_settings.cache_clear()
    try:
        _, body = graphql(batch(3), {"input": GRAPHQL_ORDER})
        refused(body, "TOO_MANY_MUTATIONS")
        _, body = graphql(batch(2), {"input": GRAPHQL_ORDER})
        assert "errors" not in body, body
    finally:
        monkeypatch.delenv("REDFIRE_GRAPHQL_MAX_MUTATIONS")
        get_settings.cache_clear()
    assert len(seeded.list_orders("demo", 20, None).items) == 2


def test_each_mutation_counts_against_the_rate_limit(seeded: TradingStore) -> None:
    from unittest.mock import patch

    from redfire_api import security

    # Given a caller allowed 3 requests a second
    with patch.object(security._rate_limiter(), "limit", 3):
        # When one request holds 5 mutations
        status, _, body = call_api(
            "POST",
            "/graphql",
            body={"query": batch(5), "variables": {"input": GRAPHQL_ORDER}},
            token=token_for(),
        )

    # Then it is throttled like 5 requests would be, and no order is placed
    assert status == 429 and body["code"] == "RATE_LIMITED"
    assert seeded.list_orders("demo", 20, None).items == []


@pytest.mark.parametrize("count", [0, 2])
def test_a_request_with_an_idempotency_key_holds_exactly_one_mutation(
    seeded: TradingStore, count: int
) -> None:
    query = batch(count) if count else "{ account { id } }"
    status, _, body = call_api(
        "POST",
        "/graphql",
        body={"query": query, "variables": {"input": GRAPHQL_ORDER} if count else {}},
        token=token_for(),
        headers={"Idempotency-Key": f"graphql-{count}"},
    )
    assert status == 200
    refused(body, "IDEMPOTENCY_ONE_MUTATION")
    assert seeded.list_orders("demo", 20, None).items == []


def test_one_mutation_with_an_idempotency_key_runs_once(seeded: TradingStore) -> None:
    def send() -> Any:
        return call_api(
            "POST",
            "/graphql",
            body={"query": batch(1), "variables": {"input": GRAPHQL_ORDER}},
            token=token_for(),
            headers={"Idempotency-Key": "graphql-once"},
        )[2]

    first, again = send(), send()
    assert "errors" not in first and first == again
    assert len(seeded.list_orders("demo", 20, None).items) == 1


def test_bars_pages_are_costed_by_the_bars_their_range_holds(seeded: TradingStore) -> None:
    # Given aliased bars queries, each a full page of 10,000 one-minute bars (they counted
    # as a handful of fields each)
    one = (
        'bars(symbol: "GOOG", interval: "1m", start: "2026-01-01T00:00:00Z", '
        'end: "2026-03-01T00:00:00Z") { items { timestamp open high low close volume } }'
    )
    query = "{ " + " ".join(f"b{n}: {one}" for n in range(3)) + " }"

    # Then the request is refused before any bar is read
    _, body = graphql(query)
    refused(body, "QUERY_TOO_COMPLEX")

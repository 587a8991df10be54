"""The HTTP API's OpenAPI document: versioned paths, decimals as strings, paged lists."""

from __future__ import annotations

from typing import Any

import pytest

from redfire_api.app import create_app
from redfire_api.problems import ALPACA_PREFIXES

ORDER_SCHEMAS = ("PlaceOrder", "OrderView", "OrderPage")


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    document: dict[str, Any] = create_app().openapi()
    return document


def _types(node: object) -> set[str]:
    """Every "type" named anywhere in a schema."""
    if isinstance(node, dict):
        found = {node["type"]} if isinstance(node.get("type"), str) else set()
        return found.union(*(_types(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_types(item) for item in node))
    return set()


def test_every_route_but_health_is_versioned(openapi: dict[str, Any]) -> None:
    # Given the documented paths, then all of them except /health are under /v1 or, for the
    # Alpaca-compatible surface, Alpaca's own versions
    versions = ("/v1/", *ALPACA_PREFIXES)
    unversioned = [p for p in openapi["paths"] if p != "/health" and not p.startswith(versions)]
    assert unversioned == []
    assert any(p.startswith("/v2/") for p in openapi["paths"])
    assert "/health" in openapi["paths"]


def test_resources_are_plural_nouns(openapi: dict[str, Any]) -> None:
    # Given the orders resource, then it lives at /v1/orders and /v1/orders/{id}
    assert {"/v1/orders", "/v1/orders/{order_id}"} <= set(openapi["paths"])


@pytest.mark.parametrize("name", ORDER_SCHEMAS)
def test_order_schemas_declare_decimals_as_strings(openapi: dict[str, Any], name: str) -> None:
    # Given an order schema, then no field is a JSON number
    schema = openapi["components"]["schemas"][name]
    assert "number" not in _types(schema)


@pytest.mark.parametrize("field", ["quantity", "limit_price", "stop_price"])
def test_an_order_request_takes_decimal_strings_with_a_pattern(
    openapi: dict[str, Any], field: str
) -> None:
    # Given the place-order schema, then each decimal field is a patterned string
    prop = openapi["components"]["schemas"]["PlaceOrder"]["properties"][field]
    strings = [s for s in prop.get("anyOf", [prop]) if s.get("type") == "string"]
    assert strings and all("pattern" in s for s in strings)


def test_the_account_shows_money_as_strings(openapi: dict[str, Any]) -> None:
    # Given the account schema, then no field is a JSON number
    assert "number" not in _types(openapi["components"]["schemas"]["AccountView"])


def test_listing_orders_takes_limit_and_cursor(openapi: dict[str, Any]) -> None:
    # Given GET /v1/orders, then it takes limit and cursor in the query
    parameters = openapi["paths"]["/v1/orders"]["get"]["parameters"]
    assert {(p["name"], p["in"]) for p in parameters} >= {("limit", "query"), ("cursor", "query")}


def test_a_page_of_orders_has_items_and_a_next_cursor(openapi: dict[str, Any]) -> None:
    # Given the page schema, then it is {"items": [...], "next_cursor": ...}
    page = openapi["components"]["schemas"]["OrderPage"]
    assert set(page["properties"]) == {"items", "next_cursor"}
    assert page["properties"]["items"]["type"] == "array"


def test_json_fields_are_snake_case(openapi: dict[str, Any]) -> None:
    # Given the order and account schemas, then every property name is snake_case
    for name in (*ORDER_SCHEMAS, "AccountView"):
        for prop in openapi["components"]["schemas"][name]["properties"]:
            assert prop == prop.lower() and "-" not in prop, f"{name}.{prop}"

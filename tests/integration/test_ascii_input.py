"""Decimal strings take ASCII digits only, and client-chosen identifiers printable ASCII only
(issue 13, item 13): ``Decimal()`` reads any script's digits, so "\u0661" was 1."""

from __future__ import annotations

from typing import Any

import pytest

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.roles import Role
from tests.integration.conftest import call_api, token_for

MARKET_BUY = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10"}
# Arabic-Indic one, Devanagari five, full-width seven, a superscript two, a trailing newline
NON_ASCII_DECIMALS = ["\u0661", "\u096b", "1\uff17", "\u00b2", "1\n", " 1", "1\u00a0"]


def place(body: dict[str, Any]) -> tuple[int, Any]:
    status, _, answer = call_api("POST", "/v1/orders", body=body, token=token_for())
    return status, answer


@pytest.mark.parametrize("text", NON_ASCII_DECIMALS)
def test_an_order_quantity_in_other_digits_is_refused(seeded: TradingStore, text: str) -> None:
    # When an order's quantity is written with non-ASCII digits (or padded)
    status, body = place(MARKET_BUY | {"quantity": text})

    # Then it is refused naming the field, and no order exists
    assert status == 422 and body["code"] == "ORDER_INVALID"
    assert body["errors"][0]["field"] == "quantity"
    assert seeded.list_orders("demo", 10, None).items == []


@pytest.mark.parametrize("text", ["\u0661\u0660\u0660", "17\u0665"])
def test_a_limit_price_in_other_digits_is_refused(seeded: TradingStore, text: str) -> None:
    body = MARKET_BUY | {"type": "limit", "limit_price": text}
    status, answer = place(body)
    assert status == 422 and answer["errors"][0]["field"] == "limit_price"


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "role"),
    [
        ("PATCH", "/v1/account", {"commission_rate": "0.\u0660\u0661"}, "commission_rate", "admin"),
        (
            "PUT",
            "/v1/risk/limits",
            {"account": {"max_order_qty": "\u0665"}},
            "max_order_qty",
            "admin",
        ),
        (
            "POST",
            "/v1/backtests",
            {
                "strategy": "sma_cross",
                "symbol": "GOOG",
                "interval": "1d",
                "start": "2024-01-01T00:00:00Z",
                "end": "2024-02-01T00:00:00Z",
                "cash": "\u0661\u0660\u0660\u0660\u0660",
            },
            "cash",
            "trader",
        ),
    ],
)
def test_every_decimal_input_refuses_other_digits(
    seeded: TradingStore, method: str, path: str, body: dict[str, Any], field: str, role: str
) -> None:
    status, _, answer = call_api(method, path, body=body, token=token_for(role=Role(role)))
    assert status == 422, answer
    assert field in str(answer.get("errors") or answer.get("detail"))


@pytest.mark.parametrize(
    "client_order_id",
    ["abc\u202edcb", "a\x00b", "line\nbreak", "tab\there", "caf\u00e9", "\u0430pple", "x" * 129],
)
def test_a_client_order_id_must_be_printable_ascii_up_to_128(
    seeded: TradingStore, client_order_id: str
) -> None:
    status, body = place(MARKET_BUY | {"client_order_id": client_order_id})
    assert status == 422 and body["errors"][0]["field"] == "client_order_id"
    assert seeded.list_orders("demo", 10, None).items == []


def test_a_client_order_id_of_128_printable_characters_is_taken(seeded: TradingStore) -> None:
    client_order_id = ("Ab0-_.:~ !" * 13)[:128]
    status, body = place(MARKET_BUY | {"client_order_id": client_order_id})
    assert status == 201 and body["client_order_id"] == client_order_id
    status, _, found = call_api(
        "GET", f"/v1/orders/by-client-id/{client_order_id.replace(' ', '%20')}", token=token_for()
    )
    assert status == 200 and found["id"] == body["id"]


def test_an_order_symbol_must_be_printable_ascii(seeded: TradingStore) -> None:
    status, body = place(MARKET_BUY | {"symbol": "GOOG\u200b"})
    assert status == 422 and body["errors"][0]["field"] == "symbol"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/strategies/instances",
            {"strategy": "sma\u200bcross", "symbol": "GOOG", "interval": "1m"},
            "strategy",
        ),
        (
            "/v1/strategies/instances",
            {"strategy": "sma_cross", "symbol": "GO\u202eOG", "interval": "1m"},
            "symbol",
        ),
        (
            "/v1/backtests",
            {
                "strategy": "sma_cross",
                "symbol": "GOOG\x00",
                "interval": "1d",
                "start": "2024-01-01T00:00:00Z",
                "end": "2024-02-01T00:00:00Z",
            },
            "symbol",
        ),
    ],
)
def test_strategy_names_and_symbols_must_be_printable_ascii(
    seeded: TradingStore, path: str, body: dict[str, Any], field: str
) -> None:
    status, _, answer = call_api("POST", path, body=body, token=token_for(role=Role.TRADER))
    assert status == 422, answer
    assert answer["errors"][0]["field"] == field

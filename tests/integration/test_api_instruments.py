"""Instruments over HTTP: everyone reads them, only operators write them."""

from __future__ import annotations

from typing import Any

import pytest

from redfire_core.adapters import models
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.roles import Role
from tests.integration.conftest import call_api, token_for

ETH = {
    "symbol": "ETH-USD",
    "asset_class": "crypto",
    "currency": "USD",
    "tick_size": "0.01",
    "lot_size": "0.001",
    "min_quantity": "0.001",
    "price_precision": 2,
    "tradable": True,
    "calendar": "24/7",
}


def operator() -> str:
    return token_for("demo", Role.OPERATOR)


def audit_actions() -> list[str]:
    return [item.action for item in models.AuditItem.query("PLATFORM")]


def test_instruments_are_listed_by_symbol_in_pages(seeded: TradingStore) -> None:
    # Given the four demo instruments, when a trader lists them two at a time
    status, _, first = call_api("GET", "/v1/instruments?limit=2", token=token_for())
    _, _, second = call_api(
        "GET", f"/v1/instruments?limit=2&cursor={first['next_cursor']}", token=token_for()
    )

    # Then they come sorted, with decimals as strings, and the last page ends the list
    assert status == 200
    assert [i["symbol"] for i in first["items"] + second["items"]] == [
        "AAPL",
        "BTC-USD",
        "GOOG",
        "MSFT",
    ]
    assert second["next_cursor"] is None
    assert first["items"][1] == {
        "symbol": "BTC-USD",
        "asset_class": "crypto",
        "currency": "USD",
        "tick_size": "0.01",
        "lot_size": "0.0001",
        "min_quantity": "0.0001",
        "price_precision": 2,
        "tradable": True,
        "calendar": "24/7",
    }


def test_an_operator_can_read_instruments(seeded: TradingStore) -> None:
    assert call_api("GET", "/v1/instruments", token=operator())[0] == 200
    status, _, body = call_api("GET", "/v1/instruments/GOOG", token=operator())
    assert status == 200 and body["tick_size"] == "0.01"


def test_an_unknown_instrument_is_not_found(seeded: TradingStore) -> None:
    status, _, body = call_api("GET", "/v1/instruments/NOPE", token=token_for())
    assert status == 404 and body["code"] == "INSTRUMENT_NOT_FOUND"


def test_a_cursor_the_api_did_not_issue_is_refused(seeded: TradingStore) -> None:
    status, _, body = call_api("GET", "/v1/instruments?cursor=garbage", token=token_for())
    assert status == 422 and body["code"] == "REQUEST_INVALID"
    assert body["errors"][0]["field"] == "cursor"


def test_an_operator_adds_an_instrument_that_can_be_traded_at_once(seeded: TradingStore) -> None:
    # Given an order for a symbol nobody has listed yet (the miss is cached)
    order = {"symbol": "ETH-USD", "side": "buy", "type": "market", "quantity": "0.5"}
    refused = call_api("POST", "/v1/orders", body=order, token=token_for())
    assert refused[2]["code"] == "ORDER_UNKNOWN_SYMBOL"

    # When an operator adds it
    status, headers, body = call_api("POST", "/v1/instruments", body=ETH, token=operator())

    # Then it is stored, audited, and orders for it are taken right away
    assert status == 201 and body == ETH
    assert headers["location"] == "/v1/instruments/ETH-USD"
    assert call_api("GET", "/v1/instruments/ETH-USD", token=token_for())[2] == body
    assert "instrument.created" in audit_actions()
    assert call_api("POST", "/v1/orders", body=order, token=token_for())[0] == 201


def test_adding_an_instrument_twice_is_a_conflict(seeded: TradingStore) -> None:
    call_api("POST", "/v1/instruments", body=ETH, token=operator())
    status, _, body = call_api(
        "POST", "/v1/instruments", body=ETH | {"tick_size": "1"}, token=operator()
    )
    assert status == 409 and body["code"] == "INSTRUMENT_EXISTS"
    assert call_api("GET", "/v1/instruments/ETH-USD", token=operator())[2]["tick_size"] == "0.01"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.TRADER, Role.ADMIN])
def test_only_an_operator_may_add_or_change_instruments(seeded: TradingStore, role: Role) -> None:
    token = token_for("demo", role)
    status, _, body = call_api("POST", "/v1/instruments", body=ETH, token=token)
    assert status == 403 and body["code"] == "FORBIDDEN"
    status, _, body = call_api("PATCH", "/v1/instruments/GOOG", body={"lot_size": "5"}, token=token)
    assert status == 403 and body["code"] == "FORBIDDEN"
    assert seeded.get_instrument("ETH-USD") is None


def test_operator_tokens_cannot_read_an_accounts_trading(seeded: TradingStore) -> None:
    # Operator tokens carry only the operator scope
    for path in ("/v1/orders", "/v1/account", "/v1/positions", "/v1/trades"):
        status, _, body = call_api("GET", path, token=operator())
        assert (path, status, body["code"]) == (path, 403, "FORBIDDEN")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tick_size": "0"}, "tick_size"),
        ({"lot_size": "-1"}, "lot_size"),
        ({"min_quantity": 1}, "min_quantity"),
        ({"calendar": "weekends"}, "calendar"),
        ({"price_precision": -1}, "price_precision"),
        ({"currency": "usd"}, "currency"),
        ({"symbol": "goog/x"}, "symbol"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_instrument_is_refused_naming_the_field(
    seeded: TradingStore, change: dict[str, Any], field: str
) -> None:
    status, headers, body = call_api("POST", "/v1/instruments", body=ETH | change, token=operator())
    assert status == 422 and headers["content-type"] == "application/problem+json"
    assert body["code"] == "REQUEST_INVALID"
    assert body["errors"][0]["field"] == field


def test_an_operator_changes_some_fields_of_an_instrument(seeded: TradingStore) -> None:
    status, _, body = call_api(
        "PATCH",
        "/v1/instruments/GOOG",
        body={"lot_size": "5", "min_quantity": "5"},
        token=operator(),
    )
    assert status == 200
    assert (body["symbol"], body["lot_size"], body["min_quantity"]) == ("GOOG", "5", "5")
    assert body["tick_size"] == "0.01"  # untouched
    assert "instrument.changed" in audit_actions()
    # The change reaches order validation at once (the cached instrument is forgotten)
    order = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "3"}
    status, _, refused = call_api("POST", "/v1/orders", body=order, token=token_for())
    assert status == 422 and refused["code"] == "ORDER_QTY_MIN"


def test_halting_an_instrument_stops_new_orders(seeded: TradingStore) -> None:
    order = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"}
    assert call_api("POST", "/v1/orders", body=order, token=token_for())[0] == 201
    call_api("PATCH", "/v1/instruments/GOOG", body={"tradable": False}, token=operator())
    status, _, body = call_api("POST", "/v1/orders", body=order, token=token_for())
    assert status == 422 and body["errors"][0]["field"] == "symbol"


@pytest.mark.parametrize(
    "change", [{"symbol": "GOOGL"}, {}, {"tick_size": None}, {"tick_size": "0.000"}]
)
def test_a_change_must_name_valid_fields_other_than_the_symbol(
    seeded: TradingStore, change: dict[str, Any]
) -> None:
    status, _, body = call_api("PATCH", "/v1/instruments/GOOG", body=change, token=operator())
    assert status == 422 and body["code"] == "REQUEST_INVALID"
    assert seeded.get_instrument("GOOG") is not None


def test_changing_an_unknown_instrument_is_not_found(seeded: TradingStore) -> None:
    status, _, body = call_api(
        "PATCH", "/v1/instruments/NOPE", body={"tradable": False}, token=operator()
    )
    assert status == 404 and body["code"] == "INSTRUMENT_NOT_FOUND"
    assert seeded.get_instrument("NOPE") is None


def test_instrument_writes_accept_an_idempotency_key(seeded: TradingStore) -> None:
    key = {"Idempotency-Key": "add-eth"}
    first = call_api("POST", "/v1/instruments", body=ETH, token=operator(), headers=key)
    again = call_api("POST", "/v1/instruments", body=ETH, token=operator(), headers=key)
    assert (first[0], again[0]) == (201, 201) and first[2] == again[2]
    assert again[1]["idempotent-replayed"] == "true"
    assert audit_actions().count("instrument.created") == 1


def test_an_instrument_can_follow_an_exchange_calendar(seeded: TradingStore) -> None:
    # An exchange whose session table ships with the code is a calendar; another is not.
    body = {**ETH, "symbol": "SPY", "asset_class": "equity", "calendar": "XNYS"}
    status, _, created = call_api("POST", "/v1/instruments", body=body, token=operator())
    assert (status, created["calendar"]) == (201, "XNYS")
    refused, _, problem = call_api(
        "POST",
        "/v1/instruments",
        body={**body, "symbol": "VOD", "calendar": "XLON"},
        token=operator(),
    )
    assert refused == 422 and problem["errors"][0]["field"] == "calendar"

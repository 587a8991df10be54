"""Static validation of an order request against its instrument: stable codes, field named."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from redfire_core.domain.errors import DomainError
from redfire_core.domain.instruments import DEMO_INSTRUMENTS, Instrument
from redfire_core.domain.orders import OrderRequest, OrderType, Side, TimeInForce

GOOG = next(i for i in DEMO_INSTRUMENTS if i.symbol == "GOOG")
BTC = next(i for i in DEMO_INSTRUMENTS if i.symbol == "BTC-USD")
LIMIT_BUY = {
    "symbol": "GOOG",
    "side": "buy",
    "type": "limit",
    "quantity": "10",
    "limit_price": "175.25",
}
MISSING = object()


def _body(**changes: Any) -> dict[str, Any]:
    """A valid limit buy with ``changes`` applied; MISSING removes a field."""
    body = dict(LIMIT_BUY)
    for key, value in changes.items():
        if value is MISSING:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def _refusal(body: dict[str, Any], instrument: Instrument | None = GOOG) -> DomainError:
    with pytest.raises(DomainError) as refused:
        OrderRequest.parse(body, instrument)
    return refused.value


def test_a_valid_limit_order_is_parsed_into_decimals_and_enums() -> None:
    # Given a valid limit buy, when it is parsed
    request = OrderRequest.parse(_body(client_order_id="abc-1"), GOOG)

    # Then every field is typed
    assert request == OrderRequest(
        symbol="GOOG",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=Decimal("10"),
        time_in_force=TimeInForce.DAY,
        limit_price=Decimal("175.25"),
        client_order_id="abc-1",
    )


def test_time_in_force_defaults_to_day() -> None:
    # Given a request without time_in_force, when parsed, then it is a day order
    assert OrderRequest.parse(_body(), GOOG).time_in_force is TimeInForce.DAY


def test_a_fractional_quantity_on_a_fractional_lot_is_accepted() -> None:
    # Given a crypto instrument with a 0.0001 lot, when 0.0025 is ordered at market
    body = {"symbol": "BTC-USD", "side": "sell", "type": "market", "quantity": "0.0025"}

    # Then the quantity is kept exactly
    assert OrderRequest.parse(body, BTC).quantity == Decimal("0.0025")


def test_a_stop_limit_order_carries_both_prices() -> None:
    # Given a stop-limit with both prices, when parsed, then both are kept
    request = OrderRequest.parse(_body(type="stop_limit", stop_price="176.00"), GOOG)
    assert (request.limit_price, request.stop_price) == (Decimal("175.25"), Decimal("176.00"))


def test_an_integer_quantity_is_accepted_as_a_decimal() -> None:
    # Given a JSON integer quantity, when parsed, then it becomes an exact Decimal
    assert OrderRequest.parse(_body(quantity=10), GOOG).quantity == Decimal("10")


@pytest.mark.parametrize(
    ("body", "instrument"),
    [
        (_body(symbol="NOPE"), None),
        (_body(symbol=MISSING), GOOG),
        (_body(symbol="AAPL"), GOOG),  # the instrument looked up is not the one asked for
    ],
    ids=["not-listed", "missing", "instrument-of-another-symbol"],
)
def test_an_unknown_symbol_is_refused(body: dict[str, Any], instrument: Instrument | None) -> None:
    # Given a symbol with no matching instrument, when parsed, then ORDER_UNKNOWN_SYMBOL on symbol
    refusal = _refusal(body, instrument)
    assert (refusal.code, refusal.field) == ("ORDER_UNKNOWN_SYMBOL", "symbol")


def test_an_instrument_that_is_not_tradable_is_refused() -> None:
    # Given a halted instrument, when an order for it is parsed, then ORDER_INVALID on symbol
    refusal = _refusal(_body(), replace(GOOG, tradable=False))
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", "symbol")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("side", "BUY"),
        ("side", "hold"),
        ("side", MISSING),
        ("type", "iceberg"),
        ("type", MISSING),
        ("time_in_force", "forever"),
        ("time_in_force", None),
    ],
)
def test_a_value_outside_its_enum_is_refused(field: str, value: object) -> None:
    # Given a side/type/time in force that is not one of the lowercase values
    refusal = _refusal(_body(**{field: value}))

    # Then ORDER_INVALID names the field
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", field)


@pytest.mark.parametrize(
    "quantity",
    [10.0, 1.5, True, None, MISSING, "NaN", "sNaN", "Infinity", "-Infinity", "ten", "", [], {}],
    ids=repr,
)
def test_a_quantity_that_is_not_a_finite_decimal_string_is_refused(quantity: object) -> None:
    # Given a float, bool, missing, NaN, infinite or non-numeric quantity
    refusal = _refusal(_body(quantity=quantity))

    # Then ORDER_INVALID names the quantity
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", "quantity")


@pytest.mark.parametrize("quantity", ["0", "-5", "-0.0001"])
def test_a_quantity_that_is_not_positive_is_refused(quantity: str) -> None:
    # Given a zero or negative quantity, when parsed, then ORDER_INVALID on quantity
    refusal = _refusal(_body(quantity=quantity))
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", "quantity")


def test_a_quantity_with_more_than_28_digits_is_refused() -> None:
    # Given a quantity with 29 significant digits, when parsed, then ORDER_INVALID
    refusal = _refusal(_body(quantity="1" * 29))
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", "quantity")


def test_a_quantity_that_is_not_a_whole_lot_is_refused() -> None:
    # Given GOOG traded in lots of 1, when 10.5 is ordered, then ORDER_QTY_LOT on quantity
    refusal = _refusal(_body(quantity="10.5"))
    assert (refusal.code, refusal.field) == ("ORDER_QTY_LOT", "quantity")


def test_a_quantity_below_the_minimum_is_refused() -> None:
    # Given BTC-USD with a 0.0001 minimum, when 0.00001 is ordered, then ORDER_QTY_MIN
    body = {"symbol": "BTC-USD", "side": "buy", "type": "market", "quantity": "0.00001"}
    refusal = _refusal(body, BTC)
    assert (refusal.code, refusal.field) == ("ORDER_QTY_MIN", "quantity")


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("limit_price", _body(limit_price="175.255")),
        ("stop_price", _body(type="stop", limit_price=MISSING, stop_price="170.001")),
    ],
)
def test_a_price_off_the_tick_is_refused(field: str, body: dict[str, Any]) -> None:
    # Given a price that is not a multiple of the 0.01 tick, when parsed, then ORDER_PRICE_TICK
    refusal = _refusal(body)
    assert (refusal.code, refusal.field) == ("ORDER_PRICE_TICK", field)


@pytest.mark.parametrize(
    ("order_type", "present", "field"),
    [
        ("limit", {}, "limit_price"),
        ("stop", {}, "stop_price"),
        ("stop_limit", {"stop_price": "176.00"}, "limit_price"),
        ("stop_limit", {"limit_price": "175.25"}, "stop_price"),
    ],
)
def test_a_price_the_order_type_needs_is_required(
    order_type: str, present: dict[str, str], field: str
) -> None:
    # Given an order type without a price it needs
    body = {"symbol": "GOOG", "side": "buy", "type": order_type, "quantity": "1", **present}

    # Then ORDER_PRICE_REQUIRED names the missing price
    refusal = _refusal(body)
    assert (refusal.code, refusal.field) == ("ORDER_PRICE_REQUIRED", field)


@pytest.mark.parametrize(
    ("order_type", "extra", "field"),
    [
        ("market", {"limit_price": "175.25"}, "limit_price"),
        ("market", {"stop_price": "175.25"}, "stop_price"),
        ("limit", {"limit_price": "175.25", "stop_price": "170.00"}, "stop_price"),
        ("stop", {"stop_price": "170.00", "limit_price": "175.25"}, "limit_price"),
    ],
)
def test_a_price_the_order_type_does_not_take_is_refused(
    order_type: str, extra: dict[str, str], field: str
) -> None:
    # Given an order with a price field its type does not use
    body = {"symbol": "GOOG", "side": "buy", "type": order_type, "quantity": "1", **extra}

    # Then ORDER_INVALID names that price
    refusal = _refusal(body)
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", field)


@pytest.mark.parametrize("price", ["0", "-175.25", 175.25, "NaN", "abc"], ids=repr)
def test_a_price_that_is_not_a_positive_decimal_string_is_refused(price: object) -> None:
    # Given a zero, negative, float, NaN or non-numeric limit price, when parsed
    refusal = _refusal(_body(limit_price=price))

    # Then ORDER_INVALID names the limit price
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", "limit_price")


@pytest.mark.parametrize(
    "client_order_id",
    ["", "x" * 129, 42, "a\u202eb", "a\x07b", "caf\u00e9", "\u0661"],
    ids=["empty", "too-long", "int", "bidi", "control", "latin-1", "arabic-digit"],
)
def test_a_client_order_id_must_be_1_to_128_printable_ascii_characters(
    client_order_id: object,
) -> None:
    # Given a bad client order id, when parsed, then ORDER_INVALID on client_order_id
    refusal = _refusal(_body(client_order_id=client_order_id))
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", "client_order_id")


def test_a_client_order_id_of_128_characters_is_accepted() -> None:
    # Given the longest allowed client order id, when parsed, then it is kept
    assert OrderRequest.parse(_body(client_order_id="x" * 128), GOOG).client_order_id == "x" * 128


@pytest.mark.parametrize("quantity", ["\u0661", "1\u0660", "\uff11", "1\n"])
def test_a_quantity_in_other_scripts_digits_is_refused(quantity: str) -> None:
    # Given digits Decimal() would read ("\u0661" is 1), when parsed, then ORDER_INVALID
    refusal = _refusal(_body(quantity=quantity))
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", "quantity")


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("quantity", {"quantity": "1E+40"}),
        ("limit_price", {"limit_price": "1E+30"}),
    ],
)
def test_a_number_too_large_to_check_against_the_tick_or_lot_is_refused_with_a_domain_error(
    field: str, changes: dict[str, str]
) -> None:
    # Given a quantity or price in exponent notation far beyond the context precision
    refusal = _refusal(_body(**changes))

    # Then it is refused as invalid input, not with an arithmetic exception
    assert refusal.field == field


def _trailing(**fields: object) -> dict[str, Any]:
    """A trailing sell stop for GOOG with ``fields`` (its trail) added."""
    return {"symbol": "GOOG", "side": "sell", "type": "trailing_stop", "quantity": "10", **fields}


def test_a_trailing_stop_by_price_is_parsed() -> None:
    # Given a trailing stop 2.50 behind the market, when parsed, then the trail is kept
    request = OrderRequest.parse(_trailing(trail_price="2.50", time_in_force="gtc"), GOOG)
    assert (request.type, request.trail_price, request.trail_percent) == (
        OrderType.TRAILING_STOP,
        Decimal("2.50"),
        None,
    )


def test_a_trailing_stop_by_percent_is_parsed() -> None:
    # Given a trailing stop 1.5% behind the market, when parsed, then the trail is kept
    request = OrderRequest.parse(_trailing(trail_percent="1.5"), GOOG)
    assert (request.trail_price, request.trail_percent) == (None, Decimal("1.5"))


@pytest.mark.parametrize(
    "fields", [{}, {"trail_price": "2.50", "trail_percent": "1.5"}], ids=["neither", "both"]
)
def test_a_trailing_stop_needs_exactly_one_trail(fields: dict[str, str]) -> None:
    # Given a trailing stop with no trail or with both kinds
    refusal = _refusal(_trailing(**fields))

    # Then ORDER_PRICE_REQUIRED points at the trail
    assert (refusal.code, refusal.field) == ("ORDER_PRICE_REQUIRED", "trail_price")


def test_a_trail_price_off_the_tick_is_refused() -> None:
    # Given a trail of 2.505 on GOOG's 0.01 tick, then ORDER_PRICE_TICK on trail_price
    refusal = _refusal(_trailing(trail_price="2.505"))
    assert (refusal.code, refusal.field) == ("ORDER_PRICE_TICK", "trail_price")


@pytest.mark.parametrize("percent", ["100", "150", "0", "-1", 1.5], ids=repr)
def test_a_trail_percent_must_be_above_zero_and_below_100(percent: object) -> None:
    # Given a trail percent of 100 or more, zero, negative or a float, then it is refused
    refusal = _refusal(_trailing(trail_percent=percent))
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", "trail_percent")


def test_a_trail_percent_just_below_100_is_accepted() -> None:
    # Given a trail of 99.99%, then it is kept
    assert OrderRequest.parse(_trailing(trail_percent="99.99"), GOOG).trail_percent == Decimal(
        "99.99"
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"stop_price": "170.00"}, "stop_price"), ({"limit_price": "170.00"}, "limit_price")],
)
def test_a_trailing_stop_takes_no_fixed_stop_or_limit(extra: dict[str, str], field: str) -> None:
    # Given a trailing stop that also names a fixed price, then ORDER_INVALID names it
    refusal = _refusal(_trailing(trail_price="2.50", **extra))
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", field)


@pytest.mark.parametrize(
    ("order_type", "prices", "field"),
    [
        ("limit", {"limit_price": "175.25", "trail_price": "1.00"}, "trail_price"),
        ("market", {"trail_percent": "1"}, "trail_percent"),
        ("stop", {"stop_price": "170.00", "trail_price": "1.00"}, "trail_price"),
    ],
)
def test_an_order_that_is_not_a_trailing_stop_takes_no_trail(
    order_type: str, prices: dict[str, str], field: str
) -> None:
    # Given a limit, market or stop order with a trail, then ORDER_INVALID names the trail
    body = {"symbol": "GOOG", "side": "buy", "type": order_type, "quantity": "1", **prices}
    refusal = _refusal(body)
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", field)


@pytest.mark.parametrize("tif", ["ioc", "fok"])
@pytest.mark.parametrize(
    "prices",
    [
        {"type": "stop", "stop_price": "170.00"},
        {"type": "stop_limit", "stop_price": "170.00", "limit_price": "169.50"},
        {"type": "trailing_stop", "trail_price": "2.50"},
    ],
    ids=["stop", "stop_limit", "trailing_stop"],
)
def test_a_stop_order_cannot_be_immediate_or_cancel_nor_fill_or_kill(
    tif: str, prices: dict[str, str]
) -> None:
    # Given a stop of any kind with ioc or fok (it cannot be decided at acceptance)
    body = {"symbol": "GOOG", "side": "sell", "quantity": "1", "time_in_force": tif, **prices}

    # Then ORDER_INVALID names the time in force
    refusal = _refusal(body)
    assert (refusal.code, refusal.field) == ("ORDER_INVALID", "time_in_force")


@pytest.mark.parametrize("tif", ["ioc", "fok"])
@pytest.mark.parametrize("order_type", ["market", "limit"])
def test_market_and_limit_orders_may_be_immediate(tif: str, order_type: str) -> None:
    # Given a market or limit order with ioc or fok, then it is accepted as such
    body = _body(type=order_type, time_in_force=tif)
    if order_type == "market":
        body.pop("limit_price")
    assert OrderRequest.parse(body, GOOG).time_in_force == TimeInForce(tif)

"""Decimal parsing and formatting at the edges: strings in, strings out, no floats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from redfire_core.domain.errors import DomainError
from redfire_core.domain.money import format_decimal, is_multiple, parse_decimal


@pytest.mark.parametrize(
    ("text", "value"), [("10.25", Decimal("10.25")), ("100", Decimal(100)), (7, Decimal(7))]
)
def test_a_decimal_string_or_integer_parses_exactly(text: object, value: Decimal) -> None:
    # Given a decimal string or an int, then it parses to the exact Decimal
    assert parse_decimal(text, "price") == value


def test_zero_is_allowed_when_the_value_need_not_be_positive() -> None:
    # Given zero for a field that may be zero, then it parses
    assert parse_decimal("0", "commission", positive=False) == 0


@pytest.mark.parametrize("value", [0.1, True, None, "NaN", "inf", "1e", "0"], ids=repr)
def test_anything_but_a_positive_finite_decimal_is_refused_with_the_field_named(
    value: object,
) -> None:
    # Given a float, bool, None, NaN, infinity, junk or zero, then ORDER_INVALID names the field
    with pytest.raises(DomainError) as refused:
        parse_decimal(value, "price")
    assert (refused.value.code, refused.value.field) == ("ORDER_INVALID", "price")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("10.25"), "10.25"),
        (Decimal("100"), "100"),
        (Decimal("1.50"), "1.50"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1E-7"), "0.0000001"),
        (None, None),
    ],
)
def test_decimals_are_formatted_without_exponents(value: Decimal | None, text: str | None) -> None:
    # Given a Decimal (or nothing), then it is written in plain notation, trailing zeros kept
    assert format_decimal(value) == text


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        ("1.25", "0.01", True),
        ("1.255", "0.01", False),
        ("0.0003", "0.0001", True),
        ("10", "1", True),
        ("10", "0", False),
        ("10", "-1", False),
    ],
)
def test_a_value_is_a_multiple_of_a_positive_step_only(
    value: str, step: str, expected: bool
) -> None:
    # Given a value and a step, then it is a multiple only for a positive step that divides it
    assert is_multiple(Decimal(value), Decimal(step)) is expected

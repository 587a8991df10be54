"""Decimal helpers: parsing and formatting of prices and quantities."""

from __future__ import annotations

import re
from decimal import Decimal

from redfire_core.domain.errors import DomainError

# Plain decimal notation only: no exponent, whitespace, underscores, NaN or infinity.
DECIMAL_TEXT = re.compile(r"^-?\d{1,16}(\.\d{1,12})?$")
AVERAGE_PLACES = Decimal("1e-12")


def parse_decimal(value: object, field: str, *, positive: bool = True) -> Decimal:
    """A Decimal from a plain decimal string or an int; floats are refused (binary rounding).

    Bounded to 16 integer and 12 fractional digits, so every later sum, product and
    modulo stays exact within Decimal's 28 digits.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DomainError("ORDER_INVALID", f"{field} must be a decimal string", field)
    if not DECIMAL_TEXT.match(str(value)):
        raise DomainError(
            "ORDER_INVALID",
            f"{field} must be a decimal string with at most 16 integer and 12 fractional digits",
            field,
        )
    number = Decimal(str(value))
    if positive and number <= 0:
        raise DomainError("ORDER_INVALID", f"{field} must be greater than zero", field)
    return number


def format_decimal(value: Decimal | None) -> str | None:
    """Plain notation without exponent ("10.25", "100"); None stays None."""
    return None if value is None else format(value, "f")


def average(total: Decimal, quantity: Decimal) -> Decimal:
    """An average price for display: exact when it terminates, else 12 places."""
    value = total / quantity
    if value == value.quantize(AVERAGE_PLACES):
        return value
    return value.quantize(AVERAGE_PLACES)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step > 0 and (value % step) == 0

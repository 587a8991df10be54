"""Decimal helpers: parsing and formatting of prices and quantities."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from redfire_core.domain.errors import DomainError


def decimal_pattern(integer_digits: int = 16, fraction_digits: int = 12) -> str:
    """The plain decimal notation the API takes, as a regular expression: ASCII digits only
    (``\\d`` also matches other scripts' digits, and ``Decimal("\\u0661")`` is 1), no sign,
    exponent, whitespace, underscores, NaN or infinity."""
    return rf"^[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{fraction_digits}}})?$"


# Plain decimal notation only (optionally negative), ASCII digits only.
DECIMAL_TEXT = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,12})?")
AVERAGE_PLACES = Decimal("1e-12")


def ascii_decimal(text: str) -> Decimal:
    """``Decimal(text)`` for ASCII text only: ``Decimal()`` itself reads any script's digits
    (Arabic-Indic "\\u0661" is 1) and ignores surrounding whitespace; else InvalidOperation."""
    if not text.isascii() or text != text.strip():
        raise InvalidOperation(f"{text!r} is not an ASCII decimal")
    return Decimal(text)


def parse_decimal(value: object, field: str, *, positive: bool = True) -> Decimal:
    """A Decimal from a plain decimal string or an int; floats are refused (binary rounding).

    Bounded to 16 integer and 12 fractional digits, so every later sum, product and
    modulo stays exact within Decimal's 28 digits.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DomainError("ORDER_INVALID", f"{field} must be a decimal string", field)
    if not DECIMAL_TEXT.fullmatch(str(value)):
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

"""Decimal helpers: parsing and formatting of prices and quantities."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from redfire_core.domain.errors import DomainError

MAX_DIGITS = 28


def parse_decimal(value: object, field: str, *, positive: bool = True) -> Decimal:
    """A finite Decimal from a string or int; floats are refused (no binary rounding)."""
    if isinstance(value, bool | float) or value is None:
        raise DomainError("ORDER_INVALID", f"{field} must be a decimal string", field)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise DomainError("ORDER_INVALID", f"{field} must be a decimal string", field) from None
    if not number.is_finite() or len(number.as_tuple().digits) > MAX_DIGITS:
        raise DomainError("ORDER_INVALID", f"{field} must be a finite decimal", field)
    if positive and number <= 0:
        raise DomainError("ORDER_INVALID", f"{field} must be greater than zero", field)
    return number


def format_decimal(value: Decimal | None) -> str | None:
    """Plain notation without exponent, trailing zeros kept as stored ("10.25", "100")."""
    if value is None:
        return None
    text = format(value, "f")
    return text


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step > 0 and (value % step) == 0

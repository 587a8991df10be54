"""Construct ids derived from the declaration's logical names."""

from __future__ import annotations


def construct_id(logical: str, suffix: str = "") -> str:
    """``"to-orders"`` -> ``"ToOrders"`` (+ suffix): stable, readable logical ids."""
    return "".join(part.title() for part in logical.split("-")) + suffix

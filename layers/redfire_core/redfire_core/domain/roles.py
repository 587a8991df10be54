"""Roles and the scopes each may hold: a domain fact that tokens, API keys and routes share."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"
    OPERATOR = "operator"


ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.VIEWER: ("read",),
    Role.TRADER: ("read", "trade"),
    Role.ADMIN: ("read", "trade", "admin"),
    Role.OPERATOR: ("operator",),
}

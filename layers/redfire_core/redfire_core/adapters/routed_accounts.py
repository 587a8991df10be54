"""Which accounts trade on a venue: the accounts table's sparse ``gateway`` index.

An account's book item carries ``gateway`` (``alpaca``, ``ccxt:binance``) only while it is
routed to a venue (paper accounts have none), and the accounts table's ``gsi1`` is keyed
on that attribute, so the index holds venue accounts and nothing else: the reconciliation
schedule reads it instead of scanning the table (whose activity lines grow with every
trade of every account).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from redfire_core.adapters import models as m
from redfire_core.config import Settings, get_settings
from redfire_core.resources import ACCOUNTS

VENUE_INDEX = ACCOUNTS.gsis[0]


class _GatewayIndex(GlobalSecondaryIndex["_RoutedAccount"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = VENUE_INDEX.name
        projection = AllProjection()

    gateway = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class _RoutedAccount(Model):
    """The few attributes of an account's book item this adapter reads."""

    class Meta:
        table_name = "accounts"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    gateway = UnicodeAttribute(null=True)
    gateway_status = UnicodeAttribute(null=True)
    by_gateway = _GatewayIndex()


@dataclass(frozen=True)
class RoutedAccount:
    account_id: str
    gateway: str  # "alpaca", "ccxt:binance"
    status: str | None  # connecting | connected | error


def accounts_on(kind: str, settings: Settings | None = None) -> list[RoutedAccount]:
    """Every account routed to venue ``kind`` (``alpaca`` or ``ccxt``, any exchange).

    ``alpaca`` is one index partition (a Query); ``ccxt`` accounts sit in one partition per
    exchange, so they are found with a Scan of the index, which holds venue accounts only."""
    m.bind_model(_RoutedAccount, ACCOUNTS.logical, settings or get_settings())
    items: Any
    if ":" in kind or kind == "alpaca":
        items = _RoutedAccount.by_gateway.query(kind)
    else:
        items = _RoutedAccount.by_gateway.scan(
            filter_condition=_RoutedAccount.gateway.startswith(f"{kind}:")
        )
    return [RoutedAccount(item.pk, str(item.gateway), item.gateway_status) for item in items]

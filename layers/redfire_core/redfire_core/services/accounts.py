"""Opening accounts and seeding the local cloud's demo data."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.account_ids import account_id_problem
from redfire_core.domain.instruments import DEMO_INSTRUMENTS
from redfire_core.domain.ledger import deposit
from redfire_core.domain.positions import Account

DEMO_ACCOUNT_ID = "demo"
DEMO_CASH = Decimal("100000")


def open_account(
    store: TradingStore,
    audit: AuditLog,
    account_id: str,
    *,
    actor: str,
    now: datetime,
    cash: Decimal = DEMO_CASH,
    margin_enabled: bool = True,
    leverage: Decimal = Decimal(1),
) -> bool:
    """Create the account if it does not exist; True when it was created now. A new id
    must follow the account id pattern (``DomainError``); an existing one is left as it is."""
    problem = account_id_problem(account_id)
    if problem is not None:
        if store.get_account(account_id) is None:
            raise problem
        return False
    account = Account(
        id=account_id,
        currency="USD",
        cash=cash,
        created_at=now,
        margin_enabled=margin_enabled,
        leverage=leverage,
    )
    created = store.create_account(account, [deposit(account_id, cash, now, "opening")])
    if created:
        audit.record(
            account_id=account_id,
            actor=actor,
            action="account.opened",
            detail={"cash": str(cash), "margin_enabled": margin_enabled, "leverage": str(leverage)},
            now=now,
        )
    return created


def seed_demo(store: TradingStore, audit: AuditLog, now: datetime) -> str:
    """The demo account (100,000 USD, margin, leverage 1) and the demo instruments."""
    for instrument in DEMO_INSTRUMENTS:
        if store.get_instrument(instrument.symbol) is None:
            store.put_instrument(instrument)
    open_account(store, audit, DEMO_ACCOUNT_ID, actor="redfire dev", now=now)
    return DEMO_ACCOUNT_ID

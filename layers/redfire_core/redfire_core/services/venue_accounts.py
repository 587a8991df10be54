"""An account's gateway: paper, Alpaca or a ccxt exchange, its credentials and status.

The route lives on the account's book (``gateway``, ``gateway_mode``, ``gateway_status``,
``gateway_error``) so the decision hop reads it with the book; the credentials live in
Secrets Manager only. Setting a venue stores the credentials, marks the gateway
``connecting`` and asks the venue function to check them (a ``connect`` message): it
makes a read-only call, records the venue's cash and positions as the account's book
(the opening entry, audited) and marks it ``connected``, or ``error`` with the venue's
message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.venue_queues import VenueSender
from redfire_core.adapters.venue_secrets import VenueSecrets, masked
from redfire_core.config import Settings, get_settings
from redfire_core.domain.errors import DomainError
from redfire_core.domain.ledger import Activity, ActivityType
from redfire_core.domain.positions import Account, Position
from redfire_core.events import iso
from redfire_core.observability import count, logger
from redfire_core.ports import OrderStore
from redfire_core.resources import venue_queue
from redfire_core.services.retrying import on_conflict_retry
from redfire_core.venues import VenueBalances, VenueCredentials, VenueKind, VenueMode

PAPER = VenueKind.PAPER.value
CONNECTING, CONNECTED, ERROR = "connecting", "connected", "error"
GATEWAY_BUSY = "GATEWAY_BUSY"
GATEWAY_INVALID = "GATEWAY_INVALID"
GATEWAY_UNAVAILABLE = "GATEWAY_UNAVAILABLE"


@dataclass(frozen=True)
class GatewaySetting:
    """What ``PUT /v1/account/gateway`` asks for (the secret never leaves this object's
    way to Secrets Manager)."""

    gateway: str
    mode: VenueMode = VenueMode.PAPER
    key_id: str | None = None
    secret: str | None = None


def check_gateway(gateway: str, settings: Settings | None = None) -> str:
    """``gateway`` if it is one an admin may choose, else ``GATEWAY_INVALID`` (422)."""
    settings = settings or get_settings()
    if gateway in (PAPER, VenueKind.ALPACA.value):
        return gateway
    kind, _, exchange = gateway.partition(":")
    allowed = {e.strip() for e in settings.venue_exchanges.split(",") if e.strip()}
    if kind == VenueKind.CCXT.value and exchange in allowed:
        return gateway
    choices = ", ".join(["paper", "alpaca", *(f"ccxt:{e}" for e in sorted(allowed))])
    raise DomainError(GATEWAY_INVALID, f"gateway must be one of {choices}", "gateway")


def set_gateway(
    store: OrderStore,
    secrets: VenueSecrets,
    sender: VenueSender,
    audit: AuditLog,
    account_id: str,
    setting: GatewaySetting,
    *,
    actor: str,
    now: datetime,
    settings: Settings | None = None,
) -> Account:
    """Route the account to ``setting.gateway``; a venue is then checked (``connecting``).

    Switching to another gateway or mode while orders are open is ``GATEWAY_BUSY`` (409):
    they would be left where nobody follows them. New credentials for the same gateway
    (after a revoked key) are always allowed."""
    settings = settings or get_settings()
    gateway = check_gateway(setting.gateway, settings)
    venue = gateway != PAPER
    if venue and not (setting.key_id and setting.secret):
        raise DomainError(GATEWAY_INVALID, "key_id and secret are required", "key_id")
    account = store.get_account(account_id)
    if account is None:
        raise DomainError("ACCOUNT_NOT_FOUND", "the account does not exist")
    mode = setting.mode.value if venue else PAPER
    switching = (gateway, mode) != (account.gateway, account.gateway_mode)
    if switching and store.open_orders_of(account_id):
        raise DomainError(
            GATEWAY_BUSY, "cancel the account's open orders before switching its gateway"
        )
    if venue:
        assert setting.key_id is not None and setting.secret is not None
        secrets.put(
            account_id,
            gateway,
            VenueCredentials(
                key_id=setting.key_id,
                secret=setting.secret,
                mode=setting.mode,
                exchange=gateway.partition(":")[2] or None,
                base_url=settings.venue_base_urls.get(gateway.partition(":")[0]),
            ),
        )
    else:
        secrets.delete(account_id)
    status = CONNECTING if venue else None

    def attempt() -> Account:
        before = store.get_account(account_id)
        assert before is not None
        after = replace(
            before,
            gateway=gateway,
            gateway_mode=mode,
            gateway_status=status,
            gateway_error=None,
            version=before.version + 1,
        )
        store.save_account(before, after)
        return after

    after = on_conflict_retry(attempt)
    audit.record(
        account_id=account_id,
        actor=actor,
        action="account.gateway_set",
        detail={
            "gateway": gateway,
            "mode": mode,
            "key_id": masked(setting.key_id) if setting.key_id else None,
        },
        now=now,
    )
    if venue:
        sender.send(venue_queue(gateway), {"action": "connect", "account_id": account_id})
    return after


def record_gateway_error(store: OrderStore, account_id: str, message: str) -> None:
    """The venue refused the credentials: new orders are denied (GATEWAY_UNAVAILABLE) until
    the admin sets working ones; the ``VenueGatewayErrors`` metric raises the alarm."""

    def attempt() -> None:
        before = store.get_account(account_id)
        if before is None or before.gateway == PAPER:
            return
        if before.gateway_status == ERROR and before.gateway_error == message:
            return
        after = replace(
            before, gateway_status=ERROR, gateway_error=message, version=before.version + 1
        )
        store.save_account(before, after)

    on_conflict_retry(attempt)
    count("VenueGatewayErrors", 1)
    logger.warning("venue gateway in error", extra={"account_id": account_id})


def record_connected(
    store: OrderStore, audit: AuditLog, account_id: str, balances: VenueBalances, now: datetime
) -> Account:
    """The opening entry: the venue's cash and positions become the account's book (one
    transaction, an ``adjustment`` ledger line for the change of cash, audited), and the
    gateway is ``connected``."""
    detail: dict[str, Any] = {}

    def attempt() -> Account:
        before = store.get_account(account_id)
        if before is None:
            raise LookupError(f"account {account_id} does not exist")
        held = {p.symbol: p for p in store.list_positions(account_id)}
        venue_positions = {p.symbol: p for p in balances.positions}
        changed: list[tuple[Position, Position]] = []
        for symbol in sorted(set(held) | set(venue_positions)):
            position = held.get(symbol) or Position(account_id, symbol)
            at_venue = venue_positions.get(symbol)
            quantity = at_venue.quantity if at_venue else Decimal(0)
            basis = quantity * (at_venue.average_price or Decimal(0)) if at_venue else Decimal(0)
            if (position.quantity, position.cost_basis) == (quantity, basis):
                continue
            changed.append(
                (
                    position,
                    replace(
                        position, quantity=quantity, cost_basis=basis, version=position.version + 1
                    ),
                )
            )
        delta = balances.cash - before.cash
        lines = []
        if delta:
            lines.append(
                Activity(
                    id=f"opening-{iso(now)}",
                    account_id=account_id,
                    type=ActivityType.ADJUSTMENT,
                    amount=delta,
                    at=now,
                    description=f"opening entry: cash at the venue ({before.gateway})",
                )
            )
        after = replace(
            before,
            cash=balances.cash,
            gateway_status=CONNECTED,
            gateway_error=None,
            version=before.version + 1,
        )
        store.write(accounts_changed=[(before, after)], positions_changed=changed, activities=lines)
        detail.update(
            gateway=before.gateway,
            cash_before=str(before.cash),
            cash_after=str(balances.cash),
            positions={p.symbol: str(p.quantity) for _, p in changed},
        )
        return after

    after = on_conflict_retry(attempt)
    audit.record(
        account_id=account_id,
        actor="venue",
        action="account.gateway_connected",
        detail=detail,
        now=now,
    )
    return after

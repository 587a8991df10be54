"""Account ids on the API and when accounts are opened: an internal key is never an
account, new ids follow the pattern, and ids created before the pattern keep working."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.errors import DomainError
from redfire_core.domain.positions import Account
from redfire_core.domain.roles import Role
from redfire_core.services.accounts import open_account
from tests.integration.conftest import call_api, token_for

HALT = {"state": "halted", "reason": "posing as the platform"}


def global_state() -> str:
    status, _, body = call_api(
        "GET", "/v1/risk/global-state", token=token_for("platform-ops", Role.OPERATOR)
    )
    assert status == 200
    return str(body["state"])


def test_a_token_for_the_platform_key_cannot_set_the_global_trading_state(
    seeded: TradingStore,
) -> None:
    # Given an admin token naming the account "PLATFORM" (the global state's key)
    token = token_for("PLATFORM", Role.ADMIN)

    # When it sets "its" trading state
    status, _, body = call_api("PUT", "/v1/risk/state", body=HALT, token=token)

    # Then the token is refused and every account can still trade
    assert status == 401, body
    assert global_state() == "active"


@pytest.mark.parametrize(
    ("account_id", "code"),
    [("PLATFORM", "ACCOUNT_ID_INVALID"), ("platform", "ACCOUNT_ID_RESERVED")],
)
def test_an_account_cannot_be_opened_under_a_reserved_key(
    seeded: TradingStore, account_id: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        open_account(seeded, AuditLog(), account_id, actor="test", now=datetime.now(UTC))
    assert refused.value.code == code
    assert seeded.get_account(account_id) is None


def test_an_account_created_before_the_pattern_keeps_working(seeded: TradingStore) -> None:
    # Given an account whose id predates the pattern
    legacy = "Legacy_Fund"
    now = datetime.now(UTC)
    seeded.create_account(Account(id=legacy, currency="USD", cash=Decimal(1000), created_at=now))

    # When it is opened again (idempotently) and its token is used
    opened = open_account(seeded, AuditLog(), legacy, actor="test", now=now)
    status, _, body = call_api("GET", "/v1/account", token=token_for(legacy, Role.TRADER))

    # Then nothing is created and its token still verifies
    assert opened is False
    assert status == 200 and body["id"] == legacy

"""An in-process moto account with RedFire's resources, the demo data and a trader's token.

The same set-up as ``tests/integration/conftest.py``: resources provisioned from the
declaration, the demo account and instruments, and a fresh GOOG price so a market
order fills. Call ``apply_bench_environment()`` before importing this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from moto import mock_aws

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.auth import issue_token
from redfire_core.config import get_settings
from redfire_core.domain.roles import Role
from redfire_core.services.accounts import seed_demo
from tests.support.events import LambdaContext, http_event
from tests.support.provisioning import provision

SECRET = "bench-signing-secret-0123456789abcdef0123456789abcdef"
MARKET_BUY = {
    "symbol": "GOOG",
    "side": "buy",
    "type": "market",
    "quantity": "1",
    "time_in_force": "day",
}


@dataclass(frozen=True)
class Account:
    account_id: str
    token: str


@contextmanager
def demo_account() -> Iterator[Account]:
    """Inside ``mock_aws``: every resource, the seeded demo account and its trader token."""
    with mock_aws():
        settings = get_settings()
        provision(settings.declaration, jwt_secret=SECRET)
        now = datetime.now(UTC)
        account_id = seed_demo(TradingStore(), AuditLog(), now)
        DynamoDbMarketDataStore().advance_latest(
            "GOOG", Decimal("100.00"), now - timedelta(seconds=5)
        )
        yield Account(account_id, trader_token(account_id, now))


def trader_token(account_id: str, now: datetime) -> str:
    """A trader's token for ``account_id``, signed with the provisioned secret."""
    return issue_token(
        SECRET,
        account_id=account_id,
        role=Role.TRADER,
        subject=f"user-{account_id}",
        settings=get_settings(),
        now=now,
    )


def place_order(token: str, body: dict[str, str] | None = None) -> dict[str, Any]:
    """POST /v1/orders through the API handler; the created order's JSON view."""
    from redfire_api.handler import handler

    event = http_event("POST", "/v1/orders", body=body or MARKET_BUY, token=token)
    response = handler(event, LambdaContext())
    if response["statusCode"] != 201:
        raise RuntimeError(f"placing an order failed: {response['statusCode']} {response['body']}")
    return dict(json.loads(response["body"]))

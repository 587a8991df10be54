"""moto-backed fixtures: every declared resource, the demo data and a signing secret."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.auth import issue_token
from redfire_core.config import get_settings
from redfire_core.domain.roles import Role
from redfire_core.services.accounts import open_account, seed_demo
from redfire_core.services.instruments import instrument_cache
from tests.support.events import LambdaContext, http_event
from tests.support.pipeline import Pipeline
from tests.support.provisioning import provision
from tests.support.stream_fakes import RecordingPoster

SECRET = "test-signing-secret-0123456789abcdef0123456789abcdef"


@pytest.fixture
def aws() -> Iterator[None]:
    """An empty moto account with RedFire's resources provisioned from the declaration."""
    with mock_aws():
        provision(get_settings().declaration, jwt_secret=SECRET)
        yield


@pytest.fixture(autouse=True)
def fresh_instrument_cache() -> None:
    """Each test starts with no cached instruments (the cache outlives a moto account)."""
    instrument_cache.cache_clear()


@pytest.fixture(autouse=True)
def no_leased_rate_tokens() -> None:
    """Each test starts with no rate-limit tokens leased (a lease outlives a moto account)."""
    security = sys.modules.get("redfire_api.security")
    if security is not None:
        security._rate_limiter.cache_clear()


@pytest.fixture
def store(aws: None) -> TradingStore:
    return TradingStore()


@pytest.fixture
def seeded(store: TradingStore) -> TradingStore:
    return seed(store)


def seed(store: TradingStore | None = None) -> TradingStore:
    """Demo instruments, the demo account (100,000 USD) and a fresh GOOG price of 100.00."""
    store = store or TradingStore()
    now = datetime.now(UTC)
    seed_demo(store, AuditLog(), now)
    DynamoDbMarketDataStore().advance_latest("GOOG", Decimal("100.00"), now - timedelta(seconds=5))
    return store


@pytest.fixture
def pipeline(aws: None) -> Pipeline:
    return Pipeline(get_settings().stage)


def token_for(account_id: str = "demo", role: Role = Role.TRADER) -> str:
    return issue_token(
        SECRET,
        account_id=account_id,
        role=role,
        subject=f"user-{account_id}",
        settings=get_settings(),
        now=datetime.now(UTC),
    )


@pytest.fixture
def other_account(seeded: TradingStore) -> str:
    open_account(seeded, AuditLog(), "other", actor="test", now=datetime.now(UTC))
    return "other"


def sqs_messages(queue_logical: str) -> list[dict[str, object]]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().declaration.name(queue_logical))["QueueUrl"]
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])


def call_api(method: str, url: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    """One request through the API function's Lambda entry point: status, headers, JSON."""
    from redfire_api.handler import handler  # imported late: it builds the app

    response = handler(http_event(method, url, **kwargs), LambdaContext())
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], response["headers"], body


@pytest.fixture
def poster(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingPoster]:
    """The management API every stream function posts to, recorded for this test."""
    from redfire_stream import wiring

    recording = RecordingPoster()
    monkeypatch.setattr(wiring, "ApiGatewayManagement", lambda url: recording)
    wiring.stream.cache_clear()
    yield recording
    wiring.stream.cache_clear()


def call_ws(event: dict[str, Any]) -> dict[str, Any]:
    """One WebSocket route event through the ws function's Lambda entry point."""
    from redfire_stream.ws_handler import handler

    reply: dict[str, Any] = handler(event, LambdaContext())
    return reply

"""PUT/GET /v1/account/gateway on moto: credentials to Secrets Manager only, the check
by the venue function (a connect message) with the opening entry, and the refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest

from redfire_core.adapters import models
from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.roles import Role
from redfire_core.services.venue_intake import handle_venue_message
from redfire_core.venues import VenuePosition
from tests.integration.conftest import call_api, sqs_messages, token_for
from tests.integration.test_order_flow import place
from tests.support.books import assert_books
from tests.support.fake_venue import FakeVenue

SECRET_TEXT = "s3cr3t-never-shown-0123456789"
ALPACA = {"gateway": "alpaca", "mode": "paper", "key_id": "PKTEST1234ABCD", "secret": SECRET_TEXT}


class ConnectingSender:
    """The venue queue with the venue function behind it: a connect is handled at once."""

    def __init__(self, venue: FakeVenue, store: TradingStore) -> None:
        self.venue = venue
        self.store = store
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, queue: str, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self.sent.append((queue, body))
        handle_venue_message(
            body, self.venue, now=datetime.now(UTC), store=self.store, sender=self, audit=AuditLog()
        )

    def send_all(self, queue: str, bodies: list[dict[str, Any]]) -> None:
        for body in bodies:
            self.send(queue, body)


@pytest.fixture
def venue() -> FakeVenue:
    return FakeVenue(
        cash=Decimal("25000"), positions=(VenuePosition("AAPL", Decimal(5), Decimal("180")),)
    )


@pytest.fixture
def sender(
    seeded: TradingStore, venue: FakeVenue, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConnectingSender]:
    from redfire_api.routes import gateway

    recording = ConnectingSender(venue, seeded)
    monkeypatch.setattr(gateway, "venue_sender", lambda: recording)
    gateway.venue_secrets.cache_clear()
    yield recording
    gateway.venue_secrets.cache_clear()


def admin() -> str:
    return token_for(role=Role.ADMIN)


def put(body: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    status, _, answer = call_api("PUT", "/v1/account/gateway", body=body, token=token or admin())
    return status, answer


def test_setting_alpaca_checks_the_key_and_opens_the_book_at_the_venue(
    seeded: TradingStore, sender: ConnectingSender, venue: FakeVenue
) -> None:
    status, body = put(ALPACA)

    assert status == 200, body
    assert body == {
        "gateway": "alpaca",
        "mode": "paper",
        "status": "connected",
        "error": None,
        "key_id": "**********ABCD",
    }
    assert sender.sent == [("venue-alpaca", {"action": "connect", "account_id": "demo"})]
    # The opening entry: the venue's cash and positions are the book, through the ledger.
    account = seeded.get_account("demo")
    assert account is not None and account.cash == Decimal("25000")
    assert seeded.get_position("demo", "AAPL").quantity == Decimal(5)
    assert_books(seeded, "demo", opening={"AAPL": Decimal(5)})
    actions = [i.action for i in models.AuditItem.query("demo")]
    assert "account.gateway_set" in actions and "account.gateway_connected" in actions


def test_the_secret_is_in_secrets_manager_only(
    seeded: TradingStore, sender: ConnectingSender, capsys: pytest.CaptureFixture[str]
) -> None:
    put(ALPACA)
    _, _, shown = call_api("GET", "/v1/account/gateway", token=admin())

    stored = boto3.client("secretsmanager").get_secret_value(
        SecretId=f"redfire/{get_settings().stage}/venues/demo"
    )
    assert SECRET_TEXT in stored["SecretString"]
    assert SECRET_TEXT not in str(shown)
    for table in ("accounts", "audit", "orders"):
        items = boto3.client("dynamodb").scan(TableName=get_settings().table_name(table))
        assert SECRET_TEXT not in str(items["Items"]), table
    captured = capsys.readouterr()
    assert SECRET_TEXT not in captured.out + captured.err


def test_refused_credentials_answer_422_with_the_venues_message(
    seeded: TradingStore, sender: ConnectingSender, venue: FakeVenue
) -> None:
    venue.revoked = True

    status, body = put(ALPACA)

    assert status == 422 and body["code"] == "VENUE_CREDENTIALS_INVALID"
    assert body["detail"] == "API key revoked"
    _, _, shown = call_api("GET", "/v1/account/gateway", token=admin())
    assert (shown["status"], shown["error"]) == ("error", "API key revoked")


def test_a_check_that_takes_long_answers_202_connecting(
    seeded: TradingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redfire_api.routes import gateway

    gateway.venue_sender.cache_clear()
    monkeypatch.setattr(get_settings(), "gateway_connect_wait_seconds", 0.1)

    status, body = put(ALPACA)

    assert status == 202 and body["status"] == "connecting"
    bodies = [m["Body"] for m in sqs_messages("venue-alpaca")]
    assert bodies == ['{"action":"connect","account_id":"demo"}']


def test_switching_with_open_orders_is_409_gateway_busy(
    seeded: TradingStore, sender: ConnectingSender, pipeline: Any
) -> None:
    place(
        {
            "symbol": "GOOG",
            "side": "buy",
            "type": "limit",
            "quantity": "1",
            "limit_price": "50.00",
            "time_in_force": "gtc",
        }
    )
    pipeline.run_until_quiet()

    status, body = put(ALPACA)

    assert status == 409 and body["code"] == "GATEWAY_BUSY"
    account = seeded.get_account("demo")
    assert account is not None and account.gateway == "paper"


@pytest.mark.parametrize(
    "change",
    [
        {"gateway": "ccxt:kraken", "key_id": "k", "secret": "s"},
        {"gateway": "ib", "key_id": "k", "secret": "s"},
        {"gateway": "alpaca"},
        {"gateway": "alpaca", "mode": "demo", "key_id": "k", "secret": "s"},
    ],
)
def test_an_unknown_gateway_or_missing_key_is_422(
    seeded: TradingStore, sender: ConnectingSender, change: dict[str, str]
) -> None:
    status, body = put(change)

    assert status == 422, body
    assert sender.sent == []


def test_a_trader_cannot_set_the_gateway(seeded: TradingStore, sender: ConnectingSender) -> None:
    status, _ = put(ALPACA, token=token_for(role=Role.TRADER))

    assert status == 403


def test_setting_paper_deletes_the_secret(seeded: TradingStore, sender: ConnectingSender) -> None:
    put(ALPACA)

    status, body = put({"gateway": "paper"})

    assert status == 200 and body == {
        "gateway": "paper",
        "mode": "paper",
        "status": None,
        "error": None,
        "key_id": None,
    }
    names = [s["Name"] for s in boto3.client("secretsmanager").list_secrets()["SecretList"]]
    assert not [n for n in names if "/venues/" in n]


def test_ccxt_binance_is_accepted(seeded: TradingStore, sender: ConnectingSender) -> None:
    status, body = put({"gateway": "ccxt:binance", "key_id": "binancekey1", "secret": "x"})

    assert status == 200 and body["gateway"] == "ccxt:binance"
    assert sender.sent[0][0] == "venue-ccxt"

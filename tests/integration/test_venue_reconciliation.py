"""Venue reconciliation on moto: a drift is an outbox event and an audit record, and a
venue's accounts are read from the accounts table's sparse gateway index (issue 17)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from pynamodb.connection.base import Connection

from redfire_core.adapters import models
from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.routed_accounts import RoutedAccount, accounts_on
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.orders import OrderStatus
from redfire_core.events import Envelope, ReconciliationDrift
from redfire_core.services.accounts import open_account
from redfire_core.services.venue_reconciliation import reconcile_account, reconcile_venue
from redfire_core.venues import VenueAuthError, VenueOrder, VenuePosition, VenueUnavailable
from tests.integration.test_order_flow import place
from tests.integration.test_venue_orders import LIMIT_BUY, order_of, route_to_venue
from tests.support.books import assert_books
from tests.support.fake_venue import FakeVenue
from tests.support.pipeline import Pipeline, VenueDesk
from tests.support.scripted_venue import ScriptedVenue


def no_repair(account_id: str, order_id: str, venue: VenueOrder, *, now: datetime) -> bool:
    raise AssertionError("nothing to repair in these tests")


def outbox_events(account_id: str) -> list[Envelope]:
    rows = models.OutboxItem.query(account_id, models.OutboxItem.sk.startswith("OUTBOX#"))
    return [Envelope.model_validate(e) for row in rows for e in json.loads(row.events)]


def test_a_position_drift_is_an_outbox_event_and_an_audit_record(seeded: TradingStore) -> None:
    # Given the demo account (100,000 USD, no positions) and a venue holding 7 GOOG
    venue = ScriptedVenue(positions=(VenuePosition("GOOG", Decimal("7")),))
    # When reconciled
    result = reconcile_account(
        "demo", venue, now=datetime.now(UTC), venue="alpaca", store=seeded, apply=no_repair
    )
    # Then the drift rides on an outbox row (the stream relays it to the bus)
    assert [d.kind for d in result.drifts] == ["position"]
    (event,) = outbox_events("demo")
    assert event.type == "ReconciliationDrift" and event.account_id == "demo"
    drift = ReconciliationDrift.model_validate(event.payload)
    assert (drift.venue, drift.symbol, drift.ours, drift.theirs) == ("alpaca", "GOOG", None, "7")
    # and the audit log has the record, naming the reconciler
    records, _ = AuditLog().list("demo", limit=10, cursor=None)
    (record,) = [r for r in records if r.action == "venue.drift"]
    assert record.actor == "venue-reconciler" and record.object_id == "GOOG"
    assert record.detail["kind"] == "position" and record.detail["theirs"] == "7"


def test_matching_books_write_nothing(seeded: TradingStore) -> None:
    # Given a venue holding what the demo account holds (cash only)
    venue = ScriptedVenue(cash=Decimal("100000"))
    # When reconciled, then no event and no audit record is written
    reconcile_account("demo", venue, now=datetime.now(UTC), store=seeded, apply=no_repair)
    assert outbox_events("demo") == []
    records, _ = AuditLog().list("demo", limit=10, cursor=None)
    assert [r for r in records if r.action == "venue.drift"] == []


def put_book(account_id: str, gateway: str | None, status: str = "connected") -> None:
    """An account's book item as the gateway setting writes it (gateway absent on paper)."""
    item: dict[str, Any] = {"pk": {"S": account_id}, "sk": {"S": "ACCOUNT"}}
    if gateway is not None:
        item |= {"gateway": {"S": gateway}, "gateway_status": {"S": status}}
    boto3.client("dynamodb").put_item(TableName=get_settings().table_name("accounts"), Item=item)


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    calls: Counter[str] = Counter()
    dispatch = Connection.dispatch

    def counted(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        index = operation_kwargs.get("IndexName", "table")
        calls[f"{operation_name} {index}"] += 1
        return dispatch(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "dispatch", counted)
    yield calls


def test_a_venues_accounts_come_from_the_sparse_index(
    aws: None, dynamodb_calls: Counter[str]
) -> None:
    # Given paper accounts, two Alpaca accounts and ccxt accounts on two exchanges
    for n in range(5):
        put_book(f"paper-{n}", None)
    put_book("al-1", "alpaca")
    put_book("al-2", "alpaca", status="error")
    put_book("cx-1", "ccxt:binance")
    put_book("cx-2", "ccxt:kraken")
    dynamodb_calls.clear()
    # When the Alpaca accounts are listed, then one index query finds both, no paper account
    assert accounts_on("alpaca") == [
        RoutedAccount("al-1", "alpaca", "connected"),
        RoutedAccount("al-2", "alpaca", "error"),
    ]
    assert dynamodb_calls == Counter({"Query gsi1": 1})
    # And the ccxt accounts of every exchange come from the index alone, never the table
    dynamodb_calls.clear()
    assert sorted(a.account_id for a in accounts_on("ccxt")) == ["cx-1", "cx-2"]
    assert dynamodb_calls == Counter({"Scan gsi1": 1})


def route(account_id: str, gateway: str, status: str) -> None:
    """What the gateway setting adds to an account's book item."""
    boto3.client("dynamodb").update_item(
        TableName=get_settings().table_name("accounts"),
        Key={"pk": {"S": account_id}, "sk": {"S": "ACCOUNT"}},
        UpdateExpression="SET gateway = :g, gateway_status = :s",
        ExpressionAttributeValues={":g": {"S": gateway}, ":s": {"S": status}},
    )


def test_the_sweep_reconciles_connected_accounts_and_survives_a_failing_venue(
    store: TradingStore,
) -> None:
    # Given three Alpaca accounts: one drifting, one whose venue is down, one in error
    now = datetime.now(UTC)
    for account_id, status in (
        ("a-drift", "connected"),
        ("a-down", "connected"),
        ("a-err", "error"),
    ):
        open_account(store, AuditLog(), account_id, actor="test", now=now)
        route(account_id, "alpaca", status)
    venues = {
        "a-drift": ScriptedVenue(positions=(VenuePosition("GOOG", Decimal("1")),)),
        "a-down": ScriptedVenue(fail_with=VenueUnavailable("503 service unavailable")),
    }
    # When the schedule's sweep runs
    swept = reconcile_venue("alpaca", venues.__getitem__, now=now, apply=no_repair)
    # Then the drifting account is reported, the failing one counted, the one in error skipped
    assert swept.as_dict() == {
        "accounts": 1,
        "skipped": 1,
        "failed": 1,
        "drifts": 1,
        "repaired": 0,
    }
    assert [e.type for e in outbox_events("a-drift")] == ["ReconciliationDrift"]
    assert outbox_events("a-down") == []


class Symbolled:
    """The fake venue under the port's ``find(client_order_id, symbol)`` (it ignores the
    symbol, as a venue with global order ids does)."""

    def __init__(self, venue: FakeVenue) -> None:
        self.venue = venue

    def find(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        return self.venue.find(client_order_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.venue, name)


def test_a_gtc_order_filled_after_the_intake_stopped_is_repaired_by_reconciliation(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a GTC limit order at the venue that the intake polled for its 10 minutes
    route_to_venue(seeded)
    venue = FakeVenue()
    desk = VenueDesk(pipeline, venue, datetime.now(UTC))
    order = place(LIMIT_BUY)
    desk.run()
    assert desk.pending == [] and order_of(seeded, order["id"]).status is OrderStatus.ACCEPTED
    # When the venue fills it later, and the reconcile schedule runs
    venue.execute(order["id"], "10", "98.75")
    result = reconcile_account(
        "demo", Symbolled(venue), now=desk.now + timedelta(hours=1), venue="alpaca"
    )
    # Then the order is filled through the intake's fill transaction, and the books balance
    filled = order_of(seeded, order["id"])
    assert filled.status is OrderStatus.FILLED and filled.filled_quantity == 10
    assert result.repaired == [order["id"]]
    assert_books(seeded, "demo")
    # and the repair is reported as drift, with both sides' states
    (drift,) = [d for d in result.drifts if d.order_id == order["id"]]
    assert (drift.kind, drift.ours, drift.theirs, drift.repaired) == (
        "order_closed_at_venue",
        "accepted",
        "filled",
        True,
    )


def test_a_key_refused_during_the_sweep_puts_the_gateway_in_error(store: TradingStore) -> None:
    # Given a connected Alpaca account whose key has been revoked at the venue
    now = datetime.now(UTC)
    open_account(store, AuditLog(), "a-revoked", actor="test", now=now)
    route("a-revoked", "alpaca", "connected")
    revoked = ScriptedVenue(fail_with=VenueAuthError("forbidden."))
    # When the schedule's sweep runs
    swept = reconcile_venue("alpaca", lambda _account: revoked, now=now, apply=no_repair)
    # Then the account's gateway is in error with the venue's words (new orders are denied)
    account = store.get_account("a-revoked")
    assert account is not None
    assert (account.gateway_status, account.gateway_error) == ("error", "forbidden.")
    assert swept.failed == 1
    # and the next sweep skips it until the admin sets working credentials
    assert reconcile_venue("alpaca", lambda _account: revoked, now=now).skipped == 1


def test_an_account_routed_by_the_gateway_setting_is_in_the_index(seeded: TradingStore) -> None:
    # Given the demo account routed to Alpaca through the book (as a finished connect does)
    route_to_venue(seeded)
    # Then the reconcile schedule finds it; routed back to paper, it is gone from the index
    assert accounts_on("alpaca") == [RoutedAccount("demo", "alpaca", "connected")]
    before = seeded.get_account("demo")
    assert before is not None
    seeded.save_account(
        before, replace(before, gateway="paper", gateway_status=None, version=before.version + 1)
    )
    assert accounts_on("alpaca") == [] and accounts_on("ccxt") == []

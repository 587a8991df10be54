"""The venue functions' handlers (issue 17): an SQS batch goes message by message to the
intake with the account's gateway (partial batch response); the schedule reconciles the
venue's accounts and publishes the drift metric the alarm watches.

The intake's two functions (``venue_intake.handle_venue_message`` and
``venue_gateway_for``) are replaced per test, so these tests check the wiring, not the
intake; a module not on the branch yet (the intake, an adapter) is a stand-in of the
same name."""

from __future__ import annotations

import importlib
import json
import sys
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from redfire_core import venue_function
from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.failures import FailureRecords
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.observability import metrics
from redfire_core.services.accounts import open_account
from redfire_core.venues import VenueCredentials, VenueGateway, VenueOrder, VenuePosition
from tests.support.events import LambdaContext, sqs_event
from tests.support.scripted_venue import ScriptedVenue

ROOT = Path(__file__).resolve().parents[2]
VENUES = {
    "alpaca": ("redfire_venue_alpaca", "AlpacaGateway"),
    "ccxt": ("redfire_venue_ccxt", "CcxtGateway"),
}


def stand_in(monkeypatch: pytest.MonkeyPatch, name: str, **attributes: Any) -> None:
    """Put a stand-in module in place of ``name`` only if the real one is not there yet."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        module = types.ModuleType(name)
        for attribute, value in attributes.items():
            setattr(module, attribute, value)
        monkeypatch.setitem(sys.modules, name, module)


def _not_wired(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("the test replaces this")


@pytest.fixture(params=sorted(VENUES))
def venue(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The handler module of one venue function, as Lambda imports it."""
    kind = request.param
    package, gateway_class = VENUES[kind]
    monkeypatch.syspath_prepend(str(ROOT / "functions" / f"venue_{kind}"))
    stand_in(
        monkeypatch,
        "redfire_core.services.venue_intake",
        handle_venue_message=_not_wired,
        venue_gateway_for=_not_wired,
    )
    stand_in(monkeypatch, f"{package}.gateway", **{gateway_class: type(gateway_class, (), {})})
    monkeypatch.delitem(sys.modules, f"{package}.handler", raising=False)
    module = importlib.import_module(f"{package}.handler")
    module.KIND_NAME = kind
    module.GATEWAY_CLASS = getattr(sys.modules[f"{package}.gateway"], gateway_class)
    metrics.clear_metrics()
    yield module
    metrics.clear_metrics()
    sys.modules.pop(f"{package}.handler", None)


def test_each_message_reaches_the_intake_with_the_accounts_gateway(
    venue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the account's gateway as venue_gateway_for builds it from the venue's adapter
    built: list[tuple[str, Callable[[VenueCredentials], VenueGateway]]] = []
    gateway = ScriptedVenue()

    def gateway_for(account_id: str, factory: Callable[[VenueCredentials], VenueGateway]) -> Any:
        built.append((account_id, factory))
        return gateway

    handled: list[tuple[dict[str, Any], Any]] = []

    def handle(body: dict[str, Any], gw: Any, *, now: datetime) -> None:
        handled.append((body, gw))

    monkeypatch.setattr(venue_function, "venue_gateway_for", gateway_for)
    monkeypatch.setattr(venue_function, "handle_venue_message", handle)
    body = {"action": "poll", "account_id": "acct-1", "order_id": "o1", "attempt": 3}
    # When a batch of one message arrives
    result = venue.handler(sqs_event([json.dumps(body)]), LambdaContext())
    # Then the intake got the whole message and the gateway of its account, from this adapter
    assert result == {"batchItemFailures": []}
    assert handled == [(body, gateway)]
    assert built == [("acct-1", venue.GATEWAY_CLASS)]


def test_a_failing_message_alone_returns_to_the_queue(
    venue: Any, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an intake that fails on one order (say DynamoDB throttled) and a malformed body
    def handle(body: dict[str, Any], gw: Any, *, now: datetime) -> None:
        if body.get("order_id") == "bad":
            raise RuntimeError("throttled")

    monkeypatch.setattr(
        venue_function, "venue_gateway_for", lambda account_id, factory: ScriptedVenue()
    )
    monkeypatch.setattr(venue_function, "handle_venue_message", handle)
    bodies = [
        json.dumps({"action": "submit", "account_id": "a", "order_id": "good"}),
        json.dumps({"action": "submit", "account_id": "a", "order_id": "bad"}),
        json.dumps({"order_id": "no-account"}),
    ]
    # When the batch is handled
    result = venue.handler(sqs_event(bodies), LambdaContext())
    # Then only the failed and the malformed messages are reported (they retry, then DLQ)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    # with why, for `redfire dlq show`
    reasons = FailureRecords().reasons(["m1", "m2"])
    assert "RuntimeError: throttled" in str(reasons["m1"])


def test_the_schedule_reconciles_the_venues_accounts_and_counts_the_drift(
    venue: Any,
    store: TradingStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a connected account of this venue whose venue holds a position RedFire lacks
    kind = venue.KIND_NAME
    gateway = "alpaca" if kind == "alpaca" else "ccxt:binance"
    open_account(store, AuditLog(), "acct-1", actor="test", now=datetime.now(UTC))
    boto3.client("dynamodb").update_item(
        TableName=get_settings().table_name("accounts"),
        Key={"pk": {"S": "acct-1"}, "sk": {"S": "ACCOUNT"}},
        UpdateExpression="SET gateway = :g, gateway_status = :s",
        ExpressionAttributeValues={":g": {"S": gateway}, ":s": {"S": "connected"}},
    )
    scripted = ScriptedVenue(positions=(VenuePosition("GOOG", Decimal("3")),))
    asked: list[str] = []

    def gateway_for(account_id: str, factory: Any) -> ScriptedVenue:
        asked.append(account_id)
        assert factory is venue.GATEWAY_CLASS
        return scripted

    def no_repair(account_id: str, order_id: str, v: VenueOrder, *, now: datetime) -> bool:
        raise AssertionError("nothing to repair")

    monkeypatch.setattr(venue_function, "venue_gateway_for", gateway_for)
    monkeypatch.setattr("redfire_core.services.venue_reconciliation.apply_venue_order", no_repair)
    capsys.readouterr()
    # When the reconcile schedule fires
    result = venue.handler({"action": "reconcile"}, LambdaContext())
    # Then the account was reconciled against its venue and the drift counted
    assert asked == ["acct-1"]
    assert result == {"accounts": 1, "skipped": 0, "failed": 0, "drifts": 1, "repaired": 0}
    # and published as the metric the drift alarm reads (namespace RedFire, stage dimension)
    emf = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    (published,) = [e for e in emf if "ReconciliationDrift" in e]
    assert published["ReconciliationDrift"] == [1.0] and published["stage"] == "test"
    assert published["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "RedFire"


def test_an_unknown_scheduled_payload_is_refused(venue: Any) -> None:
    with pytest.raises(ValueError):
        venue.handler({"action": "expire_orders"}, LambdaContext())

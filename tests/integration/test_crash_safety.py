"""A crash at any AWS call of a handler leaves nothing half-written, and a retry finishes.

Each test counts the calls a handler makes, then for every call number n runs it again
on fresh state with call n failing: afterwards the state is exactly "before" or exactly
"after", never a mix, and the redelivered event completes the change once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import pytest
from botocore.client import BaseClient
from moto import mock_aws

from redfire_core.adapters import models
from redfire_core.adapters.trading_store import TradingStore, events_of_item
from redfire_core.config import get_settings
from redfire_core.events import Envelope, OrderAccepted, OrderCancelRequested, OrderSubmitted
from redfire_core.services.execution import on_cancel_requested
from redfire_core.services.managing import cancel_order
from redfire_core.services.placing import place_order
from redfire_core.services.risk_review import review_order
from redfire_core.views import order_view
from tests.integration.conftest import SECRET, seed
from tests.support.provisioning import provision

_original = BaseClient._make_api_call


class Crash(Exception):
    """The process died at this call (as far as the handler can tell)."""


@contextmanager
def failing_call(number: int | None, calls: list[str]) -> Iterator[None]:
    def call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        calls.append(operation)
        if len(calls) == number:
            raise Crash(operation)
        return _original(self, operation, params)

    with patch.object(BaseClient, "_make_api_call", call):
        yield


def outbox_types(account_id: str = "demo") -> list[str]:
    """The events written so far: on outbox rows, and on the order items (as the stream
    would carry them to the relay)."""
    rows = models.OutboxItem.query(account_id, models.OutboxItem.sk.startswith("OUTBOX#"))
    orders = models.OrderItem.query(account_id, models.OrderItem.sk.startswith("ORDER#"))
    carried = [e.type for item in orders for e in events_of_item(item)]
    return sorted([row.event_type for row in rows] + carried)


def snapshot(store: TradingStore, order_id: str) -> tuple[Any, ...]:
    order = store.get_order("demo", order_id)
    account = store.get_account("demo")
    position = store.get_position("demo", "GOOG")
    assert order is not None and account is not None
    trades = store.list_trades("demo").items
    ledger = store.list_activities("demo").items
    return (
        order.status,
        order.filled_quantity,
        account.cash,
        account.reserved,
        position.quantity,
        len(trades),
        len(ledger),
        tuple(outbox_types()),
    )


def accepted_order(store: TradingStore) -> Envelope:
    now = datetime.now(UTC)
    body = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "4"}
    order = place_order(store, "demo", body, correlation_id="c", now=now).order
    accepted = order.accept(now, reserved=Decimal("420"))
    account = store.get_account("demo")
    assert account is not None
    store.save_transition(order, accepted, [], account=(account, account.reserve(Decimal("420"))))
    return Envelope.wrap(
        OrderAccepted(order=order_view(accepted)),
        account_id="demo",
        correlation_id="c",
        occurred_at=now,
    )


def submitted_order(store: TradingStore) -> Envelope:
    now = datetime.now(UTC)
    body = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "4"}
    order = place_order(store, "demo", body, correlation_id="c", now=now).order
    return Envelope.wrap(
        OrderSubmitted(order=order_view(order)),
        account_id="demo",
        correlation_id="c",
        occurred_at=now,
    )


def cancel_requested(store: TradingStore) -> Envelope:
    order_id = accepted_order(store).payload["order"]["id"]
    pending = cancel_order(store, "demo", order_id, correlation_id="c", now=datetime.now(UTC))
    return Envelope.wrap(
        OrderCancelRequested(order=order_view(pending)),
        account_id="demo",
        correlation_id="c",
        occurred_at=datetime.now(UTC),
    )


def run_with_crashes(
    step: Callable[[TradingStore, Envelope], object],
    prepare: Callable[[TradingStore], Envelope] = accepted_order,
) -> None:
    calls: list[str] = []
    with mock_aws():
        provision(get_settings().declaration, jwt_secret=SECRET)
        store = seed()
        event = prepare(store)
        before = snapshot(store, event.payload["order"]["id"])
        with failing_call(None, calls):
            step(store, event)
        after = snapshot(store, event.payload["order"]["id"])
    assert before != after and "TransactWriteItems" in calls and len(calls) >= 3

    for number in range(1, len(calls) + 1):
        with mock_aws():
            provision(get_settings().declaration, jwt_secret=SECRET)
            store = seed()
            event = prepare(store)
            order_id = event.payload["order"]["id"]
            with failing_call(number, []), pytest.raises(Crash):
                step(store, event)
            assert snapshot(store, order_id) in (before, after), f"crash at call {number}"
            step(store, event)  # the redelivery
            assert snapshot(store, order_id) == after, (
                f"crash at call {number}: {calls[number - 1]}"
            )


def test_a_crash_at_any_step_of_a_decision_and_fill_leaves_nothing_half_written() -> None:
    # The decision hop: pre-trade review and the paper fill, from the submitted order.
    run_with_crashes(
        lambda store, event: review_order(store, event, datetime.now(UTC)),
        prepare=submitted_order,
    )


def test_a_crash_at_any_step_of_a_cancel_leaves_nothing_half_written() -> None:
    run_with_crashes(
        lambda store, event: on_cancel_requested(store, event, datetime.now(UTC)),
        prepare=cancel_requested,
    )

"""The risk-timeout sweep finds orders waiting for risk through the sparse submitted index:
one query per run, however many instruments are listed (issue 20, item 5)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pynamodb.connection.base import Connection

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.instruments import DEMO_INSTRUMENTS
from redfire_core.domain.orders import OrderStatus
from redfire_core.services.placing import place_order
from redfire_core.services.risk_review import deny_timed_out

BODY = {"symbol": "GOOG", "side": "buy", "type": "limit", "quantity": "1", "limit_price": "90"}


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """DynamoDB operations made through PynamoDB, by name."""
    calls: Counter[str] = Counter()
    dispatch = Connection.dispatch

    def counted(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        calls[operation_name] = calls[operation_name] + 1
        return dispatch(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "dispatch", counted)
    yield calls


def test_the_sweep_reads_one_index_query_however_many_instruments(
    seeded: TradingStore, dynamodb_calls: Counter[str]
) -> None:
    # Given 40 more instruments and nothing waiting
    for n in range(40):
        seeded.put_instrument(replace(DEMO_INSTRUMENTS[0], symbol=f"SYM{n}"))
    dynamodb_calls.clear()
    # When the sweep runs
    assert deny_timed_out(seeded, datetime.now(UTC), get_settings().risk_timeout_seconds) == 0
    # Then it made one query and nothing else
    assert dynamodb_calls == Counter({"Query": 1})


def test_only_orders_still_submitted_past_the_timeout_are_denied(seeded: TradingStore) -> None:
    timeout = get_settings().risk_timeout_seconds
    now = datetime.now(UTC)
    old, recent = now - timedelta(seconds=timeout + 5), now - timedelta(seconds=5)
    waiting = place_order(seeded, "demo", BODY, correlation_id="a", now=old).order
    fresh = place_order(seeded, "demo", BODY, correlation_id="b", now=recent).order
    decided = place_order(seeded, "demo", BODY, correlation_id="c", now=old).order
    seeded.save_transition(decided, decided.accept(old + timedelta(seconds=1)), [])
    # The index holds only what still waits for risk
    assert [o.id for o in seeded.submitted_before(now)] == [waiting.id, fresh.id]

    assert deny_timed_out(seeded, now, timeout) == 1
    denied, still = seeded.get_order("demo", waiting.id), seeded.get_order("demo", fresh.id)
    assert denied is not None and denied.status is OrderStatus.DENIED
    assert still is not None and still.status is OrderStatus.SUBMITTED
    # and the denied order left the index
    assert [o.id for o in seeded.submitted_before(now)] == [fresh.id]

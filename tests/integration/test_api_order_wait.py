"""``POST /v1/orders`` with ``Prefer: wait=N``: the pre-trade decision in the same call.

The pipeline runs where the API function would sleep between its re-reads of the order,
so each test controls when the decision arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.services import awaiting
from tests.integration.conftest import call_api, token_for
from tests.support.pipeline import Pipeline

MARKET_BUY = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"}
# No fresh AAPL price is seeded: risk denies it with RISK_STALE_PRICE.
STALE_BUY = {"symbol": "AAPL", "side": "buy", "type": "market", "quantity": "1"}


def place(
    body: dict[str, str], prefer: str | None = None, **headers: str
) -> tuple[int, dict[str, str], dict[str, object]]:
    if prefer is not None:
        headers["prefer"] = prefer
    return call_api("POST", "/v1/orders", body=body, token=token_for(), headers=headers)


@pytest.fixture
def decide_while_waiting(
    monkeypatch: pytest.MonkeyPatch, pipeline: Pipeline
) -> Callable[[], list[float]]:
    """Each pause of the wait relays the outbox and delivers one risk batch (the review)."""
    pauses: list[float] = []

    def step(seconds: float) -> None:
        pauses.append(seconds)
        pipeline.relay()
        pipeline.deliver("risk")

    monkeypatch.setattr(awaiting, "pause", step)
    return lambda: pauses


def test_a_denied_order_comes_back_denied_with_its_code_in_the_same_call(
    seeded: TradingStore, decide_while_waiting: Callable[[], list[float]]
) -> None:
    status, headers, body = place(STALE_BUY, "wait=2")
    assert status == 201
    assert body["status"] == "denied"
    assert body["reject_reason"]["code"] == "RISK_STALE_PRICE"
    assert headers["preference-applied"] == "wait=2"
    assert decide_while_waiting() == [0.05]  # decided after the first re-read


def test_an_accepted_market_order_comes_back_accepted_or_filled(
    seeded: TradingStore, decide_while_waiting: Callable[[], list[float]]
) -> None:
    status, headers, body = place(MARKET_BUY, "wait=1")
    assert status == 201
    assert body["status"] in ("accepted", "filled")
    assert headers["preference-applied"] == "wait=1"
    stored = seeded.get_order("demo", str(body["id"]))
    assert stored is not None and stored.status == body["status"]


def test_a_wait_that_runs_out_answers_201_with_the_order_still_submitted(
    seeded: TradingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(awaiting, "pause", sleep)  # nobody decides: risk never runs
    started = time.monotonic()
    status, headers, body = place(MARKET_BUY, "wait=1")
    elapsed = time.monotonic() - started
    assert (status, body["status"]) == (201, "submitted")
    assert headers["preference-applied"] == "wait=1"
    assert elapsed >= 1.0  # it waited the whole second it was asked to
    assert sum(pauses) <= 1.0 + 1e-6  # and never slept past the bound (no timing upper bound:
    # a busy machine only makes the reads between pauses slower)
    # Backoff, not a busy loop: 50, 100, then 200 ms steps (the last one cut to fit).
    assert pauses[:3] == [0.05, 0.1, 0.2]
    assert len(pauses) <= 8 and all(p <= 0.2 for p in pauses)


@pytest.mark.parametrize("prefer", ["wait=30", 'wait="5"', "respond-async, WAIT=99999999999999"])
def test_a_wait_above_two_seconds_is_clamped_to_two(
    seeded: TradingStore, decide_while_waiting: Callable[[], list[float]], prefer: str
) -> None:
    status, headers, body = place(STALE_BUY, prefer)
    assert (status, body["status"]) == (201, "denied")
    assert headers["preference-applied"] == "wait=2"


@pytest.mark.parametrize("prefer", [None, "wait=1.5", "wait=-1", "wait=soon", "respond-async"])
def test_without_a_usable_wait_the_order_is_answered_submitted_at_once(
    seeded: TradingStore, decide_while_waiting: Callable[[], list[float]], prefer: str | None
) -> None:
    status, headers, body = place(STALE_BUY, prefer)
    assert (status, body["status"]) == (201, "submitted")
    assert "preference-applied" not in headers
    assert decide_while_waiting() == []


def test_a_replayed_request_gets_the_stored_answer_without_waiting_again(
    seeded: TradingStore, decide_while_waiting: Callable[[], list[float]]
) -> None:
    first = place(STALE_BUY, "wait=2", **{"idempotency-key": "wait-replay-1"})
    pauses = len(decide_while_waiting())
    again = place(STALE_BUY, "wait=2", **{"idempotency-key": "wait-replay-1"})
    assert again[0] == first[0] == 201
    assert again[2] == first[2] and again[2]["status"] == "denied"
    assert again[1]["preference-applied"] == "wait=2"
    assert again[1]["idempotent-replayed"] == "true"
    assert len(decide_while_waiting()) == pauses

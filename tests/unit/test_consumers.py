"""The one consumer skeleton every queue- and schedule-driven handler uses (issue 18)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from redfire_core.consumers import Consumer, Scheduled, action
from redfire_core.events import Envelope, new_id
from redfire_core.observability import logger
from tests.support.events import LambdaContext, eventbridge_body, sqs_event


def envelope(kind: str, correlation_id: str = "c-1") -> Envelope:
    return Envelope(
        id=new_id(),
        type=kind,
        occurred_at="2026-11-25T09:30:00.000Z",
        account_id="demo",
        correlation_id=correlation_id,
        payload={},
    )


def batch(*events: Envelope) -> dict[str, Any]:
    return sqs_event([eventbridge_body(e.model_dump_json()) for e in events])


class Pull(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbols: list[str]


def test_each_record_goes_to_its_route_with_its_correlation_id() -> None:
    # Given a consumer that records what its route saw
    seen: list[tuple[str, str | None]] = []

    def route(event: Envelope, now: datetime) -> str:
        seen.append((event.type, logger.get_correlation_id()))
        return "done"

    consumer = Consumer(routes={"OrderAccepted": route})
    # When a batch of two arrives, then both reach the route, each under its correlation id
    result = consumer(batch(envelope("OrderAccepted", "a"), envelope("OrderAccepted", "b")), None)
    assert result == {"batchItemFailures": []}
    assert seen == [("OrderAccepted", "a"), ("OrderAccepted", "b")]


def test_a_failing_record_alone_is_reported_for_retry() -> None:
    # Given a route that fails on one correlation id
    def route(event: Envelope, now: datetime) -> str:
        if event.correlation_id == "bad":
            raise RuntimeError("boom")
        return "done"

    consumer = Consumer(routes={"OrderAccepted": route})
    event = batch(envelope("OrderAccepted", "ok"), envelope("OrderAccepted", "bad"))
    # Then the partial batch response names the failed message only
    assert consumer(event, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_an_unrouted_event_is_acknowledged_with_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    consumer = Consumer(routes={})
    unrouted = envelope("PositionChanged")
    with caplog.at_level(logging.INFO, logger=logger.name):
        result = consumer(batch(unrouted), LambdaContext())
    assert result == {"batchItemFailures": []}
    ignored = [r for r in caplog.records if r.getMessage() == "event ignored"]
    assert len(ignored) == 1
    assert (ignored[0].type, ignored[0].event_id) == ("PositionChanged", unrouted.id)  # type: ignore[attr-defined]


def test_a_schedule_runs_the_action_it_names() -> None:
    consumer = Consumer(routes={}, actions={"expire_orders": action(lambda now: {"expired": 3})})
    assert consumer({"action": "expire_orders"}, LambdaContext()) == {"expired": 3}


@pytest.mark.parametrize(
    "event", [{"action": "expire_orders", "extra": 1}, {"action": "other"}, {}]
)
def test_a_schedule_input_that_is_not_declared_fails_the_invocation(
    event: dict[str, Any],
) -> None:
    consumer = Consumer(routes={}, actions={"expire_orders": action(lambda now: {"expired": 0})})
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError too
        consumer(event, LambdaContext())


def test_a_schedule_without_an_action_gets_its_validated_input() -> None:
    consumer = Consumer(
        routes={},
        actions={None: Scheduled(lambda pull, now: {"symbols": pull.symbols}, Pull)},
    )
    assert consumer({"symbols": ["GOOG"]}, LambdaContext()) == {"symbols": ["GOOG"]}
    with pytest.raises(ValidationError):
        consumer({"symbols": ["GOOG"], "bars": 2}, LambdaContext())

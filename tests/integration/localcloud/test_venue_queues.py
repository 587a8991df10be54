"""The local cloud's venue queues (issue 17): their pollers hand a delayed poll to the venue
function no sooner than its DelaySeconds, as Lambda's event source mapping does, and the
reconcile schedule calls the venue no more often than deployed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from redfire_cli.localcloud.provision import Provisioner
from redfire_cli.localcloud.scheduler import DEFAULT_FEED_SECONDS, local_period
from redfire_cli.localcloud.sqs_pollers import SqsPoller
from redfire_core.adapters.venue_queues import SqsVenueSender
from redfire_core.config import Settings
from redfire_core.resources import QUEUES, SCHEDULES, VENUE_QUEUES, Declaration

STAGE = "itest"


class Recorder:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.bodies += [record["body"] for record in event["Records"]]
        return {"batchItemFailures": []}


@pytest.mark.parametrize("logical", VENUE_QUEUES)
def test_a_delayed_poll_reaches_the_venue_function_only_after_its_delay(
    moto: Any, client: Callable[[str], Any], logical: str
) -> None:
    # Given the venue queue as the local cloud provisions it, and its poller
    queue, _ = Provisioner(Declaration(STAGE), moto.endpoint_url).create_queue_with_dlq(
        QUEUES[logical]
    )
    sqs = client("sqs")
    consumer = Recorder()
    poller = SqsPoller(logical, queue, QUEUES[logical].batch_size, consumer, sqs, wait_seconds=0)
    # When the intake schedules the next poll of an order 2 s from now (its own sender)
    sender = SqsVenueSender(Settings(stage=STAGE), client=sqs)
    sent_at = time.monotonic()
    sender.send(logical, {"action": "poll", "account_id": "a", "order_id": "o1"}, 2)
    # Then the poller finds nothing while the delay runs
    assert poller.poll_once() == 0 and consumer.bodies == []
    # and hands it over once it is due, once
    while not consumer.bodies:
        assert time.monotonic() - sent_at < 10, "the delayed message never arrived"
        poller.poll_once()
        time.sleep(0.2)
    assert time.monotonic() - sent_at >= 2
    assert consumer.bodies == ['{"action":"poll","account_id":"a","order_id":"o1"}']
    assert poller.poll_once() == 0


@pytest.mark.parametrize("kind", ["alpaca", "ccxt"])
def test_the_reconcile_schedule_keeps_its_declared_rate_locally(kind: str) -> None:
    # Given the venue's reconcile schedule (other schedules run at least every 30 s locally)
    schedule = SCHEDULES[f"venue-reconcile-{kind}"]
    # Then the local scheduler runs it every 5 minutes, as deployed
    assert local_period(schedule, DEFAULT_FEED_SECONDS) == schedule.rate_seconds() == 300
    assert local_period(SCHEDULES["expire-orders"], DEFAULT_FEED_SECONDS) == 30

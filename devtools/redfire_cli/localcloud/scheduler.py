"""The local EventBridge Scheduler: invokes each declared schedule's function with its payload.

Locally the ingest schedules (the demo feed) run every ``REDFIRE_FEED_SECONDS`` (default
5) instead of their declared rate, so prices move while you watch; other schedules run at
their rate but at least every ``LOCAL_MAX_PERIOD_SECONDS``, except those that call a venue
(``Schedule.local_keeps_rate``), which keep their declared rate. Each runs once at startup so
prices exist before the cloud reports ready.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redfire_cli.localcloud.workers import RepeatingWorker
from redfire_core.lambda_shapes import scheduled_event
from redfire_core.resources import Schedule

logger = logging.getLogger("redfire.localcloud")

DEFAULT_FEED_SECONDS = 5.0
LOCAL_MAX_PERIOD_SECONDS = 30.0


def local_period(schedule: Schedule, feed_seconds: float) -> float:
    if schedule.function == "ingest" and "action" not in schedule.payload:  # the price feed
        return feed_seconds
    if schedule.local_keeps_rate:  # it calls a venue: never more often than deployed
        return float(schedule.rate_seconds())
    return min(float(schedule.rate_seconds()), LOCAL_MAX_PERIOD_SECONDS)


@dataclass(frozen=True)
class LocalSchedule:
    """One schedule, resolved: its period and the function it invokes."""

    name: str
    period_seconds: float
    payload: dict[str, Any]
    invoke: Callable[[dict[str, Any]], Any]

    def fire(self) -> None:
        # EventBridge Scheduler delivers the payload as the event, fresh each time.
        self.invoke(scheduled_event(self.payload))


def run_once(schedules: list[LocalSchedule]) -> None:
    """Fire every schedule now; a failure is logged and does not stop the others."""
    for schedule in schedules:
        try:
            schedule.fire()
        except Exception:
            logger.exception("schedule %s failed at startup", schedule.name)


def start_workers(schedules: list[LocalSchedule]) -> list[RepeatingWorker]:
    """One thread per schedule, first firing one period from now (startup already ran)."""
    return [
        RepeatingWorker(
            f"schedule-{s.name}", s.fire, interval=s.period_seconds, first_delay=s.period_seconds
        ).start()
        for s in schedules
    ]

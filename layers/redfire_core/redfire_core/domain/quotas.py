"""Per-account quotas on the work an account may ask for: concurrent sweeps, backtest
combinations per UTC day (a backtest is one, a sweep its grid's), running strategy
instances. Pure: the stage's limits and the moment are arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redfire_core.domain.errors import DomainError

QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
# A concurrent quota frees up when a sweep finishes or an instance stops: look again then.
RETRY_SECONDS = 60


class QuotaExceeded(DomainError):
    """The account is at one of its quotas (HTTP 429, ``Retry-After: retry_after``)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(QUOTA_EXCEEDED, message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Quotas:
    """The stage's per-account quotas; 0 turns one off."""

    concurrent_sweeps: int = 0
    combinations_per_day: int = 0
    running_instances: int = 0


def day_of(now: datetime) -> str:
    """The UTC day a combination counts against (``2026-12-05``)."""
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def seconds_to_next_day(now: datetime) -> int:
    moment = now.astimezone(UTC)
    midnight = datetime(moment.year, moment.month, moment.day, tzinfo=UTC) + timedelta(days=1)
    return max(1, int((midnight - moment).total_seconds() + 0.999))


def sweeps_exceeded(quotas: Quotas) -> QuotaExceeded:
    return QuotaExceeded(
        f"the account already runs {quotas.concurrent_sweeps} sweeps (its quota); "
        "wait for one to finish",
        RETRY_SECONDS,
    )


def combinations_exceeded(quotas: Quotas, asked: int, now: datetime) -> QuotaExceeded:
    return QuotaExceeded(
        f"{asked} more backtest combinations would pass the account's quota of "
        f"{quotas.combinations_per_day} per UTC day",
        seconds_to_next_day(now),
    )


def instances_exceeded(quotas: Quotas) -> QuotaExceeded:
    return QuotaExceeded(
        f"the account already runs {quotas.running_instances} strategy instances (its "
        "quota); stop one first",
        RETRY_SECONDS,
    )

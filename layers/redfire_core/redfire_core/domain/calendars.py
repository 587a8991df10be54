"""Trading calendars: when a venue is open, when a `day` order ends.

Three kinds, one protocol:

- ``24/7``: always open; a session is a UTC day (crypto).
- ``weekdays``: every UTC Monday to Friday is one whole-day session (a plain equity feed).
- an exchange code (``XNYS``): the exchange's own sessions, holidays and early closes,
  read from a compact table that ``redfire calendars`` writes at build time (see
  ``redfire_core.calendars``), so no calendar library reaches the Lambda layers.

A `day` order ends at the close of the session it was placed in, or, when placed while the
venue is closed, at the close of the next session (as Alpaca queues such orders).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from redfire_core.domain.errors import DomainError

ALWAYS_OPEN = "24/7"
WEEKDAYS = "weekdays"


@dataclass(frozen=True)
class Session:
    """One trading session: its date and its open and close (UTC), and the local times."""

    day: date
    open: datetime
    close: datetime
    local_open: time
    local_close: time

    def contains(self, at: datetime) -> bool:
        return self.open <= at < self.close


class TradingCalendar(Protocol):
    @property
    def code(self) -> str: ...

    def session_at(self, at: datetime) -> Session | None:
        """The session open at ``at``, if any."""
        ...

    def next_session(self, at: datetime) -> Session:
        """The session open at ``at``, else the next one to open."""
        ...

    def sessions(self, first: date, last: date) -> list[Session]:
        """Sessions whose date is in [first, last]."""
        ...


def is_open(calendar: TradingCalendar, at: datetime) -> bool:
    return calendar.session_at(at) is not None


def fills_at(calendar: TradingCalendar, at: datetime) -> bool:
    """Whether a simulated venue fills at ``at``: an exchange only in session. Whole-day
    calendars (``24/7``, ``weekdays``) name a feed's days, not a venue's hours: they fill at
    any hour (so the demo instruments trade whenever ``make dev`` runs)."""
    return isinstance(calendar, WholeDays) or is_open(calendar, at)


def fills_during(calendar: TradingCalendar, start: datetime, end: datetime) -> bool:
    """Whether any of [start, end) (a bar) falls in a session in which ``fills_at``."""
    if isinstance(calendar, WholeDays):
        return True
    return calendar.next_session(start).open < end


def day_order_end(calendar: TradingCalendar, placed_at: datetime) -> datetime:
    """When a `day` order placed at ``placed_at`` expires."""
    return calendar.next_session(placed_at).close


def _utc_day(day: date) -> Session:
    start = datetime.combine(day, time(0), UTC)
    return Session(day, start, start + timedelta(days=1), time(0), time(0))


@dataclass(frozen=True)
class WholeDays:
    """Each UTC day (24/7) or each UTC weekday (weekdays) is one session."""

    code: str

    def _trades_on(self, day: date) -> bool:
        return self.code == ALWAYS_OPEN or day.weekday() < 5

    def session_at(self, at: datetime) -> Session | None:
        day = at.astimezone(UTC).date()
        return _utc_day(day) if self._trades_on(day) else None

    def next_session(self, at: datetime) -> Session:
        day = at.astimezone(UTC).date()
        while not self._trades_on(day):
            day += timedelta(days=1)
        return _utc_day(day)

    def sessions(self, first: date, last: date) -> list[Session]:
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return [_utc_day(day) for day in days if self._trades_on(day)]


class SessionTable:
    """An exchange's sessions over the range its table covers."""

    def __init__(self, code: str, sessions: Sequence[Session]) -> None:
        if not sessions:
            raise ValueError(f"calendar {code} has no sessions")
        self.code = code
        self._sessions = sorted(sessions, key=lambda s: s.open)
        self._opens = [s.open for s in self._sessions]
        self._by_day = {s.day: s for s in self._sessions}

    @property
    def first_day(self) -> date:
        return self._sessions[0].day

    @property
    def last_day(self) -> date:
        return self._sessions[-1].day

    def _out_of_range(self, at: datetime) -> DomainError:
        return DomainError(
            "CALENDAR_OUT_OF_RANGE",
            f"the {self.code} calendar covers {self.first_day} to {self.last_day}; "
            f"{at.isoformat()} is outside it (regenerate it with `redfire calendars`)",
        )

    def _covered(self, at: datetime) -> None:
        # A week of slack before the first session: the first open is after a weekend.
        if not self._sessions[0].open - timedelta(days=7) <= at <= self._sessions[-1].close:
            raise self._out_of_range(at)

    def session_at(self, at: datetime) -> Session | None:
        self._covered(at)
        index = bisect.bisect_right(self._opens, at) - 1
        if index >= 0 and self._sessions[index].contains(at):
            return self._sessions[index]
        return None

    def next_session(self, at: datetime) -> Session:
        current = self.session_at(at)
        if current is not None:
            return current
        index = bisect.bisect_right(self._opens, at)
        if index == len(self._sessions):
            raise self._out_of_range(at)
        return self._sessions[index]

    def sessions(self, first: date, last: date) -> list[Session]:
        return [s for s in self._sessions if first <= s.day <= last]

    def session_on(self, day: date) -> Session | None:
        return self._by_day.get(day)

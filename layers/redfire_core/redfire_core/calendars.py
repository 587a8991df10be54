"""Trading calendars by name, and the exchange session tables that ship with the code.

An exchange's table (``calendar_tables/<CODE>.txt``) is written at build time by
``redfire calendars`` from the ``exchange-calendars`` package, which needs pandas and so
stays out of the Lambda layers; a test checks the tables against the package. One line per
session: ``date open close local_open local_close`` (UTC then exchange-local, HH:MM).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources

from redfire_core.domain.calendars import (
    ALWAYS_OPEN,
    WEEKDAYS,
    Session,
    SessionTable,
    TradingCalendar,
    WholeDays,
)
from redfire_core.domain.errors import DomainError
from redfire_core.domain.instruments import Instrument

TABLES = "redfire_core.calendar_tables"


def exchange_codes() -> tuple[str, ...]:
    """Codes of the exchange tables shipped with the code (``XNYS``, ...)."""
    names = (entry.name for entry in resources.files(TABLES).iterdir())
    return tuple(sorted(name.removesuffix(".txt") for name in names if name.endswith(".txt")))


def calendar_names() -> tuple[str, ...]:
    return (ALWAYS_OPEN, WEEKDAYS, *exchange_codes())


@cache
def calendar_named(code: str) -> TradingCalendar:
    if code in (ALWAYS_OPEN, WEEKDAYS):
        return WholeDays(code)
    if code not in exchange_codes():
        raise DomainError(
            "CALENDAR_UNKNOWN",
            f"unknown calendar {code!r}; known: {', '.join(calendar_names())}",
            "calendar",
        )
    return parse_table(code, resources.files(TABLES).joinpath(f"{code}.txt").read_text())


def calendar_of(instrument: Instrument) -> TradingCalendar:
    """The calendar an instrument names: its sessions bound fills and ``day`` orders."""
    return calendar_named(instrument.calendar)


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def parse_table(code: str, text: str) -> SessionTable:
    sessions = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        day_text, open_text, close_text, local_open, local_close = line.split()
        day = date.fromisoformat(day_text)
        opens = datetime.combine(day, _hhmm(open_text), UTC)
        closes = datetime.combine(day, _hhmm(close_text), UTC)
        if closes <= opens:  # the session closes after midnight UTC
            closes += timedelta(days=1)
        sessions.append(Session(day, opens, closes, _hhmm(local_open), _hhmm(local_close)))
    return SessionTable(code, sessions)


def format_table(code: str, sessions: Iterable[Session], source: str) -> str:
    lines = [
        f"# {code} sessions, written by `redfire calendars` from {source}; do not edit.",
        "# date open close (UTC) local_open local_close (exchange time)",
    ]
    lines += [
        f"{s.day.isoformat()} {s.open:%H:%M} {s.close:%H:%M} "
        f"{s.local_open:%H:%M} {s.local_close:%H:%M}"
        for s in sessions
    ]
    return "\n".join(lines) + "\n"

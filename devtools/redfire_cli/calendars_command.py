"""``redfire calendars``: write the exchange session tables that ship with the code.

The tables come from the ``exchange-calendars`` package (a dev dependency: it needs pandas,
which must not reach the Lambda layers) and run through the end of next year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path

from redfire_core.calendars import TABLES, format_table
from redfire_core.domain.calendars import Session

EXCHANGES = ("XNYS",)
FIRST_DAY = date(2020, 1, 2)


def last_day(today: date) -> date:
    """Through the end of next year, so a table written today lasts a year at least."""
    return date(today.year + 1, 12, 31)


def exchange_sessions(code: str, first: date, last: date) -> list[Session]:
    import exchange_calendars  # type: ignore[import-untyped]  # lazy: dev-only (pandas), used at build time

    calendar = exchange_calendars.get_calendar(code, start=first.isoformat(), end=last.isoformat())
    sessions = []
    for day, row in calendar.schedule.iterrows():
        opens = row["open"].to_pydatetime().astimezone(UTC)
        closes = row["close"].to_pydatetime().astimezone(UTC)
        local_open = opens.astimezone(calendar.tz).time()
        local_close = closes.astimezone(calendar.tz).time()
        sessions.append(Session(day.date(), opens, closes, local_open, local_close))
    return sessions


def source() -> str:
    return f"exchange-calendars {metadata.version('exchange-calendars')}"


def table_text(code: str, today: date) -> str:
    return format_table(code, exchange_sessions(code, FIRST_DAY, last_day(today)), source())


def tables_dir() -> Path:
    import redfire_core.calendar_tables as tables  # the package folder, in the repository

    assert tables.__file__ is not None and tables.__name__ == TABLES
    return Path(tables.__file__).parent


def run(today: date | None = None) -> int:
    today = today or datetime.now(UTC).date()
    for code in EXCHANGES:
        path = tables_dir() / f"{code}.txt"
        path.write_text(table_text(code, today))
        print(f"wrote {path} ({FIRST_DAY} to {last_day(today)})")
    return 0

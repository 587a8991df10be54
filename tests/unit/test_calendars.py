"""Trading calendars: sessions, holidays, early closes, `day` order ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from redfire_cli.calendars_command import EXCHANGES, FIRST_DAY, exchange_sessions
from redfire_core.calendars import calendar_named, calendar_names, exchange_codes, parse_table
from redfire_core.domain.calendars import day_order_end, is_open
from redfire_core.domain.errors import DomainError

XNYS = calendar_named("XNYS")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_xnys_regular_session_in_winter_and_summer() -> None:
    winter = XNYS.next_session(at("2026-12-07 00:00"))
    assert (winter.day, winter.open, winter.close) == (
        date(2026, 12, 7),
        at("2026-12-07 14:30"),
        at("2026-12-07 21:00"),
    )
    summer = XNYS.next_session(at("2026-07-01 12:00"))
    assert (summer.open, summer.close) == (at("2026-07-01 13:30"), at("2026-07-01 20:00"))
    assert (summer.local_open, summer.local_close) == (time(9, 30), time(16, 0))


def test_open_is_half_open_at_the_close() -> None:
    assert not is_open(XNYS, at("2026-12-07 14:29"))
    assert is_open(XNYS, at("2026-12-07 14:30"))
    assert is_open(XNYS, at("2026-12-07 20:59"))
    assert not is_open(XNYS, at("2026-12-07 21:00"))


def test_holiday_and_weekend_have_no_session() -> None:
    assert XNYS.sessions(date(2026, 12, 24), date(2026, 12, 28)) == [
        XNYS.next_session(at("2026-12-24 15:00")),
        XNYS.next_session(at("2026-12-28 15:00")),
    ]
    assert not is_open(XNYS, at("2026-12-25 16:00"))  # Christmas
    assert XNYS.next_session(at("2026-12-25 16:00")).day == date(2026, 12, 28)


def test_early_close_ends_day_orders_at_one_pm() -> None:
    assert day_order_end(XNYS, at("2026-11-27 15:00")) == at("2026-11-27 18:00")
    assert day_order_end(XNYS, at("2026-12-24 17:59")) == at("2026-12-24 18:00")


def test_day_order_placed_while_closed_ends_at_next_sessions_close() -> None:
    friday_evening = at("2026-12-04 22:00")
    assert day_order_end(XNYS, friday_evening) == at("2026-12-07 21:00")


def test_whole_day_calendars() -> None:
    crypto, weekdays = calendar_named("24/7"), calendar_named("weekdays")
    saturday = at("2026-12-05 10:00")
    assert is_open(crypto, saturday) and not is_open(weekdays, saturday)
    assert day_order_end(crypto, saturday) == at("2026-12-06 00:00")
    assert day_order_end(weekdays, saturday) == at("2026-12-08 00:00")
    assert len(weekdays.sessions(date(2026, 12, 1), date(2026, 12, 7))) == 5


def test_outside_the_table_is_a_clear_error() -> None:
    with pytest.raises(DomainError) as raised:
        XNYS.next_session(at("2031-01-02 12:00"))
    assert raised.value.code == "CALENDAR_OUT_OF_RANGE"
    with pytest.raises(DomainError) as unknown:
        calendar_named("XLON")
    assert unknown.value.code == "CALENDAR_UNKNOWN"


def test_names() -> None:
    assert calendar_names() == ("24/7", "weekdays", "XNYS")


def test_a_session_closing_after_midnight_utc_parses() -> None:
    table = parse_table("XTST", "2026-12-07 22:00 02:00 09:00 13:00\n")
    assert table.next_session(at("2026-12-07 23:00")).close == at("2026-12-08 02:00")


@pytest.mark.filterwarnings("ignore:Series.values returning an ndarray")
@pytest.mark.parametrize("code", EXCHANGES)
def test_shipped_tables_match_the_exchange_calendars_package(code: str) -> None:
    """The table that ships with the code is what the package says, session by session."""
    shipped = calendar_named(code)
    assert code in exchange_codes()
    assert shipped.sessions(date.min, date.max) == exchange_sessions(
        code, FIRST_DAY, shipped.sessions(date.min, date.max)[-1].day
    )
    # Through the end of next year of today, so no day order runs off the table.
    assert shipped.sessions(date.min, date.max)[-1].day >= date(datetime.now(UTC).year, 12, 31)

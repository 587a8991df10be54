"""Day orders expire at the close of their instrument's session: an exchange's close (early
closes included), or the end of the UTC day on a `24/7` calendar. The clock is an argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from redfire_core.calendars import calendar_named
from redfire_core.domain.calendars import TradingCalendar
from redfire_core.domain.orders import (
    UTC_DAYS,
    Order,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
)
from tests.unit.factories import an_order

NEXT_MIDNIGHT = datetime(2026, 11, 26, tzinfo=UTC)
XNYS = calendar_named("XNYS")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def day_order(placed_at: datetime, calendar: TradingCalendar) -> Order:
    request = OrderRequest("GOOG", Side.BUY, OrderType.MARKET, Decimal(1), TimeInForce.DAY)
    return Order.submit("01JD0000000000000000000001", "acc", request, placed_at, calendar=calendar)


def test_a_day_order_placed_in_session_expires_at_that_sessions_close() -> None:
    # Given a regular XNYS Monday (09:30-16:00 New York, 14:30-21:00 UTC in winter)
    assert day_order(at("2026-12-07 15:00"), XNYS).expires_at == at("2026-12-07 21:00")


def test_a_day_order_on_an_early_close_expires_at_one_pm_new_york() -> None:
    # Given the day after Thanksgiving, when XNYS closes at 13:00 (18:00 UTC)
    assert day_order(at("2026-11-27 15:00"), XNYS).expires_at == at("2026-11-27 18:00")


def test_a_day_order_placed_on_a_holiday_expires_at_the_next_sessions_close() -> None:
    # Given Christmas Day (no session) and Monday 28 December the next session
    assert day_order(at("2026-12-25 16:00"), XNYS).expires_at == at("2026-12-28 21:00")


def test_a_day_order_placed_on_a_weekend_expires_at_mondays_close() -> None:
    # Given a Saturday, then Monday's close
    assert day_order(at("2026-12-05 10:00"), XNYS).expires_at == at("2026-12-07 21:00")


def test_a_day_order_placed_after_the_close_expires_at_the_next_sessions_close() -> None:
    # Given Monday 21:00 UTC (the close itself is after the session: it is half-open)
    assert day_order(at("2026-12-07 21:00"), XNYS).expires_at == at("2026-12-08 21:00")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 25, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 11, 25, 14, 30, tzinfo=UTC),
        datetime(2026, 11, 25, 23, 59, 59, 999999, tzinfo=UTC),
    ],
    ids=["just-after-midnight", "mid-afternoon", "last-microsecond"],
)
def test_on_a_24_7_calendar_a_day_order_ends_at_the_next_midnight_utc(moment: datetime) -> None:
    assert day_order(moment, calendar_named("24/7")).expires_at == NEXT_MIDNIGHT
    assert day_order(moment, UTC_DAYS).expires_at == NEXT_MIDNIGHT


def test_a_utc_day_that_starts_at_midnight_ends_a_whole_day_later() -> None:
    midnight = datetime(2026, 11, 25, tzinfo=UTC)
    assert day_order(midnight, UTC_DAYS).expires_at == midnight + timedelta(days=1)


def test_the_end_of_the_utc_day_does_not_depend_on_the_zone_the_moment_is_written_in() -> None:
    # Given 01:00 on the 25th at UTC+2, which is 23:00 on the 24th in UTC
    moment = datetime(2026, 11, 25, 1, tzinfo=timezone(timedelta(hours=2)))
    assert day_order(moment, UTC_DAYS).expires_at == datetime(2026, 11, 25, tzinfo=UTC)


def test_a_day_order_is_submitted_with_its_expiry() -> None:
    # Given a day order placed at 14:30 UTC without a calendar, then the next midnight UTC
    assert an_order(time_in_force=TimeInForce.DAY).expires_at == NEXT_MIDNIGHT


@pytest.mark.parametrize("tif", [TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK])
def test_an_order_that_is_not_a_day_order_has_no_expiry(tif: TimeInForce) -> None:
    # Given a gtc/ioc/fok order, then it carries no expiry
    assert an_order(time_in_force=tif).expires_at is None

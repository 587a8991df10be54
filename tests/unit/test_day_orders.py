"""Day orders expire at the end of the UTC day they were placed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from redfire_core.domain.orders import TimeInForce, end_of_utc_day
from tests.unit.factories import an_order

NEXT_MIDNIGHT = datetime(2026, 11, 26, tzinfo=UTC)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 25, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 11, 25, 14, 30, tzinfo=UTC),
        datetime(2026, 11, 25, 23, 59, 59, 999999, tzinfo=UTC),
    ],
    ids=["just-after-midnight", "mid-afternoon", "last-microsecond"],
)
def test_the_end_of_the_utc_day_is_the_next_midnight_utc(moment: datetime) -> None:
    # Given any moment of 25 November (UTC), then its day ends at midnight into the 26th
    assert end_of_utc_day(moment) == NEXT_MIDNIGHT


def test_a_day_that_starts_at_midnight_ends_a_whole_day_later() -> None:
    # Given exactly midnight UTC, then the day it starts ends 24 hours later
    midnight = datetime(2026, 11, 25, tzinfo=UTC)
    assert end_of_utc_day(midnight) == midnight + timedelta(days=1)


def test_the_end_of_a_day_in_a_leap_february_is_the_first_of_march() -> None:
    # Given 29 February 2028, then the day ends on 1 March
    assert end_of_utc_day(datetime(2028, 2, 29, 12, tzinfo=UTC)) == datetime(2028, 3, 1, tzinfo=UTC)


def test_the_end_of_the_utc_day_does_not_depend_on_the_zone_the_moment_is_written_in() -> None:
    # Given 01:00 on the 25th at UTC+2, which is 23:00 on the 24th in UTC
    moment = datetime(2026, 11, 25, 1, tzinfo=timezone(timedelta(hours=2)))

    # Then the UTC day it is in ends at midnight into the 25th, UTC
    assert end_of_utc_day(moment) == datetime(2026, 11, 25, tzinfo=UTC)


def test_a_day_order_is_submitted_with_its_expiry() -> None:
    # Given a day order placed at 14:30 UTC, then it expires at the next midnight UTC
    assert an_order(time_in_force=TimeInForce.DAY).expires_at == NEXT_MIDNIGHT


@pytest.mark.parametrize("tif", [TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK])
def test_an_order_that_is_not_a_day_order_has_no_expiry(tif: TimeInForce) -> None:
    # Given a gtc/ioc/fok order, then it carries no expiry
    assert an_order(time_in_force=tif).expires_at is None

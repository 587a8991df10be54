"""Bar validation, the interval grid, resampling and gaps against trading calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from redfire_core.domain.bars import (
    Bar,
    Gap,
    find_gaps,
    floor_to,
    rejection_reason,
    resample,
    split_valid,
)

D = Decimal


def bar(
    start: datetime,
    o: str = "10",
    h: str = "11",
    lo: str = "9",
    c: str = "10.5",
    v: str = "100",
    interval: str = "1m",
) -> Bar:
    return Bar("GOOG", interval, start, D(o), D(h), D(lo), D(c), D(v))


T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday


def test_a_valid_bar_has_no_rejection_reason() -> None:
    assert rejection_reason(bar(T0)) is None


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        (bar(T0, h="10.2"), "high is below open or close"),
        (bar(T0, lo="10.4"), "low is above open or close"),
        (bar(T0, v="-1"), "volume is negative"),
        (bar(T0 + timedelta(seconds=30)), "is not on the 1m grid"),
        (bar(T0, o="NaN"), "open is not a finite number"),
        (bar(T0 + timedelta(hours=1), interval="1d"), "is not on the 1d grid"),
    ],
)
def test_invalid_bars_are_rejected_with_a_reason(candidate: Bar, reason: str) -> None:
    found = rejection_reason(candidate)
    assert found is not None and reason in found


def test_split_keeps_every_rejection_and_the_last_duplicate() -> None:
    first, corrected = bar(T0, c="10.1"), bar(T0, c="10.6")
    valid, rejected = split_valid([first, bar(T0, v="-5"), corrected])
    assert valid == [corrected]
    assert [r.reason for r in rejected] == ["volume is negative"]


def test_weeks_start_on_monday_midnight_utc() -> None:
    sunday_night = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    assert floor_to(sunday_night, "1w") == datetime(2026, 11, 23, tzinfo=UTC)
    assert floor_to(datetime(2026, 11, 30, tzinfo=UTC), "1w") == datetime(2026, 11, 30, tzinfo=UTC)


def test_resampling_aggregates_ohlcv() -> None:
    minutes = [
        bar(T0, "10", "11", "9.5", "10.5", "100"),
        bar(T0 + timedelta(minutes=1), "10.5", "12", "10", "11", "50"),
        bar(T0 + timedelta(minutes=4), "11", "11.5", "8", "9", "25"),
        bar(T0 + timedelta(minutes=5), "9", "9.5", "8.5", "9.2", "10"),
    ]
    five = resample(minutes, "5m")
    assert [(b.start, b.open, b.high, b.low, b.close, b.volume) for b in five] == [
        (T0, D("10"), D("12"), D("8"), D("9"), D("175")),
        (T0 + timedelta(minutes=5), D("9"), D("9.5"), D("8.5"), D("9.2"), D("10")),
    ]


def test_weekly_resampling_splits_at_the_monday_boundary() -> None:
    sunday = datetime(2026, 11, 29, tzinfo=UTC)
    days = [bar(sunday, interval="1d", c="10.1"), bar(sunday + timedelta(days=1), interval="1d")]
    weeks = resample(days, "1w")
    assert [w.start for w in weeks] == [
        datetime(2026, 11, 23, tzinfo=UTC),
        sunday + timedelta(days=1),
    ]
    assert weeks[0].close == D("10.1")


def test_a_weekday_calendar_expects_no_weekend_bars() -> None:
    friday, monday = datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    stored = [friday - timedelta(days=1), monday]
    assert find_gaps(
        stored, "weekdays", "1d", friday - timedelta(days=1), monday + timedelta(days=1)
    ) == [Gap(friday, friday + timedelta(days=1))]


def test_a_24_7_calendar_expects_every_day() -> None:
    friday, monday = datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    assert find_gaps([friday, monday], "24/7", "1d", friday, monday + timedelta(days=1)) == [
        Gap(friday + timedelta(days=1), monday)
    ]


def test_a_weekend_splits_gaps_of_a_weekday_calendar() -> None:
    friday = datetime(2026, 11, 27, tzinfo=UTC)
    gaps = find_gaps([], "weekdays", "1d", friday, friday + timedelta(days=4))
    assert gaps == [
        Gap(friday, friday + timedelta(days=1)),
        Gap(friday + timedelta(days=3), friday + timedelta(days=4)),
    ]


def test_confirmed_empty_ranges_are_not_gaps() -> None:
    holiday = datetime(2026, 11, 26, tzinfo=UTC)
    gaps = find_gaps(
        [],
        "weekdays",
        "1d",
        holiday,
        holiday + timedelta(days=1),
        [Gap(holiday, holiday + timedelta(days=1))],
    )
    assert gaps == []

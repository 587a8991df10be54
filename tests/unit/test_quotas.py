"""Quota arithmetic: the UTC day a combination counts against and when the next begins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from redfire_core.domain.quotas import day_of, seconds_to_next_day


def test_the_day_is_the_utc_day_whatever_the_offset_of_the_moment() -> None:
    late_in_new_york = datetime(2026, 12, 5, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert day_of(late_in_new_york) == "2026-12-06"


def test_a_daily_quota_retries_at_the_next_utc_midnight() -> None:
    assert seconds_to_next_day(datetime(2026, 12, 5, 23, 59, 30, tzinfo=UTC)) == 30
    assert seconds_to_next_day(datetime(2026, 12, 5, 0, 0, tzinfo=UTC)) == 86_400
    assert seconds_to_next_day(datetime(2026, 12, 5, 23, 59, 59, 900_000, tzinfo=UTC)) == 1

"""The synthetic feed: the same bar for the same minute, and always a consistent bar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from redfire_ingest.synthetic import BASE_PRICES, last_completed_bars, minute_bar

START = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
minutes = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31, 23, 59), timezones=st.just(UTC)
).map(lambda moment: moment.replace(second=0, microsecond=0))


def test_the_same_symbol_and_minute_give_the_same_bar() -> None:
    # Given a symbol and a minute, when the bar is drawn twice, then it is identical
    assert minute_bar("AAPL", START) == minute_bar("AAPL", START)


def test_different_symbols_follow_different_paths() -> None:
    # Given two symbols with the same (default) base price, then their bars still differ
    assert minute_bar("ABC", START).close != minute_bar("XYZ", START).close


def test_consecutive_bars_join_close_to_open() -> None:
    # Given two consecutive minutes of one day, then a bar opens where the previous closed
    first, second = minute_bar("GOOG", START), minute_bar("GOOG", START + timedelta(minutes=1))
    assert second.open == first.close


def test_an_unknown_symbol_walks_around_100() -> None:
    # Given a symbol with no base price, then its prices start near 100
    bar = minute_bar("XYZ", START.replace(hour=0, minute=0))
    assert Decimal("90") < bar.open < Decimal("110")


@settings(max_examples=60, deadline=None)
@given(symbol=st.sampled_from(sorted(BASE_PRICES)), start=minutes)
def test_every_bar_is_ohlc_consistent_on_a_cent_grid(symbol: str, start: datetime) -> None:
    # Given any symbol and minute, when its bar is drawn
    bar = minute_bar(symbol, start)

    # Then low <= open, close <= high, prices sit on cents and volume is positive
    assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    assert all(p == p.quantize(Decimal("0.01")) for p in (bar.open, bar.high, bar.low, bar.close))
    assert bar.low > 0
    assert bar.volume > 0
    assert (bar.symbol, bar.interval, bar.start) == (symbol, "1m", start)


def test_the_last_completed_bars_end_at_or_before_now() -> None:
    # Given now is 14:32:45, when the last three completed bars of two symbols are asked for
    now = START + timedelta(minutes=2, seconds=45)
    bars = last_completed_bars(["AAPL", "MSFT"], now, count=3)

    # Then each symbol gets 14:29, 14:30 and 14:31 (the 14:32 bar is still open)
    expected_starts = [START + timedelta(minutes=n) for n in (-1, 0, 1)]
    assert [(b.symbol, b.start) for b in bars] == [
        (symbol, start) for symbol in ("AAPL", "MSFT") for start in expected_starts
    ]


def test_re_running_a_schedule_rewrites_identical_bars() -> None:
    # Given the same moment twice, then the same bars come out
    now = START + timedelta(seconds=5)
    assert last_completed_bars(["BTC-USD"], now) == last_completed_bars(["BTC-USD"], now)

"""One contract for every ``MarketDataStore``: the DynamoDB adapter (on moto) and the fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from moto import mock_aws

from redfire_core.adapters.market_data import DynamoDbMarketDataStore, MarketDataStore
from redfire_core.config import get_settings
from redfire_core.domain.bars import Bar
from tests.support.fake_market_data import InMemoryMarketDataStore
from tests.support.provisioning import provision

T0 = datetime(2026, 11, 23, 23, 58, tzinfo=UTC)  # two minutes before a day boundary


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[MarketDataStore]:
    if request.param == "memory":
        yield InMemoryMarketDataStore()
        return
    with mock_aws():
        provision(get_settings().declaration, jwt_secret="x" * 32)
        yield DynamoDbMarketDataStore()


def minute(n: int, close: str = "10.5", symbol: str = "GOOG") -> Bar:
    return Bar(
        symbol,
        "1m",
        T0 + timedelta(minutes=n),
        Decimal("10"),
        Decimal("11"),
        Decimal("9"),
        Decimal(close),
        Decimal("100"),
    )


def test_written_bars_read_back_oldest_first_across_partitions(store: MarketDataStore) -> None:
    bars = [minute(n) for n in (3, 0, 1, 2)]
    assert store.write_bars(bars).written == 4
    read = store.read_bars("GOOG", "1m", T0, T0 + timedelta(minutes=4), limit=100)
    assert read == sorted(bars, key=lambda b: b.start)


def test_reads_are_half_open_and_limited(store: MarketDataStore) -> None:
    store.write_bars([minute(n) for n in range(4)])
    read = store.read_bars("GOOG", "1m", T0 + timedelta(minutes=1), T0 + timedelta(minutes=3), 100)
    assert [b.start for b in read] == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    assert len(store.read_bars("GOOG", "1m", T0, T0 + timedelta(days=1), limit=2)) == 2


def test_rewriting_the_same_bars_is_unchanged(store: MarketDataStore) -> None:
    store.write_bars([minute(0), minute(1)])
    result = store.write_bars([minute(0), minute(1)])
    assert (result.written, result.unchanged) == (0, 2)


def test_a_corrected_bar_replaces_the_stored_one(store: MarketDataStore) -> None:
    store.write_bars([minute(0)])
    result = store.write_bars([minute(0, close="10.9")])
    assert (result.written, result.unchanged) == (1, 0)
    (stored,) = store.read_bars("GOOG", "1m", T0, T0 + timedelta(minutes=1), 10)
    assert stored.close == Decimal("10.9")


def test_series_are_kept_apart(store: MarketDataStore) -> None:
    store.write_bars([minute(0), minute(0, symbol="AAPL")])
    assert len(store.read_bars("AAPL", "1m", T0, T0 + timedelta(minutes=1), 10)) == 1
    assert store.stored_intervals("GOOG") == {"1m"}
    assert store.stored_intervals("MSFT") == set()


def test_a_day_of_minutes_round_trips(store: MarketDataStore) -> None:
    day = datetime(2026, 11, 24, tzinfo=UTC)
    bars = [
        Bar(
            "GOOG",
            "1m",
            day + timedelta(minutes=n),
            Decimal(10),
            Decimal(11),
            Decimal(9),
            Decimal(10),
            Decimal(n),
        )
        for n in range(1440)
    ]
    store.write_bars(bars)
    assert store.read_bars("GOOG", "1m", day, day + timedelta(days=1), 10_000) == bars

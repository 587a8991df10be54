"""Ingest rules on the in-memory store: one announcement per series per batch, latest
prices only move forward, re-ingest changes nothing, empty gaps are confirmed once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from redfire_core.domain.bars import Bar, Gap
from redfire_core.events import Envelope
from redfire_core.services.ingesting import ingest_batch
from redfire_core.services.market_data import check_and_backfill
from tests.support.fake_market_data import InMemoryMarketDataStore

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


class Latest:
    def __init__(self) -> None:
        self.prices: dict[str, tuple[Decimal, datetime]] = {}
        self.empty: list[Gap] = []
        self.jobs: list[Any] = []

    def advance_latest(self, symbol: str, price: Decimal, at: datetime) -> bool:
        if symbol in self.prices and self.prices[symbol][1] >= at:
            return False
        self.prices[symbol] = (price, at)
        return True

    def confirmed_empty(self, symbol: str, interval: str) -> list[Gap]:
        return list(self.empty)

    def confirm_empty(self, symbol: str, interval: str, gap: Gap) -> None:
        self.empty.append(gap)

    def save_job(self, job: Any, now: datetime) -> None:
        self.jobs.append(job)


class Bus:
    def __init__(self) -> None:
        self.events: list[Envelope] = []

    def publish(self, events: Sequence[Envelope]) -> None:
        self.events += list(events)


def minute(symbol: str, n: int, close: str = "10") -> Bar:
    return Bar(
        symbol,
        "1m",
        T0 + timedelta(minutes=n),
        Decimal(10),
        Decimal(11),
        Decimal(9),
        Decimal(close),
        Decimal(5),
    )


def test_one_event_per_symbol_and_interval_per_batch() -> None:
    bus = Bus()
    bars = [minute("GOOG", n) for n in range(5)] + [minute("AAPL", n) for n in range(3)]
    outcome = ingest_batch(InMemoryMarketDataStore(), Latest(), bus, bars)
    assert sorted(e.payload["symbol"] for e in bus.events) == ["AAPL", "GOOG"]
    goog = next(e for e in bus.events if e.payload["symbol"] == "GOOG")
    assert goog.payload["bar_count"] == 5 and outcome.written == 8


def test_reingesting_the_same_bars_announces_nothing() -> None:
    store, latest, bus = InMemoryMarketDataStore(), Latest(), Bus()
    ingest_batch(store, latest, bus, [minute("GOOG", 0)])
    again = ingest_batch(store, latest, bus, [minute("GOOG", 0)])
    assert (again.written, again.unchanged, len(bus.events)) == (0, 1, 1)


def test_a_backfill_never_moves_the_latest_price_back() -> None:
    latest = Latest()
    ingest_batch(InMemoryMarketDataStore(), latest, Bus(), [minute("GOOG", 10, close="10.8")])
    ingest_batch(InMemoryMarketDataStore(), latest, Bus(), [minute("GOOG", 1, close="9.2")])
    assert latest.prices["GOOG"] == (Decimal("10.8"), T0 + timedelta(minutes=11))


def test_invalid_bars_are_reported_not_dropped() -> None:
    bad = Bar("GOOG", "1m", T0, Decimal(10), Decimal(9), Decimal(8), Decimal(10), Decimal(1))
    outcome = ingest_batch(InMemoryMarketDataStore(), Latest(), Bus(), [bad, minute("GOOG", 1)])
    assert outcome.written == 1
    assert [r.reason for r in outcome.rejected] == ["high is below open or close"]


def test_a_gap_the_provider_cannot_fill_is_confirmed_empty_and_not_retried() -> None:
    class Holiday:
        calls = 0

        def fetch(self, *args: Any) -> list[Bar]:
            Holiday.calls += 1
            return []

    store, records, bus = InMemoryMarketDataStore(), Latest(), Bus()
    day = datetime(2026, 11, 26, tzinfo=UTC)  # a Thursday
    args = (
        store,
        records,
        bus,
        Holiday(),
        "holiday",
        [("GOOG", "weekdays")],
        "1d",
        day,
        day + timedelta(days=1),
        day,
    )
    first = check_and_backfill(*args)  # type: ignore[arg-type]
    second = check_and_backfill(*args)  # type: ignore[arg-type]
    assert first == {"gaps": 1, "filled": 0, "confirmed_empty": 1}
    assert second == {"gaps": 0, "filled": 0, "confirmed_empty": 0}
    assert [e.type for e in bus.events] == ["DataGapDetected"] and Holiday.calls == 1

"""One Bar in the core (issue 18): the wire shapes (MarketDataUpdated, the REST BarView)
convert from and to it through one function each, and matching takes it as it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from redfire_api.routes.marketdata import BarView, bar_view
from redfire_core.domain import matching
from redfire_core.domain.bars import Bar
from redfire_core.views import bar_of_update, market_data_updated

T0 = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def minute(k: int, open: str, high: str, low: str, close: str, volume: str) -> Bar:
    values = (Decimal(x) for x in (open, high, low, close, volume))
    return Bar("AAPL", "1m", T0 + k * MINUTE, *values)


def test_a_batch_becomes_one_update_and_back_one_aggregate_bar_over_its_span() -> None:
    # Given three minutes with a gap (minute 1 missing)
    batch = [minute(0, "10", "12", "9", "11", "5"), minute(2, "11", "15", "8", "14", "7")]

    # When the batch is announced and the announcement read back
    update = market_data_updated(batch)
    bar = bar_of_update(update)

    # Then the update carries the aggregates, and the bar spans first start to last end
    assert (update.first_start, update.last_end) == (
        "2026-11-25T14:30:00.000Z",
        "2026-11-25T14:33:00.000Z",
    )
    assert (update.open, update.high, update.low, update.close) == ("10", "15", "8", "14")
    assert (update.volume, update.bar_count) == ("12", 2)
    assert (bar.start, bar.end) == (T0, T0 + 3 * MINUTE)
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == tuple(
        Decimal(x) for x in ("10", "15", "8", "14", "12")
    )


def test_a_stored_bar_ends_one_interval_after_its_start() -> None:
    assert minute(0, "1", "1", "1", "1", "0").end == T0 + MINUTE


def test_the_rest_view_of_a_bar_is_its_document() -> None:
    view = bar_view(minute(1, "10.50", "11", "10", "10.75", "100"))
    assert view == BarView(
        timestamp="2026-11-25T14:31:00Z",
        open="10.50",
        high="11",
        low="10",
        close="10.75",
        volume="100",
    )


def test_matching_reads_the_one_bar() -> None:
    assert matching.PriceBar is Bar

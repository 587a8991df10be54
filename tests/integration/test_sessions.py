"""Day expiry at the instrument's session close, through the placing service that `/v1`
and `/v2` share (the clock is injected: no test depends on when it runs)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.instruments import DEMO_INSTRUMENTS
from redfire_core.services.instruments import instrument_cache
from redfire_core.services.placing import place_order

DAY_BUY = {"side": "buy", "type": "market", "quantity": "1", "time_in_force": "day"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_day_order_on_an_xnys_instrument_expires_at_the_early_close(
    seeded: TradingStore,
) -> None:
    # Given an XNYS instrument, and a day order placed on the day after Thanksgiving
    aapl = next(i for i in DEMO_INSTRUMENTS if i.symbol == "AAPL")
    seeded.put_instrument(replace(aapl, symbol="SPY", calendar="XNYS"), create=True)
    instrument_cache.cache_clear()
    placed = place_order(
        seeded, "demo", {**DAY_BUY, "symbol": "SPY"}, correlation_id="c", now=at("2026-11-27 15:00")
    )
    # Then it expires at 13:00 New York (18:00 UTC), as stored
    stored = seeded.get_order("demo", placed.order.id)
    assert stored is not None and stored.expires_at == at("2026-11-27 18:00")


def test_a_day_order_on_a_24_7_instrument_keeps_the_end_of_the_utc_day(
    seeded: TradingStore,
) -> None:
    placed = place_order(
        seeded,
        "demo",
        {**DAY_BUY, "symbol": "BTC-USD"},
        correlation_id="c",
        now=at("2026-11-27 15:00"),
    )
    assert placed.order.expires_at == at("2026-11-28 00:00")

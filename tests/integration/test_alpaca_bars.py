"""Alpaca's bars routes over the market data store: shapes, timeframes, multi-symbol paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.bars import Bar
from tests.integration.conftest import call_api, token_for

START = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)


def minutes(symbol: str, count: int) -> list[Bar]:
    bars = []
    for i in range(count):
        price = Decimal(100 + i)
        bars.append(
            Bar(symbol, "1m", START + timedelta(minutes=i), price, price + 2, price - 1, price + 1,
                Decimal(10 + i))
        )  # fmt: skip
    return bars


def get(url: str) -> tuple[int, Any]:
    status, _, body = call_api("GET", url, token=token_for())
    return status, body


def test_five_minute_bars_are_built_from_minutes_in_alpacas_shape(seeded: TradingStore) -> None:
    DynamoDbMarketDataStore().write_bars(minutes("GOOG", 10), backfill=True)
    status, body = get(
        "/v2/stocks/bars?symbols=GOOG&timeframe=5Min"
        "&start=2026-11-02T14:30:00Z&end=2026-11-02T15:00:00.000Z"
    )
    assert status == 200 and body["next_page_token"] is None
    first = body["bars"]["GOOG"][0]
    assert first["t"] == "2026-11-02T14:30:00.000Z"
    assert (first["o"], first["h"], first["l"], first["c"], first["v"]) == (100, 106, 99, 105, 60)
    # vw: the bar's typical price (RedFire keeps no trades to weight); n: no trade counts
    assert first["vw"] == float(round(Decimal(106 + 99 + 105) / 3, 8)) and first["n"] == 0
    assert len(body["bars"]["GOOG"]) == 2


def test_a_limit_pages_across_symbols_with_a_token(seeded: TradingStore) -> None:
    store = DynamoDbMarketDataStore()
    store.write_bars(minutes("GOOG", 3), backfill=True)
    store.write_bars(minutes("MSFT", 3), backfill=True)
    url = (
        "/v2/stocks/bars?symbols=GOOG,MSFT&timeframe=1Min&limit=4"
        "&start=2026-11-02T14:30:00Z&end=2026-11-02T15:00:00.000Z"
    )
    _, page1 = get(url)
    assert {s: len(b) for s, b in page1["bars"].items()} == {"GOOG": 3, "MSFT": 1}
    _, page2 = get(f"{url}&page_token={page1['next_page_token']}")
    assert [b["t"] for b in page2["bars"]["MSFT"]] == [
        "2026-11-02T14:31:00.000Z",
        "2026-11-02T14:32:00.000Z",
    ]
    assert page2["next_page_token"] is None and "GOOG" not in page2["bars"]
    status, edited = get(f"{url}&page_token={page1['next_page_token']}x")
    assert (status, edited["code"]) == (422, 42210000)


def test_crypto_bars_answer_under_alpacas_symbol(seeded: TradingStore) -> None:
    DynamoDbMarketDataStore().write_bars(minutes("BTC-USD", 2), backfill=True)
    status, body = get(
        "/v1beta3/crypto/us/bars?symbols=BTC/USD&timeframe=1Min"
        "&start=2026-11-02T14:30:00Z&end=2026-11-02T15:00:00.000Z"
    )
    assert status == 200 and len(body["bars"]["BTC/USD"]) == 2


def test_an_unsupported_timeframe_is_alpacas_422(seeded: TradingStore) -> None:
    status, body = get("/v2/stocks/bars?symbols=GOOG&timeframe=7Min")
    assert status == 422 and body["code"] == 42210000 and "timeframe" in body["message"]

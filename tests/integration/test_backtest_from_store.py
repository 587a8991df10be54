"""``redfire backtest --symbol ...`` reads its bars from the market data store (moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from redfire_cli.main import main
from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.domain.bars import Bar


def test_backtest_reads_bars_of_a_symbol_from_the_store(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    bars = []
    for i in range(120):
        price = Decimal(100 + (i % 30) - (15 if i % 60 >= 30 else 0))
        bars.append(
            Bar("GOOG", "1h", start + timedelta(hours=i), price, price + 1, price - 1, price,
                Decimal(10))
        )  # fmt: skip
    DynamoDbMarketDataStore().write_bars(bars, backfill=True)

    code = main(
        ["backtest", "--strategy", "sma_cross", "--symbol", "GOOG", "--interval", "1h",
         "--start", "2026-01-05T00:00:00Z", "--end", "2026-01-10T00:00:00Z",
         "--param", "fast=3", "--param", "slow=8", "--json"]
    )  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["start"] == "2026-01-05T00:00:00Z"
    assert out["trades"] > 0


def test_an_empty_range_is_a_one_line_error(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["backtest", "--strategy", "sma_cross", "--symbol", "NONE", "--interval", "1h",
         "--start", "2026-01-05", "--end", "2026-01-06"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "no 1h bars of NONE" in err and len(err.strip().splitlines()) == 1

"""DynamoDB market data store: bars per (symbol, interval, UTC day) and latest prices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from redfire_core.adapters import models as m
from redfire_core.config import Settings, get_settings
from redfire_core.events import iso


@dataclass(frozen=True)
class Bar:
    symbol: str
    interval: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def bar_partition(symbol: str, interval: str, start: datetime) -> str:
    """One partition per UTC day: a day of 1-minute bars (1,440) is one query page."""
    return f"BAR#{symbol}#{interval}#{start.date().isoformat()}"


class DynamoDbMarketDataStore:
    def __init__(self, settings: Settings | None = None) -> None:
        m.bind(settings or get_settings())

    def write_bars(self, bars: Sequence[Bar]) -> int:
        """Writes bars (BatchWriteItem of 25, PynamoDB retries unprocessed items)."""
        with m.BarItem.batch_write() as batch:
            for bar in bars:
                batch.save(
                    m.BarItem(
                        bar_partition(bar.symbol, bar.interval, bar.start),
                        iso(bar.start),
                        open=bar.open,
                        high=bar.high,
                        low=bar.low,
                        close=bar.close,
                        volume=bar.volume,
                    )
                )
        return len(bars)

    def advance_latest(self, symbol: str, price: Decimal, at: datetime) -> bool:
        """Set the latest price if ``at`` is newer; False for a late or repeated bar."""
        item = m.LatestPriceItem(f"LATEST#{symbol}", "LATEST", price=price, timestamp=iso(at))
        try:
            item.save(
                condition=m.LatestPriceItem.timestamp.does_not_exist()
                | (m.LatestPriceItem.timestamp < iso(at))
            )
        except Exception as error:
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return False
        return True

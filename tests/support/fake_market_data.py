"""An in-memory ``MarketDataStore`` for unit tests; the contract suite holds it to the adapter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from redfire_core.adapters.market_data import WriteResult
from redfire_core.domain.bars import Bar


class InMemoryMarketDataStore:
    def __init__(self) -> None:
        self.bars: dict[tuple[str, str], dict[datetime, Bar]] = {}
        self.write_calls = 0

    def write_bars(self, bars: Sequence[Bar], *, backfill: bool = False) -> WriteResult:
        result = WriteResult()
        for bar in bars:
            series = self.bars.setdefault((bar.symbol, bar.interval), {})
            old = series.get(bar.start)
            if old is not None and old.same_values(bar):
                result.unchanged += 1
            else:
                series[bar.start] = bar
                result.written += 1
        self.write_calls += -(-result.written // 25)
        return result

    def read_bars(
        self, symbol: str, interval: str, start: datetime, end: datetime, limit: int
    ) -> list[Bar]:
        series = self.bars.get((symbol, interval), {})
        return [series[t] for t in sorted(series) if start <= t < end][:limit]

    def stored_intervals(self, symbol: str) -> set[str]:
        return {interval for (s, interval), series in self.bars.items() if s == symbol and series}

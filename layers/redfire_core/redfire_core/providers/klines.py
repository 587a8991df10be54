"""Klines of a public crypto exchange REST API (Binance ``GET /api/v3/klines``).

Each kline is ``[open time ms, open, high, low, close, volume, close time, ...]``.
Symbols map ``BTC-USD`` to ``BTCUSDT``. Throttling (429/418) and server errors are
retried with exponential backoff, then raised as a retryable ``ProviderError``.

The host is ``Settings.binance_base_url`` (``REDFIRE_BINANCE_BASE_URL``, per stage from
cdk.json's ``binance_base_url``): ``api.binance.com`` answers 451 to US addresses (such as
Lambda in us-east-1); Binance's public market data mirror ``https://data-api.binance.vision``
serves the same ``/api/v3/klines``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redfire_core.config import get_settings
from redfire_core.domain.bars import INTERVALS, Bar, to_decimal
from redfire_core.providers import ProviderError

KLINES_PATH = "/api/v3/klines"
PAGE_LIMIT = 1000
RETRIES = 4


def exchange_symbol(symbol: str) -> str:
    base, _, quote = symbol.partition("-")
    return base + ("USDT" if quote in ("USD", "") else quote)


def _http_get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": "redfire"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        retryable = error.code in (418, 429) or error.code >= 500
        raise ProviderError(f"klines HTTP {error.code}", retryable=retryable) from error
    except urllib.error.URLError as error:
        raise ProviderError(f"klines unreachable: {error.reason}", retryable=True) from error


def klines_url() -> str:
    """The klines endpoint on the stage's configured host."""

    return get_settings().binance_base_url.rstrip("/") + KLINES_PATH


class BinanceKlinesProvider:
    def __init__(
        self,
        get: Callable[[str], Any] = _http_get,
        sleep: Callable[[float], None] = time.sleep,
        base_url: str | None = None,
    ) -> None:
        self.get = get
        self.sleep = sleep
        self.base_url = base_url or klines_url()
        self.requests = 0

    def _get_with_retries(self, url: str) -> Any:
        for attempt in range(RETRIES + 1):
            try:
                self.requests += 1
                return self.get(url)
            except ProviderError as error:
                if not error.retryable or attempt == RETRIES:
                    raise
                self.sleep(min(0.5 * 2**attempt, 8.0))
        raise AssertionError("unreachable")

    def fetch(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Bar]:
        if interval not in INTERVALS:
            raise ProviderError(f"unknown interval {interval!r}")
        bars: list[Bar] = []
        cursor = int(start.timestamp() * 1000)
        stop = int(end.timestamp() * 1000)
        while cursor < stop:
            query = urllib.parse.urlencode(
                {
                    "symbol": exchange_symbol(symbol),
                    "interval": interval,
                    "startTime": cursor,
                    "endTime": stop - 1,
                    "limit": PAGE_LIMIT,
                }
            )
            page = self._get_with_retries(f"{self.base_url}?{query}")
            if not isinstance(page, list):
                raise ProviderError(f"unexpected klines answer: {str(page)[:200]}")
            for kline in page:
                bars.append(parse_kline(symbol, interval, kline))
            if len(page) < PAGE_LIMIT:
                break
            cursor = int(page[-1][0]) + 1
        return [b for b in bars if start <= b.start < end]


def parse_kline(symbol: str, interval: str, kline: list[Any]) -> Bar:
    return Bar(
        symbol,
        interval,
        datetime.fromtimestamp(int(kline[0]) / 1000, UTC),
        *(to_decimal(value) for value in kline[1:6]),
    )

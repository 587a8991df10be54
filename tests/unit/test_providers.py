"""Providers: file parsing, the klines provider on recorded responses, the registry."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from redfire_core.domain.bars import Bar, Rejection
from redfire_core.providers import ProviderError, provider_named, provider_names
from redfire_core.providers.files import FileFormatError, ParquetUnavailable, read_csv, read_file
from redfire_core.providers.klines import BinanceKlinesProvider, exchange_symbol
from redfire_core.providers.synthetic import SyntheticProvider
from tests.support.parquet_files import parquet_bytes

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "providers"


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def test_csv_with_an_empty_first_header_and_mixed_case_headers() -> None:
    data = b",OPEN,High,low,CLOSE,Volume\n2026-11-23,1,2,0.5,1.5,10\n"
    (parsed,) = list(read_csv(data, "GOOG", "1d"))
    assert parsed == Bar(
        "GOOG",
        "1d",
        datetime(2026, 11, 23, tzinfo=UTC),
        Decimal(1),
        Decimal(2),
        Decimal("0.5"),
        Decimal("1.5"),
        Decimal(10),
    )


def test_naive_timestamps_are_utc_and_offsets_are_converted() -> None:
    data = (
        b"time,open,high,low,close,volume\n"
        b"2026-11-23 14:30:00,1,2,0.5,1.5,10\n"
        b"2026-11-23T09:31:00-05:00,1,2,0.5,1.5,10\n"
    )
    starts = [b.start for b in read_csv(data, "GOOG", "1m") if isinstance(b, Bar)]
    assert starts == [
        datetime(2026, 11, 23, 14, 30, tzinfo=UTC),
        datetime(2026, 11, 23, 14, 31, tzinfo=UTC),
    ]


def test_an_unreadable_row_is_a_rejection_not_a_crash() -> None:
    data = b"date,open,high,low,close,volume\nyesterday,1,2,0.5,1.5,10\n2026-11-23,1,2,0.5,1.5,10\n"
    items = list(read_csv(data, "GOOG", "1d"))
    assert isinstance(items[0], Rejection) and "unreadable row" in items[0].reason
    assert isinstance(items[1], Bar)


def test_a_file_without_ohlcv_columns_is_refused() -> None:
    with pytest.raises(FileFormatError, match="missing columns: volume"):
        list(read_csv(b"date,open,high,low,close\n", "GOOG", "1d"))


# --- parquet --------------------------------------------------------------------------

NAIVE_DAYS = [
    (datetime(2026, 11, 23), 1.0, 2.0, 0.5, 1.5, 10),
    (datetime(2026, 11, 24), 1.5, 2.5, 1.0, None, 12),  # no close: unreadable
]


def test_parquet_with_an_empty_first_header_mixed_case_headers_and_naive_timestamps() -> None:
    # Given a parquet file whose timestamps are naive and whose first header is empty
    data = parquet_bytes(NAIVE_DAYS)

    # When it is read as an upload is
    first, second = list(read_file(data, "goog.parquet", "GOOG", "1d"))

    # Then the naive timestamp is UTC, and the row without a close is a rejection
    assert first == Bar(
        "GOOG",
        "1d",
        datetime(2026, 11, 23, tzinfo=UTC),
        Decimal(1),
        Decimal(2),
        Decimal("0.5"),
        Decimal("1.5"),
        Decimal(10),
    )
    assert isinstance(second, Rejection) and "unreadable row" in second.reason


def test_parquet_nanosecond_timestamps_with_a_time_zone_become_utc() -> None:
    from zoneinfo import ZoneInfo

    opening = datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("America/New_York"))
    data = parquet_bytes([(opening, 1.0, 2.0, 0.5, 1.5, 10)], unit="ns", tz="America/New_York")

    (bar,) = list(read_file(data, "GOOG.PARQUET", "GOOG", "1m"))

    assert isinstance(bar, Bar) and bar.start == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)


def test_parquet_from_pandas_keeps_its_timestamp_index_first() -> None:
    # Given a DataFrame indexed by time, written by pandas (which stores the index last)
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(
        {"Open": [1.0], "High": [2.0], "Low": [0.5], "Close": [1.5], "Volume": [10]},
        index=pandas.DatetimeIndex([datetime(2026, 11, 23)], name="date"),
    )
    sink = io.BytesIO()
    frame.to_parquet(sink)

    (bar,) = list(read_file(sink.getvalue(), "goog.parquet", "GOOG", "1d"))

    assert isinstance(bar, Bar) and bar.start == datetime(2026, 11, 23, tzinfo=UTC)
    assert (bar.open, bar.close, bar.volume) == (Decimal(1), Decimal("1.5"), Decimal(10))


def test_a_file_that_is_not_parquet_is_refused_with_its_reason() -> None:
    with pytest.raises(FileFormatError, match="PROVIDER_PARQUET_INVALID: not a readable parquet"):
        list(read_file(b"open,high\n1,2\n", "goog.parquet", "GOOG", "1d"))


def test_a_parquet_file_without_ohlcv_columns_is_refused() -> None:
    data = parquet_bytes(NAIVE_DAYS[:1], headers=("", "a", "b", "c", "d", "e"))
    with pytest.raises(FileFormatError, match="missing columns: open, high"):
        list(read_file(data, "goog.parquet", "GOOG", "1d"))


def test_without_pyarrow_a_parquet_file_is_refused_with_a_code(monkeypatch: Any) -> None:
    # Given an installation without pyarrow (None in sys.modules makes the import fail)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)

    with pytest.raises(ParquetUnavailable) as refused:
        list(read_file(b"PAR1", "goog.parquet", "GOOG", "1d"))

    assert refused.value.code == "PROVIDER_PARQUET_UNAVAILABLE"
    assert str(refused.value).startswith("PROVIDER_PARQUET_UNAVAILABLE: ")


def test_reading_csv_and_loading_the_ingest_handler_do_not_import_pyarrow() -> None:
    # pyarrow costs ~100 MB and a slow import: only a .parquet file may load it.
    probe = (
        "import sys\n"
        "import redfire_ingest.handler\n"
        "from redfire_core.providers.files import read_file\n"
        "list(read_file(b'date,open,high,low,close,volume\\n', 'a.csv', 'GOOG', '1d'))\n"
        "assert 'pyarrow' not in sys.modules, 'pyarrow imported'\n"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr


def test_klines_are_parsed_from_a_recorded_response() -> None:
    urls: list[str] = []

    def get(url: str) -> Any:
        urls.append(url)
        return recorded("binance_klines_btcusdt_1h.json")

    provider = BinanceKlinesProvider(get=get)
    start = datetime(2025, 11, 25, tzinfo=UTC)
    bars = provider.fetch("BTC-USD", "1h", start, datetime(2025, 11, 25, 3, tzinfo=UTC))

    assert [b.start.hour for b in bars] == [0, 1, 2]
    assert bars[0].open == Decimal("87012.34") and bars[0].volume == Decimal("812.44721")
    assert "symbol=BTCUSDT" in urls[0] and "interval=1h" in urls[0]
    assert "startTime=1764028800000" in urls[0]


def test_klines_come_from_the_stage_configured_host(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stage pointed at Binance's public market data mirror (api.binance.com answers
    # 451 to US addresses)
    from redfire_core.config import get_settings

    monkeypatch.setenv("REDFIRE_BINANCE_BASE_URL", "https://data-api.binance.vision")
    get_settings.cache_clear()
    urls: list[str] = []

    def get(url: str) -> Any:
        urls.append(url)
        return []

    try:
        # When the provider fetches
        start = datetime(2025, 11, 25, tzinfo=UTC)
        BinanceKlinesProvider(get=get).fetch("BTC-USD", "1h", start, start + timedelta(hours=1))
    finally:
        get_settings.cache_clear()  # later tests read the restored environment
    # Then it asks the mirror
    assert urls[0].startswith("https://data-api.binance.vision/api/v3/klines?")


def test_klines_throttling_is_retried_with_backoff_then_raised() -> None:
    sleeps: list[float] = []

    def get(url: str) -> Any:
        raise ProviderError(json.dumps(recorded("binance_klines_429.json")), retryable=True)

    provider = BinanceKlinesProvider(get=get, sleep=sleeps.append)
    with pytest.raises(ProviderError) as raised:
        provider.fetch(
            "BTC-USD", "1h", datetime(2025, 11, 25, tzinfo=UTC), datetime(2025, 11, 26, tzinfo=UTC)
        )
    assert raised.value.retryable
    assert sleeps == [0.5, 1.0, 2.0, 4.0]


def test_exchange_symbols() -> None:
    assert exchange_symbol("BTC-USD") == "BTCUSDT"
    assert exchange_symbol("ETH-BTC") == "ETHBTC"


def test_the_synthetic_provider_is_deterministic_and_resamples() -> None:
    start, end = datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 23, 2, tzinfo=UTC)
    hours = SyntheticProvider().fetch("GOOG", "1h", start, end)
    assert [h.start.hour for h in hours] == [0, 1]
    assert hours == SyntheticProvider().fetch("GOOG", "1h", start, end)


def test_built_in_providers_are_registered() -> None:
    assert {"synthetic", "binance"} <= set(provider_names())
    assert isinstance(provider_named("synthetic"), SyntheticProvider)
    with pytest.raises(KeyError):
        provider_named("nope")

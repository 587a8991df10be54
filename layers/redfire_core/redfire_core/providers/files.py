"""Bars from CSV or Parquet files: OHLCV with the timestamp in the first column.

The first column's header may be empty and other headers may be in any case; naive
timestamps are UTC; epoch numbers are seconds or milliseconds. A row that cannot be read
becomes a rejection with its reason, never an exception that loses the rest.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from redfire_core.domain.bars import Bar, Rejection, to_decimal

COLUMNS = ("open", "high", "low", "close", "volume")
TIMESTAMP_NAMES = ("timestamp", "time", "date", "datetime", "start", "")


class FileFormatError(ValueError):
    """The file as a whole cannot be read (no header, missing columns)."""


def parse_timestamp(value: Any) -> datetime:
    """ISO 8601 (naive = UTC), a date, or epoch seconds/milliseconds."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = str(value).strip()
    if not text:
        raise ValueError("timestamp is empty")
    if text.replace(".", "", 1).isdigit():
        number = float(text)
        return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    if not names:
        raise FileFormatError("the file has no header row")
    index = {name: names.index(name) for name in COLUMNS if name in names}
    missing = [name for name in COLUMNS if name not in index]
    if missing:
        raise FileFormatError(f"missing columns: {', '.join(missing)}")
    index["timestamp"] = 0
    return index


def rows_to_bars(
    header: list[str], rows: Iterator[list[Any]], symbol: str, interval: str
) -> Iterator[Bar | Rejection]:
    index = _columns(header)
    for row in rows:
        if not row or all(str(cell).strip() == "" for cell in row):
            continue
        try:
            yield Bar(
                symbol,
                interval,
                parse_timestamp(row[index["timestamp"]]),
                *(to_decimal(row[index[name]]) for name in COLUMNS),
            )
        except (ValueError, IndexError) as error:
            document = {name: str(row[i]) for name, i in index.items() if i < len(row)}
            yield Rejection(document, f"unreadable row: {error}")


def read_csv(data: bytes, symbol: str, interval: str) -> Iterator[Bar | Rejection]:
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    header = next(reader, [])
    return rows_to_bars(header, reader, symbol, interval)


def read_parquet(data: bytes, symbol: str, interval: str) -> Iterator[Bar | Rejection]:
    """Parquet through pyarrow, imported here only: nothing else pays for it."""
    try:
        import pyarrow.parquet as pq  # type: ignore[import-not-found,unused-ignore]
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise FileFormatError("parquet needs pyarrow, which is not installed") from error
    table = pq.read_table(io.BytesIO(data))
    header = [str(name) for name in table.column_names]
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = (list(values) for values in zip(*columns, strict=True))
    return rows_to_bars(header, rows, symbol, interval)


def read_file(data: bytes, name: str, symbol: str, interval: str) -> Iterator[Bar | Rejection]:
    """Bars of a file by its extension (``.csv`` or ``.parquet``)."""
    if name.lower().endswith(".parquet"):
        return read_parquet(data, symbol, interval)
    return read_csv(data, symbol, interval)

"""Bars from CSV or Parquet files: OHLCV with the timestamp in the first column.

The first column's header may be empty and other headers may be in any case; naive
timestamps are UTC; epoch numbers are seconds or milliseconds. A row that cannot be read
becomes a rejection with its reason, never an exception that loses the rest.
"""

from __future__ import annotations

import csv
import io
import json
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
        try:
            return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, UTC)
        except (OverflowError, OSError):  # past what the platform's time functions take
            raise ValueError(f"timestamp {text[:32]} is out of range") from None
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


PARQUET_UNAVAILABLE = "PROVIDER_PARQUET_UNAVAILABLE"
PARQUET_INVALID = "PROVIDER_PARQUET_INVALID"
PARQUET_BATCH_ROWS = 5000


class ParquetUnavailable(FileFormatError):
    """pyarrow is not installed here (it is in the layer; an install may leave it out)."""

    code = PARQUET_UNAVAILABLE


def _pyarrow() -> Any:
    """pyarrow and its parquet module, imported on the first .parquet file only."""
    try:
        import pyarrow  # type: ignore[import-untyped,import-not-found,unused-ignore]  # lazy: pyarrow (~122 MB) loads on the first .parquet file only
        import pyarrow.parquet  # type: ignore[import-untyped,import-not-found,unused-ignore]  # lazy: pyarrow (~122 MB) loads on the first .parquet file only
    except ImportError as error:
        raise ParquetUnavailable(
            f"{PARQUET_UNAVAILABLE}: reading .parquet files needs pyarrow, which is not "
            "installed (pip install pyarrow)"
        ) from error
    return pyarrow


def _invalid(error: Exception) -> FileFormatError:
    return FileFormatError(f"{PARQUET_INVALID}: not a readable parquet file: {error}")


def _timestamp_first(schema: Any) -> list[int]:
    """Column positions with the timestamp first. pandas' ``to_parquet`` stores a
    DataFrame's index (the timestamps, usually) as the last column and names it in the
    file's ``pandas`` metadata; any other file has the timestamp first already."""
    positions = list(range(len(schema.names)))
    try:
        index = json.loads((schema.metadata or {}).get(b"pandas", b"{}"))["index_columns"]
    except (ValueError, KeyError, TypeError):
        return positions
    if index and isinstance(index[0], str) and index[0] in schema.names:
        first = schema.names.index(index[0])
        return [first, *(i for i in positions if i != first)]
    return positions


def read_parquet(data: bytes, symbol: str, interval: str) -> Iterator[Bar | Rejection]:
    """Parquet through pyarrow, in record batches (a damaged file fails as a whole, with
    its reason). Nanosecond timestamps are cut to microseconds, as Python holds them."""
    pa = _pyarrow()
    try:
        parquet = pa.parquet.ParquetFile(pa.BufferReader(data))
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as error:
        raise _invalid(error) from error
    order = _timestamp_first(schema)
    header = [str(schema.names[i]) for i in order]
    wanted = pa.schema(
        [
            field.with_type(pa.timestamp("us", field.type.tz))
            if pa.types.is_timestamp(field.type) and field.type.unit == "ns"
            else field
            for field in schema
        ]
    )

    def rows() -> Iterator[list[Any]]:
        try:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                table = pa.Table.from_batches([batch]).cast(wanted, safe=False)
                columns = [table.column(i).to_pylist() for i in order]
                yield from (list(values) for values in zip(*columns, strict=True))
        except (pa.ArrowException, OSError) as error:
            raise _invalid(error) from error

    return rows_to_bars(header, rows(), symbol, interval)


def read_file(data: bytes, name: str, symbol: str, interval: str) -> Iterator[Bar | Rejection]:
    """Bars of a file by its extension (``.csv`` or ``.parquet``)."""
    if name.lower().endswith(".parquet"):
        return read_parquet(data, symbol, interval)
    return read_csv(data, symbol, interval)

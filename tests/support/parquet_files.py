"""Parquet files for tests, written with pyarrow as an exporter would write them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

# An empty first header (the timestamp column) and the others in mixed case.
HEADERS = ("", "Open", "HIGH", "low", "Close", "Volume")


def parquet_bytes(
    rows: Sequence[tuple[datetime, float, float, float, float | None, int]],
    *,
    headers: Sequence[str] = HEADERS,
    unit: str = "ms",
    tz: str | None = None,
) -> bytes:
    """OHLCV rows as a parquet file: the timestamps as given (naive unless ``tz``)."""
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        [
            pa.array(columns[0], pa.timestamp(unit, tz)),
            *(pa.array(values, pa.float64()) for values in columns[1:5]),
            pa.array(columns[5], pa.int64()),
        ],
        names=list(headers),
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()

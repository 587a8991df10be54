"""Timestream for LiveAnalytics market data store (stages with ``timestream_enabled``).

One multi-measure record ``bar`` per bar (open, high, low, close, volume as DOUBLE),
dimensions ``symbol`` and ``bar_interval`` sent once per request as common attributes,
100 records per ``WriteRecords``. A corrected bar replaces the old one through a higher
record ``Version`` (the write time in ms). ``RejectedRecordsException`` is handled per
record: the others are stored, each refused bar is reported with Timestream's reason.
moto accepts anything, so what Timestream would refuse is checked here first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from redfire_core.adapters.market_data import WriteResult
from redfire_core.domain.bars import INTERVALS, Bar, Rejection, bar_document

RECORDS_PER_WRITE = 100
MEASURE_NAME = "bar"
MEASURES = ("open", "high", "low", "close", "volume")
FUTURE_TOLERANCE = timedelta(minutes=15)  # Timestream refuses records further ahead
MAX_DIMENSION_VALUE_BYTES = 2048


class TimestreamMarketDataStore:
    def __init__(
        self,
        database: str,
        table: str,
        *,
        memory_retention: timedelta = timedelta(hours=24),
        magnetic_retention: timedelta = timedelta(days=3650),
        magnetic_writes: bool = True,
        write_client: Any = None,
        query_client: Any = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database = database
        self.table = table
        self.memory_retention = memory_retention
        self.magnetic_retention = magnetic_retention
        self.magnetic_writes = magnetic_writes
        self._write = write_client
        self._query = query_client
        self.clock = clock
        self.write_calls = 0
        self.queries: list[str] = []

    @property
    def write_client(self) -> Any:
        if self._write is None:
            import boto3  # lazy: only callers of this client pay for importing boto3

            self._write = boto3.client("timestream-write")
        return self._write

    @property
    def query_client(self) -> Any:
        if self._query is None:
            import boto3  # lazy: only callers of this client pay for importing boto3

            self._query = boto3.client("timestream-query")
        return self._query

    # --- writes -----------------------------------------------------------------------

    def refusal(self, bar: Bar, now: datetime, backfill: bool) -> str | None:
        """What Timestream would reject this record for, or None."""
        if not bar.symbol or len(bar.symbol.encode()) > MAX_DIMENSION_VALUE_BYTES:
            return "symbol is empty or too long for a Timestream dimension"
        for name in MEASURES:
            value = float(getattr(bar, name))
            if not math.isfinite(value):
                return f"{name} is not a finite double"
        if bar.start > now + FUTURE_TOLERANCE:
            return "timestamp is more than 15 minutes in the future"
        age = now - bar.start
        if age > self.magnetic_retention:
            return "timestamp is older than the magnetic store retention"
        if age > self.memory_retention and not (self.magnetic_writes and backfill):
            return "timestamp is older than the memory store retention (needs a backfill)"
        return None

    def _record(self, bar: Bar, version: int) -> dict[str, Any]:
        return {
            "Time": str(int(bar.start.timestamp() * 1000)),
            "Version": version,
            "MeasureValues": [
                {"Name": name, "Value": repr(float(getattr(bar, name))), "Type": "DOUBLE"}
                for name in MEASURES
            ],
        }

    def write_bars(self, bars: Sequence[Bar], *, backfill: bool = False) -> WriteResult:
        result = WriteResult()
        now = self.clock()
        version = int(time.time() * 1000)
        series: dict[tuple[str, str], list[Bar]] = {}
        for bar in bars:
            reason = self.refusal(bar, now, backfill)
            if reason:
                result.rejected.append(Rejection(bar_document(bar), reason))
            else:
                series.setdefault((bar.symbol, bar.interval), []).append(bar)
        for (symbol, interval), group in series.items():
            group.sort(key=lambda b: b.start)
            stored = {
                b.start: b
                for b in self.read_bars(
                    symbol, interval, group[0].start, group[-1].end, len(group) + 10
                )
            }
            changed = []
            for bar in group:
                old = stored.get(bar.start)
                if old is not None and old.same_values(bar):
                    result.unchanged += 1
                else:
                    changed.append(bar)
            for offset in range(0, len(changed), RECORDS_PER_WRITE):
                chunk = changed[offset : offset + RECORDS_PER_WRITE]
                result.add(self._write_chunk(symbol, interval, chunk, version))
        return result

    def _write_chunk(
        self, symbol: str, interval: str, chunk: list[Bar], version: int
    ) -> WriteResult:
        result = WriteResult()
        self.write_calls += 1
        try:
            self.write_client.write_records(
                DatabaseName=self.database,
                TableName=self.table,
                CommonAttributes={
                    "Dimensions": [
                        {"Name": "symbol", "Value": symbol, "DimensionValueType": "VARCHAR"},
                        {
                            "Name": "bar_interval",
                            "Value": interval,
                            "DimensionValueType": "VARCHAR",
                        },
                    ],
                    "MeasureName": MEASURE_NAME,
                    "MeasureValueType": "MULTI",
                    "TimeUnit": "MILLISECONDS",
                },
                Records=[self._record(bar, version) for bar in chunk],
            )
        except self.write_client.exceptions.RejectedRecordsException as error:
            rejected = error.response.get("RejectedRecords", [])
            refused = {r["RecordIndex"]: r.get("Reason", "rejected") for r in rejected}
            for index, bar in enumerate(chunk):
                if index in refused:
                    result.rejected.append(Rejection(bar_document(bar), refused[index]))
                else:
                    result.written += 1
            return result
        result.written = len(chunk)
        return result

    # --- reads ------------------------------------------------------------------------

    def _quote(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def bars_sql(
        self, symbol: str, interval: str, start: datetime, end: datetime, limit: int
    ) -> str:
        return (
            f'SELECT time, open, high, low, close, volume FROM "{self.database}"."{self.table}" '
            f"WHERE symbol = {self._quote(symbol)} AND bar_interval = {self._quote(interval)} "
            f"AND measure_name = '{MEASURE_NAME}' "
            f"AND time >= from_milliseconds({int(start.timestamp() * 1000)}) "
            f"AND time < from_milliseconds({int(end.timestamp() * 1000)}) "
            f"ORDER BY time ASC LIMIT {int(limit)}"
        )

    def _rows(self, sql: str) -> list[dict[str, str | None]]:
        self.queries.append(sql)
        rows: list[dict[str, str | None]] = []
        request: dict[str, Any] = {"QueryString": sql}
        while True:
            page = self.query_client.query(**request)
            names = [c["Name"] for c in page.get("ColumnInfo", [])]
            for row in page.get("Rows", []):
                values = [d.get("ScalarValue") for d in row["Data"]]
                rows.append(dict(zip(names, values, strict=True)))
            token = page.get("NextToken")
            if not token:
                return rows
            request["NextToken"] = token

    def read_bars(
        self, symbol: str, interval: str, start: datetime, end: datetime, limit: int
    ) -> list[Bar]:
        rows = self._rows(self.bars_sql(symbol, interval, start, end, limit))
        return [parse_row(symbol, interval, row) for row in rows][:limit]

    def stored_intervals(self, symbol: str) -> set[str]:
        sql = (
            f'SELECT DISTINCT bar_interval FROM "{self.database}"."{self.table}" '
            f"WHERE symbol = {self._quote(symbol)} AND time > ago(3650d)"
        )
        return {
            str(row["bar_interval"])
            for row in self._rows(sql)
            if row.get("bar_interval") in INTERVALS
        }


def parse_time(text: str) -> datetime:
    """Timestream's ``2026-11-25 09:30:00.000000000`` (UTC) as a datetime."""
    head, _, fraction = text.partition(".")
    moment = datetime.strptime(head, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return moment + timedelta(microseconds=int((fraction or "0")[:6].ljust(6, "0")))


def _decimal(text: str | None) -> Decimal:
    return Decimal(repr(float(text or "nan")))


def parse_row(symbol: str, interval: str, row: dict[str, str | None]) -> Bar:
    return Bar(
        symbol,
        interval,
        parse_time(str(row["time"])),
        *(_decimal(row[name]) for name in MEASURES),
    )

"""Timestream adapter: writes on moto (which accepts anything, so we check what AWS would
refuse), queries by the SQL they send and by parsing a recorded query response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from redfire_core.adapters.timestream import TimestreamMarketDataStore
from redfire_core.domain.bars import Bar

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "providers"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class NoRows:
    """A query client with no stored bars (moto returns canned results only)."""

    def __init__(self, pages: list[dict[str, Any]] | None = None) -> None:
        self.pages = pages or []
        self.sent: list[dict[str, Any]] = []

    def query(self, **request: Any) -> dict[str, Any]:
        self.sent.append(request)
        if self.pages:
            return self.pages.pop(0)
        return {"Rows": [], "ColumnInfo": []}


@pytest.fixture
def write_client() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("timestream-write", region_name="us-east-1")
        client.create_database(DatabaseName="redfire-dev-marketdata")
        client.create_table(DatabaseName="redfire-dev-marketdata", TableName="bars")
        yield client


class CountingWriter:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.exceptions = client.exceptions
        self.calls: list[dict[str, Any]] = []

    def write_records(self, **request: Any) -> Any:
        self.calls.append(request)
        return self.client.write_records(**request)


def minutes(count: int, start: datetime = NOW - timedelta(hours=1)) -> list[Bar]:
    return [
        Bar(
            "GOOG",
            "1m",
            start + timedelta(minutes=n),
            Decimal("175.1"),
            Decimal("175.3"),
            Decimal("175.0"),
            Decimal("175.2"),
            Decimal("100"),
        )
        for n in range(count)
    ]


def store(writer: Any, query: Any = None) -> TimestreamMarketDataStore:
    return TimestreamMarketDataStore(
        "redfire-dev-marketdata",
        "bars",
        write_client=writer,
        query_client=query or NoRows(),
        clock=lambda: NOW,
    )


def test_writes_are_100_multi_measure_records_with_common_attributes(write_client: Any) -> None:
    writer = CountingWriter(write_client)
    result = store(writer).write_bars(minutes(250, start=NOW - timedelta(hours=5)))
    assert result.written == 250
    assert [len(c["Records"]) for c in writer.calls] == [100, 100, 50]
    common = writer.calls[0]["CommonAttributes"]
    assert common["MeasureValueType"] == "MULTI" and common["MeasureName"] == "bar"
    assert {d["Name"] for d in common["Dimensions"]} == {"symbol", "bar_interval"}
    record = writer.calls[0]["Records"][0]
    assert [m["Name"] for m in record["MeasureValues"]] == [
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]
    assert "Dimensions" not in record


def test_old_bars_need_a_backfill_for_magnetic_store_writes(write_client: Any) -> None:
    old = minutes(2, start=NOW - timedelta(days=3))
    live = store(CountingWriter(write_client)).write_bars(old)
    backfill = store(CountingWriter(write_client)).write_bars(old, backfill=True)
    assert live.written == 0 and "memory store retention" in live.rejected[0].reason
    assert backfill.written == 2


def test_future_and_non_finite_records_are_refused_before_sending(write_client: Any) -> None:
    writer = CountingWriter(write_client)
    future = minutes(1, start=NOW + timedelta(hours=1))
    result = store(writer).write_bars(future)
    assert "future" in result.rejected[0].reason and writer.calls == []


def test_rejected_records_are_reported_per_record(write_client: Any) -> None:
    class Rejecting(CountingWriter):
        def write_records(self, **request: Any) -> Any:
            self.calls.append(request)
            raise self.client.exceptions.RejectedRecordsException(
                {
                    "Error": {"Code": "RejectedRecordsException", "Message": "rejected"},
                    "RejectedRecords": [
                        {
                            "RecordIndex": 1,
                            "Reason": "A record with a higher version exists.",
                            "ExistingVersion": 9,
                        }
                    ],
                },
                "WriteRecords",
            )

    result = store(Rejecting(write_client)).write_bars(minutes(3))
    assert result.written == 2
    assert [r.reason for r in result.rejected] == ["A record with a higher version exists."]


def test_reads_send_a_bounded_ordered_query_and_parse_the_recorded_response() -> None:
    query = NoRows([json.loads((RECORDED / "timestream_query_bars.json").read_text())])
    start, end = (
        datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        datetime(2026, 11, 25, 9, 32, tzinfo=UTC),
    )
    bars = store(None, query).read_bars("GOOG", "1m", start, end, 10)
    sql = query.sent[0]["QueryString"]
    assert sql == (
        'SELECT time, open, high, low, close, volume FROM "redfire-dev-marketdata"."bars" '
        "WHERE symbol = 'GOOG' AND bar_interval = '1m' AND measure_name = 'bar' "
        "AND time >= from_milliseconds(1795599000000) AND time < from_milliseconds(1795599120000) "
        "ORDER BY time ASC LIMIT 10"
    )
    assert [(b.start, b.close, b.volume) for b in bars] == [
        (start, Decimal("175.22"), Decimal("4817")),
        (start + timedelta(minutes=1), Decimal("175.38"), Decimal("3120")),
    ]


def test_symbols_are_quoted_in_sql() -> None:
    query = NoRows()
    store(None, query).read_bars("O'NEIL", "1m", NOW, NOW + timedelta(minutes=1), 1)
    assert "symbol = 'O''NEIL'" in query.sent[0]["QueryString"]

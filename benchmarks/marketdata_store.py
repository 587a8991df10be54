"""Market data stores on moto: write calls per 10,000 bars against the floor, and the
latency of reading one year of 1-minute bars resampled to 1h.

Write calls are counted by a botocore hook (every BatchWriteItem/PutItem of the DynamoDB
adapter, every WriteRecords of the Timestream adapter), including the retries of
unprocessed items. Reads that detect unchanged bars are counted apart: they are the price
of "re-ingesting changes nothing". The year is read through ``read_page`` (the API's
code path) in windows of at most 200,000 stored bars, as a client must (the API answers
422 above that).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from benchmarks.common import Result, Table, apply_bench_environment, mark, ms

BARS = 10_000
FLOORS = {"DynamoDB": 400, "Timestream": 100}
TARGET_RATIO = 1.1
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
READ_WINDOW = timedelta(minutes=175_200)  # a third of a year: below the 200,000-bar limit


def minute_bars(symbol: str, start: datetime, count: int) -> list[Any]:
    from redfire_core.domain.bars import Bar

    return [
        Bar(
            symbol,
            "1m",
            start + timedelta(minutes=n),
            Decimal("100.0"),
            Decimal("100.5"),
            Decimal("99.5"),
            Decimal(100 + (n % 7) / 10).quantize(Decimal("0.1")),
            Decimal(n % 50),
        )
        for n in range(count)
    ]


class StubDynamoDb:
    """Answers ``query`` from partitions held in memory, the way the table would."""

    def __init__(self, partitions: dict[str, list[dict[str, Any]]]) -> None:
        self.partitions = partitions
        self.queries = 0

    def query(self, **request: Any) -> dict[str, Any]:
        self.queries += 1
        values = request["ExpressionAttributeValues"]
        pk = values[":pk"]["S"]
        if pk.startswith("SERIES#"):
            return {"Items": [{"pk": {"S": pk}, "sk": {"S": "1m"}}]}
        low, high = values[":lo"]["S"], values[":hi"]["S"]
        return {"Items": [i for i in self.partitions.get(pk, []) if low <= i["sk"]["S"] <= high]}


def run() -> Result:
    apply_bench_environment()
    import boto3
    from moto import mock_aws

    from redfire_core.adapters.market_data import DynamoDbMarketDataStore, bar_item
    from redfire_core.adapters.timestream import TimestreamMarketDataStore
    from redfire_core.config import get_settings
    from redfire_core.services.market_data import read_page
    from tests.support.provisioning import provision

    calls: Counter[str] = Counter()

    def count(event_name: str, **kwargs: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    rows: list[list[str]] = []
    checks: list[bool] = []
    with mock_aws():
        provision(get_settings().declaration, jwt_secret="b" * 32)
        session = boto3.Session()
        session.events.register("before-call.*.*", count)
        dynamodb = DynamoDbMarketDataStore(client=session.client("dynamodb"))
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        bars = minute_bars("GOOG", now - timedelta(minutes=BARS), BARS)
        calls.clear()
        first = dynamodb.write_bars(bars)
        writes = calls["BatchWriteItem"] + calls["PutItem"]
        reads = calls["Query"]
        calls.clear()
        again = dynamodb.write_bars(bars)
        rewrite_writes = calls["BatchWriteItem"] + calls["PutItem"]
        ratio = writes / FLOORS["DynamoDB"]
        checks.append(ratio <= TARGET_RATIO and first.written == BARS and again.unchanged == BARS)
        rows.append(
            [
                "DynamoDB",
                str(writes),
                str(FLOORS["DynamoDB"]),
                f"{ratio:.3f}",
                mark(ratio <= TARGET_RATIO),
                f"{reads} Query",
                str(rewrite_writes),
            ]
        )

        ts_client = session.client("timestream-write")
        ts_client.create_database(DatabaseName="bench")
        ts_client.create_table(DatabaseName="bench", TableName="bars")

        class NoRows:
            def query(self, **request: Any) -> dict[str, Any]:
                calls["TimestreamQuery"] += 1
                return {"Rows": [], "ColumnInfo": []}

        timestream = TimestreamMarketDataStore(
            "bench",
            "bars",
            write_client=ts_client,
            query_client=NoRows(),
            memory_retention=timedelta(days=30),
        )
        calls.clear()
        written = timestream.write_bars(bars)
        ts_writes = calls["WriteRecords"]
        ts_ratio = ts_writes / FLOORS["Timestream"]
        checks.append(ts_ratio <= TARGET_RATIO and written.written == BARS)
        rows.append(
            [
                "Timestream",
                str(ts_writes),
                str(FLOORS["Timestream"]),
                f"{ts_ratio:.3f}",
                mark(ts_ratio <= TARGET_RATIO),
                f"{calls['TimestreamQuery']} Query",
                "n/a (moto query returns no rows)",
            ]
        )

    # A year of 1-minute bars read back resampled to 1h. moto answers one Query of a day's
    # 1,440 items in 1.5-4 s on this machine, so the year is served by a stub client that
    # returns the Query pages a table would (same item shapes): the figure is RedFire's own
    # work (queries issued, parsing, resampling), not DynamoDB's latency.
    partitions: dict[str, list[dict[str, Any]]] = {}
    for bar in minute_bars("BTC-USD", YEAR_START, 525_600):
        item = bar_item(bar)
        partitions.setdefault(item["pk"]["S"], []).append(item)
    stub = StubDynamoDb(partitions)
    year_store = DynamoDbMarketDataStore(client=stub)
    started = time.perf_counter()
    hours = 0
    window = YEAR_START
    end = YEAR_START + timedelta(days=365)
    requests = 0
    while window < end:
        window_end = min(end, window + READ_WINDOW)
        cursor = None
        while True:
            page, cursor = read_page(year_store, "BTC-USD", "1h", window, window_end, cursor)
            hours += len(page)
            requests += 1
            if cursor is None:
                break
        window = window_end
    read_seconds = time.perf_counter() - started
    calls["Query"] = stub.queries
    checks.append(hours == 8760)
    return Result(
        name="marketdata_store",
        title="Market data stores: write calls and a year read at 1h",
        status="met" if all(checks) else "missed",
        summary=(
            f"DynamoDB {rows[0][1]} / Timestream {rows[1][1]} write calls per {BARS:,} bars "
            f"(floors 400 / 100); a year of 1m bars at 1h read in {read_seconds:.1f} s"
        ),
        target=f"write calls <= {TARGET_RATIO}x the floor (10,000/25 and 10,000/100)",
        reference="the floor: BatchWriteItem of 25 items, WriteRecords of 100 records",
        method=[
            "In-process moto (mock_aws), stage `bench`; a botocore before-call hook counts calls.",
            f"{BARS:,} new 1-minute GOOG bars written once, then the same bars again.",
            "525,600 1-minute BTC-USD bars (2025) held by a stub DynamoDB client (moto "
            "takes seconds per Query of a day's partition), then read "
            f"through `read_page` resampled to 1h in windows of {READ_WINDOW.days} days.",
        ],
        tables=[
            Table(
                "Write calls per 10,000 new bars",
                [
                    "store",
                    "write calls",
                    "floor",
                    "ratio",
                    "<= 1.1x",
                    "reads for unchanged detection",
                    "write calls when re-ingesting the same bars",
                ],
                rows,
            ),
            Table(
                "One year of 1-minute bars read as 1h bars (DynamoDB adapter, stub client)",
                ["1h bars", "requests (pages)", "DynamoDB Query calls", "latency"],
                [[str(hours), str(requests), str(calls["Query"]), ms(read_seconds) + " ms"]],
            ),
        ],
        notes=[
            "The DynamoDB adapter's one extra write call is the series registry item "
            "(`SERIES#<symbol>`), written once per series per batch.",
            "On AWS each Query of a day's partition is one round trip of ~1,440 small items "
            "(~100 KB, one page); the year takes 365 of them plus one series lookup per "
            "page, issued one after another today.",
        ],
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

"""Market data through the real handlers: schedules, S3 uploads, pushes, reads, gaps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3

from redfire_core.adapters.market_data import MarketDataRecords
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.roles import Role
from redfire_core.resources import MARKETDATA_UPLOADS
from tests.integration.conftest import call_api, token_for
from tests.support.events import LambdaContext, load_event
from tests.support.parquet_files import parquet_bytes
from tests.support.pipeline import Pipeline

GOOG_CSV = (
    ",Open,HIGH,low,Close,Volume\n"
    "2026-11-16,170.00,172.50,169.10,171.20,1000\n"
    "2026-11-17,171.20,173.00,170.00,172.80,1200\n"
    "2026-11-18,172.80,174.00,171.50,173.10,900\n"
    "2026-11-20,173.10,175.00,172.00,174.40,1100\n"
    "2026-11-23,174.40,176.00,173.90,175.50,1300\n"
    "2026-11-24,175.50,174.00,173.00,175.00,700\n"
)


def ingest(event: dict[str, Any]) -> Any:
    from redfire_ingest.handler import handler

    return handler(event, LambdaContext())


def bucket() -> str:
    return get_settings().declaration.bucket_name(MARKETDATA_UPLOADS)


def s3_event(key: str) -> dict[str, Any]:
    event = load_event("sqs_s3_object_created")
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["bucket"]["name"] = bucket()
    body["Records"][0]["s3"]["object"]["key"] = key
    event["Records"][0]["body"] = json.dumps(body)
    return event


def operator() -> str:
    return token_for("demo", Role.OPERATOR)


def test_uploaded_csv_is_ingested_with_rejections_reported(seeded: TradingStore) -> None:
    key = "ingest/import/01JOBCSV/GOOG/1d/goog.csv"
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=GOOG_CSV.encode())

    ingest(s3_event(key))

    job = MarketDataRecords().get_job("01JOBCSV")
    assert job is not None and job.status == "completed"
    assert (job.written, job.unchanged, job.rejected) == (5, 0, 1)
    assert job.rejections[0]["reason"] == "high is below open or close"


def goog_parquet() -> bytes:
    """GOOG_CSV as a parquet file: empty first header, mixed case, naive timestamps."""
    rows = [line.split(",") for line in GOOG_CSV.splitlines()[1:]]
    return parquet_bytes(
        [
            (datetime.fromisoformat(day), *(float(v) for v in values[:4]), int(values[4]))
            for day, *values in rows
        ]
    )


def test_uploaded_parquet_is_ingested_like_csv_with_rejections_reported(
    seeded: TradingStore,
) -> None:
    # Given the daily GOOG bars uploaded as parquet
    key = "ingest/import/01JOBPQ/GOOG/1d/goog.parquet"
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=goog_parquet())

    # When the ingest function gets the object-created notification
    assert ingest(s3_event(key))["batchItemFailures"] == []

    # Then the valid bars are stored at 00:00 UTC and the broken one is reported
    job = MarketDataRecords().get_job("01JOBPQ")
    assert job is not None and job.status == "completed"
    assert (job.written, job.unchanged, job.rejected) == (5, 0, 1)
    assert job.rejections[0]["reason"] == "high is below open or close"
    status, _, page = call_api(
        "GET",
        "/v1/bars?symbol=GOOG&interval=1d&start=2026-11-16T00:00:00Z&end=2026-11-17T00:00:00Z",
        token=token_for("demo"),
    )
    assert status == 200 and page["items"][0]["timestamp"] == "2026-11-16T00:00:00Z"
    assert Decimal(page["items"][0]["close"]) == Decimal("171.20")


def test_an_uploaded_file_that_is_not_parquet_fails_its_job_with_the_reason(
    seeded: TradingStore,
) -> None:
    key = "ingest/import/01JOBBADPQ/GOOG/1d/goog.parquet"
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=GOOG_CSV.encode())

    # A bad file does not get better: the job fails and the message is not retried
    assert ingest(s3_event(key))["batchItemFailures"] == []

    job = MarketDataRecords().get_job("01JOBBADPQ")
    assert job is not None and job.status == "failed" and job.written == 0
    assert (job.error or "").startswith("PROVIDER_PARQUET_INVALID: not a readable parquet file")


def test_reingesting_the_same_file_changes_nothing(seeded: TradingStore) -> None:
    key = "ingest/import/01JOBCSV/GOOG/1d/goog.csv"
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=GOOG_CSV.encode())
    ingest(s3_event(key))

    ingest(s3_event(key))

    job = MarketDataRecords().get_job("01JOBCSV")
    assert job is not None and (job.written, job.unchanged, job.rejected) == (0, 5, 1)


def test_s3_notification_reaches_the_ingest_queue(seeded: TradingStore, pipeline: Pipeline) -> None:
    key = "ingest/import/01JOBQ/GOOG/1d/goog.csv"
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=GOOG_CSV.encode())

    pipeline.deliver("ingest")

    job = MarketDataRecords().get_job("01JOBQ")
    assert job is not None and job.written == 5


def test_pushed_bars_are_stored_through_s3_and_reported(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    body = {
        "symbol": "GOOG",
        "interval": "1d",
        "bars": [
            {
                "timestamp": "2026-11-16T00:00:00Z",
                "open": "170.00",
                "high": "172.50",
                "low": "169.10",
                "close": "171.20",
                "volume": "1000",
            },
            {
                "timestamp": "2026-11-17T00:00:00Z",
                "open": "NaN",
                "high": "172.50",
                "low": "169.10",
                "close": "171.20",
                "volume": "1000",
            },
        ],
    }
    status, _, accepted = call_api("POST", "/v1/marketdata/bars", body=body, token=operator())
    assert status == 202, accepted
    pipeline.deliver("ingest")

    status, _, report = call_api(
        "GET", f"/v1/marketdata/ingests/{accepted['id']}", token=operator()
    )
    assert status == 200
    assert report["status"] == "completed"
    assert (report["written"], report["unchanged"], report["rejected"]) == (1, 0, 1)
    assert "not a finite number" in report["rejections"][0]["reason"]


def test_a_trader_cannot_push_bars(seeded: TradingStore) -> None:
    body = {"symbol": "GOOG", "interval": "1d", "bars": [{}]}
    status, _, _ = call_api("POST", "/v1/marketdata/bars", body=body, token=token_for())
    assert status == 403


def test_bars_read_back_daily_weekly_and_as_csv(seeded: TradingStore) -> None:
    key = "ingest/import/01JOBR/GOOG/1d/goog.csv"
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=GOOG_CSV.encode())
    ingest(s3_event(key))
    query = "symbol=GOOG&start=2026-11-16T00:00:00Z&end=2026-11-30T00:00:00Z"

    status, _, daily = call_api("GET", f"/v1/bars?interval=1d&{query}", token=token_for())
    status_w, _, weekly = call_api("GET", f"/v1/bars?interval=1w&{query}", token=token_for())

    assert status == 200 and [b["timestamp"] for b in daily["items"]][:2] == [
        "2026-11-16T00:00:00Z",
        "2026-11-17T00:00:00Z",
    ]
    assert status_w == 200
    assert weekly["items"][0] == {
        "timestamp": "2026-11-16T00:00:00Z",
        "open": "170.00",
        "high": "175.00",
        "low": "169.10",
        "close": "174.40",
        "volume": "4200",
    }
    assert weekly["items"][1]["timestamp"] == "2026-11-23T00:00:00Z"


def test_bars_as_csv(seeded: TradingStore) -> None:
    from redfire_api.handler import handler
    from tests.support.events import http_event

    key = "ingest/import/01JOBC/GOOG/1d/goog.csv"
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=GOOG_CSV.encode())
    ingest(s3_event(key))
    event = http_event(
        "GET",
        "/v1/bars?symbol=GOOG&interval=1d&start=2026-11-16T00:00:00Z&end=2026-11-18T00:00:00Z",
        token=token_for(),
        headers={"accept": "text/csv"},
    )
    response = handler(event, LambdaContext())
    assert response["statusCode"] == 200
    assert response["body"].splitlines() == [
        "timestamp,open,high,low,close,volume",
        "2026-11-16T00:00:00Z,170.00,172.50,169.10,171.20,1000",
        "2026-11-17T00:00:00Z,171.20,173.00,170.00,172.80,1200",
    ]


def test_gaps_follow_the_weekday_calendar(seeded: TradingStore) -> None:
    key = "ingest/import/01JOBG/GOOG/1d/goog.csv"
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=GOOG_CSV.encode())
    ingest(s3_event(key))

    status, _, page = call_api(
        "GET",
        "/v1/marketdata/gaps?symbol=GOOG&interval=1d"
        "&start=2026-11-16T00:00:00Z&end=2026-11-25T00:00:00Z",
        token=token_for(),
    )

    assert status == 200
    assert page["items"] == [
        {"start": "2026-11-19T00:00:00.000Z", "end": "2026-11-20T00:00:00.000Z"},
        {"start": "2026-11-24T00:00:00.000Z", "end": "2026-11-25T00:00:00.000Z"},
    ]


def test_bad_ranges_are_problems(seeded: TradingStore) -> None:
    base = "/v1/bars?symbol=GOOG&interval=1m"
    too_large = f"{base}&start=2020-01-01T00:00:00Z&end=2026-01-01T00:00:00Z"
    backwards = f"{base}&start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z"
    unknown = "/v1/bars?symbol=NOPE&interval=1m&start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z"
    bad_interval = (
        "/v1/bars?symbol=GOOG&interval=2m&start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z"
    )
    from redfire_core.adapters.market_data import DynamoDbMarketDataStore
    from redfire_core.providers.synthetic import minute_bar

    DynamoDbMarketDataStore().write_bars([minute_bar("GOOG", datetime(2026, 1, 1, tzinfo=UTC))])

    codes = {
        url: call_api("GET", url, token=token_for())[2]["code"]
        for url in (too_large, backwards, unknown, bad_interval)
    }
    assert codes == {
        too_large: "MARKETDATA_RANGE_TOO_LARGE",
        backwards: "MARKETDATA_RANGE_INVALID",
        unknown: "MARKETDATA_SYMBOL_UNKNOWN",
        bad_interval: "MARKETDATA_INTERVAL_UNKNOWN",
    }


def test_scheduled_pull_stores_bars_and_moves_the_latest_quote(seeded: TradingStore) -> None:
    ingest(load_event("schedule_demo_feed"))

    status, _, quotes = call_api("GET", "/v1/quotes/latest?symbols=GOOG,AAPL", token=token_for())

    assert status == 200
    assert [q["symbol"] for q in quotes["items"]] == ["GOOG", "AAPL"]
    moment = datetime.fromisoformat(quotes["items"][1]["timestamp"].replace("Z", "+00:00"))
    assert moment > datetime.now(UTC) - timedelta(minutes=2)


def test_gap_check_announces_backfills_and_confirms_empty(seeded: TradingStore) -> None:
    from redfire_core.adapters.market_data import DynamoDbMarketDataStore

    result = ingest(
        {
            "action": "check_gaps",
            "provider": "synthetic",
            "interval": "1h",
            "symbols": ["BTC-USD"],
            "hours": 6,
        }
    )
    assert result["gaps"] == 1 and result["filled"] == 1
    again = ingest(
        {
            "action": "check_gaps",
            "provider": "synthetic",
            "interval": "1h",
            "symbols": ["BTC-USD"],
            "hours": 6,
        }
    )
    assert again["gaps"] == 0
    now = datetime.now(UTC)
    stored = DynamoDbMarketDataStore().read_bars(
        "BTC-USD", "1h", now - timedelta(hours=7), now, 100
    )
    assert len(stored) == 6
    assert Decimal(0) < stored[0].close


def test_a_backfill_request_pulls_from_the_provider(seeded: TradingStore) -> None:
    request = {
        "provider": "synthetic",
        "symbol": "MSFT",
        "interval": "1h",
        "start": "2026-11-23T00:00:00Z",
        "end": "2026-11-23T06:00:00Z",
    }
    key = "ingest/backfill/01JOBB.json"
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=json.dumps(request).encode())

    ingest(s3_event(key))

    job = MarketDataRecords().get_job("01JOBB")
    assert job is not None and job.status == "completed" and job.written == 6
    assert job.source == "backfill:synthetic"


def test_a_failing_provider_fails_the_job_and_the_message(
    seeded: TradingStore, monkeypatch: Any
) -> None:
    import pytest

    from redfire_core.providers import ProviderError

    class Down:
        def fetch(self, *args: Any) -> Any:
            raise ProviderError("klines HTTP 503", retryable=True)

    monkeypatch.setattr("redfire_ingest.uploads.provider_named", lambda name: Down())
    request = {
        "provider": "binance",
        "symbol": "BTC-USD",
        "interval": "1h",
        "start": "2026-11-23T00:00:00Z",
        "end": "2026-11-23T06:00:00Z",
    }
    key = "ingest/backfill/01JOBF.json"
    boto3.client("s3").put_object(Bucket=bucket(), Key=key, Body=json.dumps(request).encode())

    with pytest.raises(ProviderError):
        ingest(s3_event(key))

    job = MarketDataRecords().get_job("01JOBF")
    assert job is not None and job.status == "failed" and "503" in (job.error or "")


def test_a_pushed_bar_fills_a_resting_limit_order(seeded: TradingStore, pipeline: Pipeline) -> None:
    status, _, order = call_api(
        "POST",
        "/v1/orders",
        body={
            "symbol": "GOOG",
            "side": "buy",
            "type": "limit",
            "quantity": "5",
            "limit_price": "99.00",
            "time_in_force": "gtc",
        },
        token=token_for(),
    )
    assert status in (201, 202), order
    pipeline.run_until_quiet()
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    bar = {
        "timestamp": start.isoformat().replace("+00:00", "Z"),
        "open": "99.50",
        "high": "99.80",
        "low": "98.70",
        "close": "98.90",
        "volume": "1000",
    }

    status, _, _ = call_api(
        "POST",
        "/v1/marketdata/bars",
        body={"symbol": "GOOG", "interval": "1m", "bars": [bar]},
        token=operator(),
    )
    assert status == 202
    pipeline.deliver("ingest")
    pipeline.run_until_quiet()

    filled = seeded.get_order("demo", order["id"])
    assert filled is not None and filled.status == "filled"


def test_a_row_with_an_out_of_range_timestamp_is_quarantined_not_the_whole_job(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    good = {"open": "170", "high": "172.5", "low": "169.1", "close": "171.2", "volume": "1000"}
    body = {
        "symbol": "GOOG",
        "interval": "1d",
        "bars": [
            {"timestamp": "2026-11-16T00:00:00Z", **good},
            {"timestamp": "99999999999999999999", **good},  # OSError from fromtimestamp
            {"timestamp": 10**30, **good},  # OverflowError
            {"timestamp": "9999-12-31T00:00:00Z", **good},  # its end is past year 9999
        ],
    }
    status, _, accepted = call_api("POST", "/v1/marketdata/bars", body=body, token=operator())
    assert status == 202, accepted

    failures = pipeline.deliver("ingest")

    status, _, report = call_api(
        "GET", f"/v1/marketdata/ingests/{accepted['id']}", token=operator()
    )
    assert failures == []  # the message is done: no retry, no dead letter
    assert status == 200
    assert report["status"] == "completed", report
    assert (report["written"], report["quarantined"], report["rejected"]) == (1, 3, 3)
    reasons = [r["reason"] for r in report["rejections"]]
    assert all("out of range" in reason for reason in reasons), reasons

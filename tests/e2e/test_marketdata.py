"""Market data on the local cloud, as a new user tries it: import a CSV with the CLI, read
it back daily and weekly, push a bar that fills a resting order, and list a gap."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from tests.e2e.harness import LocalCloudProcess, bearer, wait_for_status
from tests.support.parquet_files import parquet_bytes

pytestmark = pytest.mark.slow

GOOG_DAILY = (
    ",Open,High,Low,Close,Volume\n"
    "2026-11-02,170.00,172.50,169.10,171.20,1000\n"
    "2026-11-03,171.20,173.00,170.00,172.80,1200\n"
    "2026-11-04,172.80,174.00,171.50,173.10,900\n"
    "2026-11-06,173.10,175.00,172.00,174.40,1100\n"
    "2026-11-09,174.40,176.00,173.90,175.50,1300\n"
    "2026-11-10,175.50,177.00,175.00,176.25,800\n"
)
RANGE = "symbol=GOOG&start=2026-11-02T00:00:00Z&end=2026-11-11T00:00:00Z"


def operator_token(local_cloud: LocalCloudProcess) -> str:
    result = local_cloud.redfire("token", "--role", "operator")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_a_daily_parquet_file_with_the_cli(
    api: httpx.Client, local_cloud: LocalCloudProcess
) -> None:
    # Given the daily bars as parquet (empty first header, mixed case, naive timestamps)
    rows = [line.split(",") for line in GOOG_DAILY.splitlines()[1:]]
    data = parquet_bytes(
        [
            (datetime.fromisoformat(day), *(float(v) for v in values[:4]), int(values[4]))
            for day, *values in rows
        ]
    )
    (local_cloud.workdir / "msft.parquet").write_bytes(data)

    # When it is imported through the real S3 path of the local cloud
    imported = local_cloud.redfire(
        "data", "import", "msft.parquet", "--symbol", "MSFT", "--interval", "1d"
    )

    # Then every bar is stored at 00:00 UTC of its day
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "written 6, unchanged 0, quarantined 0" in imported.stdout
    query = RANGE.replace("GOOG", "MSFT")
    daily = api.get(f"/v1/bars?interval=1d&{query}", headers=bearer(local_cloud.token)).json()
    assert [(b["timestamp"], Decimal(b["close"])) for b in daily["items"]][:2] == [
        ("2026-11-02T00:00:00Z", Decimal("171.20")),
        ("2026-11-03T00:00:00Z", Decimal("172.80")),
    ]


def test_import_a_daily_csv_and_read_it_back_daily_and_weekly(
    api: httpx.Client, local_cloud: LocalCloudProcess
) -> None:
    (local_cloud.workdir / "goog.csv").write_text(GOOG_DAILY)

    imported = local_cloud.redfire(
        "data", "import", "goog.csv", "--symbol", "GOOG", "--interval", "1d"
    )

    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "written 6, unchanged 0, quarantined 0" in imported.stdout
    token = bearer(local_cloud.token)
    daily = api.get(f"/v1/bars?interval=1d&{RANGE}", headers=token).json()
    weekly = api.get(f"/v1/bars?interval=1w&{RANGE}", headers=token).json()
    assert [b["timestamp"][:10] for b in daily["items"]] == [
        "2026-11-02",
        "2026-11-03",
        "2026-11-04",
        "2026-11-06",
        "2026-11-09",
        "2026-11-10",
    ]
    assert [(w["timestamp"], w["open"], w["close"], w["volume"]) for w in weekly["items"]] == [
        ("2026-11-02T00:00:00Z", "170.00", "174.40", "4200"),
        ("2026-11-09T00:00:00Z", "174.40", "176.25", "2100"),
    ]

    gaps = api.get(f"/v1/marketdata/gaps?interval=1d&{RANGE}", headers=token).json()
    assert gaps["items"] == [
        {"start": "2026-11-05T00:00:00.000Z", "end": "2026-11-06T00:00:00.000Z"}
    ]
    listed = local_cloud.redfire(
        "data",
        "gaps",
        "--symbol",
        "GOOG",
        "--interval",
        "1d",
        "--start",
        "2026-11-02",
        "--end",
        "2026-11-11",
    )
    assert listed.returncode == 0 and "2026-11-05T00:00:00+00:00" in listed.stdout


def test_a_pushed_bar_fills_a_resting_limit_order(
    api: httpx.Client, local_cloud: LocalCloudProcess
) -> None:
    token = bearer(local_cloud.token)
    quote = api.get("/v1/quotes/latest?symbols=GOOG", headers=token).json()["items"][0]
    limit = (Decimal(quote["price"]) * Decimal("0.9")).quantize(Decimal("0.01"))
    created = api.post(
        "/v1/orders",
        json={
            "symbol": "GOOG",
            "side": "buy",
            "type": "limit",
            "quantity": "1",
            "limit_price": str(limit),
            "time_in_force": "gtc",
        },
        headers=token,
    )
    assert created.status_code == 201, created.text
    assert (
        wait_for_status(api, local_cloud.token, created.json()["id"], "accepted")["status"]
        == "accepted"
    )

    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    low = limit - Decimal("1")
    pushed = api.post(
        "/v1/marketdata/bars",
        json={
            "symbol": "GOOG",
            "interval": "1m",
            "bars": [
                {
                    "timestamp": start.isoformat().replace("+00:00", "Z"),
                    "open": str(limit + 1),
                    "high": str(limit + 2),
                    "low": str(low),
                    "close": str(limit),
                    "volume": "500",
                }
            ],
        },
        headers=bearer(operator_token(local_cloud)),
    )
    assert pushed.status_code == 202, pushed.text
    report_url = f"/v1/marketdata/ingests/{pushed.json()['id']}"
    deadline = time.monotonic() + 15
    report = {}
    while time.monotonic() < deadline:
        report = api.get(report_url, headers=bearer(operator_token(local_cloud))).json()
        if report.get("status") == "completed":
            break
        time.sleep(0.3)
    assert report.get("written") == 1, report

    order = wait_for_status(api, local_cloud.token, created.json()["id"], "filled")
    assert order["status"] == "filled", order

"""A live strategy on the local cloud over real HTTP: start sma_cross with small windows on
a demo symbol, push bars that make it cross, see its order go through risk and fill,
then stop it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.harness import LocalCloudProcess, bearer

pytestmark = pytest.mark.slow
ACCOUNT = "strategy-e2e"
WAIT_SECONDS = 30


def token(local_cloud: LocalCloudProcess, *args: str) -> str:
    result = local_cloud.redfire("token", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def strategy_order(api: httpx.Client, trader: str, wanted: set[str]) -> dict[str, Any]:
    """The instance's order once its status is in ``wanted`` (or as it is at the deadline)."""
    deadline = time.monotonic() + WAIT_SECONDS
    order: dict[str, Any] = {}
    while time.monotonic() < deadline:
        items = api.get("/v1/orders", headers=bearer(trader)).json()["items"]
        mine = [o for o in items if (o.get("client_order_id") or "").startswith("si-")]
        if mine:
            order = mine[0]
            if order["status"] in wanted:
                return order
        time.sleep(0.3)
    return order


def test_a_live_sma_cross_places_an_order_through_risk_and_stops(
    api: httpx.Client, local_cloud: LocalCloudProcess
) -> None:
    trader = token(local_cloud, "--account", ACCOUNT, "--role", "trader")
    operator = token(local_cloud, "--role", "operator")
    assert api.get("/v1/account", headers=bearer(trader)).status_code == 200  # opens it
    quote = api.get("/v1/quotes/latest?symbols=GOOG", headers=bearer(trader)).json()["items"][0]
    price = Decimal(quote["price"])
    started = api.post(
        "/v1/strategies/instances",
        json={
            "strategy": "sma_cross",
            "params": {"fast": 1, "slow": 2},
            "symbol": "GOOG",
            "interval": "1m",
        },
        headers=bearer(trader),
    )
    assert started.status_code == 201, started.text
    instance = started.json()

    # Level, dip, recover: the close crosses above its 2-bar average on the last bar.
    first = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    closes = [price, price * Decimal("0.97"), price]
    bars = [
        {
            "timestamp": (first + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            "open": str(close.quantize(Decimal("0.01"))),
            "high": str((close * Decimal("1.001")).quantize(Decimal("0.01"))),
            "low": str((close * Decimal("0.999")).quantize(Decimal("0.01"))),
            "close": str(close.quantize(Decimal("0.01"))),
            "volume": "1000",
        }
        for i, close in enumerate(closes)
    ]
    pushed = api.post(
        "/v1/marketdata/bars",
        json={"symbol": "GOOG", "interval": "1m", "bars": bars},
        headers=bearer(operator),
    )
    assert pushed.status_code == 202, pushed.text

    order = strategy_order(api, trader, {"filled", "denied", "rejected"})
    assert order.get("status") == "filled", order  # accepted by risk, then filled
    assert (order["side"], order["type"]) == ("buy", "market")
    assert order["client_order_id"].startswith(f"si-{instance['id']}-")

    stopped = api.post(f"/v1/strategies/instances/{instance['id']}/stop", headers=bearer(trader))
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    listed = api.get("/v1/strategies/instances", headers=bearer(trader)).json()["items"]
    assert [(i["id"], i["status"]) for i in listed] == [(instance["id"], "stopped")]

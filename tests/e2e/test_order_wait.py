"""``Prefer: wait=2`` on the local cloud over real HTTP: the pre-trade decision arrives in
the answer to ``POST /v1/orders`` (the relay, the bus and risk run in between)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.harness import LocalCloudProcess, bearer

pytestmark = pytest.mark.slow
ACCOUNT = "wait-e2e"


@pytest.fixture(scope="module")
def trader(local_cloud: LocalCloudProcess) -> dict[str, str]:
    result = local_cloud.redfire("token", "--account", ACCOUNT, "--role", "trader")
    assert result.returncode == 0, result.stderr
    return {**bearer(result.stdout.strip()), "Prefer": "wait=2"}


def test_a_denied_order_is_answered_denied_with_its_code(
    api: httpx.Client, trader: dict[str, str]
) -> None:
    # A limit buy a thousand times the market: the price band denies it.
    order = {"symbol": "GOOG", "side": "buy", "type": "limit", "quantity": "1"}
    response = api.post("/v1/orders", json={**order, "limit_price": "100000.00"}, headers=trader)
    assert response.status_code == 201, response.text
    assert response.headers["preference-applied"] == "wait=2"
    assert response.json()["status"] == "denied"
    assert response.json()["reject_reason"]["code"] == "RISK_PRICE_BAND"


def test_an_accepted_market_order_is_answered_accepted_or_filled(
    api: httpx.Client, trader: dict[str, str]
) -> None:
    order = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"}
    response = api.post("/v1/orders", json=order, headers=trader)
    assert response.status_code == 201, response.text
    assert response.headers["preference-applied"] == "wait=2"
    assert response.json()["status"] in ("accepted", "filled")

"""The risk engine on the local cloud over real HTTP: set a limit, break it, see the
denial with its numbers; the kill switch halts and cancels; the dry run."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.harness import LocalCloudProcess, bearer, wait_for_status

pytestmark = pytest.mark.slow
ACCOUNT = "risk-e2e"


@pytest.fixture(scope="module")
def tokens(local_cloud: LocalCloudProcess) -> dict[str, str]:
    """Admin and trader tokens of an account of its own, so halts touch no other test."""
    found = {}
    for role in ("admin", "trader"):
        result = local_cloud.redfire("token", "--account", ACCOUNT, "--role", role)
        assert result.returncode == 0, result.stderr
        found[role] = result.stdout.strip()
    return found


def placed(api: httpx.Client, token: str, **body: str) -> dict[str, Any]:
    order = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1", **body}
    response = api.post("/v1/orders", json=order, headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def settled(api: httpx.Client, token: str, order_id: str, status: str) -> dict[str, Any]:
    order = wait_for_status(api, token, order_id, status)
    assert order["status"] == status, order
    return order


@pytest.mark.parametrize(
    ("limit", "order", "expected"),
    [
        ({"max_order_qty": "5"}, {"quantity": "6"}, ("RISK_MAX_ORDER_QTY", "5", "6")),
        ({"max_daily_orders": "0"}, {}, ("RISK_DAILY_ORDER_LIMIT", "0", "1")),
        ({"max_active_orders": "0"}, {}, ("RISK_MAX_ACTIVE_ORDERS", "0", "1")),
    ],
)
def test_a_limit_set_over_http_denies_the_order_that_breaks_it(
    api: httpx.Client,
    tokens: dict[str, str],
    limit: dict[str, str],
    order: dict[str, str],
    expected: tuple[str, str, str],
) -> None:
    # Given the account's admin sets a limit
    changed = api.put("/v1/risk/limits", json={"account": limit}, headers=bearer(tokens["admin"]))
    assert changed.status_code == 200, changed.text
    try:
        # When the trader breaks it
        created = placed(api, tokens["trader"], **order)

        # Then the order is denied with the code and its numbers
        denied = settled(api, tokens["trader"], created["id"], "denied")
        reasons = [(r["code"], r["limit"], r["actual"]) for r in denied["reject_reasons"]]
        assert expected in reasons and denied["reject_reason"]["code"] == reasons[0][0]
    finally:
        removed = {key: None for key in limit}
        api.put("/v1/risk/limits", json={"account": removed}, headers=bearer(tokens["admin"]))


def test_a_fat_finger_limit_is_denied_by_the_price_band_and_the_dry_run_says_why(
    api: httpx.Client, tokens: dict[str, str]
) -> None:
    # Given a limit buy a thousand times the market, checked first by a dry run
    fat = {"type": "limit", "limit_price": "100000.00"}
    check = api.post(
        "/v1/risk/check",
        json={"symbol": "GOOG", "side": "buy", "quantity": "1", **fat},
        headers=bearer(tokens["trader"]),
    )
    assert check.status_code == 200, check.text
    assert check.json()["passed"] is False
    assert check.json()["reject_reason"]["code"] == "RISK_PRICE_BAND"

    # When it is placed anyway, then risk denies it with the band as the limit
    created = placed(api, tokens["trader"], **fat)
    denied = settled(api, tokens["trader"], created["id"], "denied")
    assert denied["reject_reason"]["code"] == "RISK_PRICE_BAND"
    assert denied["reject_reason"]["limit"] == "5"


def test_the_kill_switch_halts_and_cancels_open_orders(
    api: httpx.Client, tokens: dict[str, str]
) -> None:
    admin, trader = bearer(tokens["admin"]), bearer(tokens["trader"])
    # Given a passive limit buy resting on the book
    resting = placed(api, tokens["trader"], type="limit", limit_price="1.00", time_in_force="gtc")
    settled(api, tokens["trader"], resting["id"], "accepted")
    try:
        # When the admin halts the account
        halted = api.put("/v1/risk/state", json={"state": "halted", "reason": "e2e"}, headers=admin)
        assert halted.status_code == 200, halted.text

        # Then the resting order is cancelled and a new one is denied
        settled(api, tokens["trader"], resting["id"], "canceled")
        refused = placed(api, tokens["trader"])
        denied = settled(api, tokens["trader"], refused["id"], "denied")
        assert denied["reject_reason"] == {
            "code": "RISK_TRADING_HALTED",
            "message": "trading is halted",
            "limit": "active",
            "actual": "halted",
        }
        assert api.get("/v1/risk/state", headers=trader).json()["state"] == "halted"
    finally:
        api.put("/v1/risk/state", json={"state": "active", "reason": "e2e done"}, headers=admin)
    time.sleep(0.1)
    assert api.get("/v1/risk/state", headers=trader).json()["state"] == "active"

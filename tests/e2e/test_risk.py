"""The risk engine on the local cloud over real HTTP: set a limit, break it, see the
denial with its numbers; the kill switch halts and cancels; the dry run."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.harness import LocalCloudProcess, bearer, mint_tokens, wait_for_status

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


# --- every other denial code, each on an account of its own ----------------------------

CASH_ACCOUNT = "risk-cash"  # opened without margin: the one that cannot sell short
FRESH_ACCOUNTS = (
    "risk-notional",
    "risk-position",
    "risk-gross",
    "risk-rate-second",
    "risk-rate-minute",
    "risk-stale",
    "risk-reducing",
    "risk-buying-power",
    "risk-duplicate",
    "risk-self-trade",
    "risk-cancels",
    "risk-trades",
    CASH_ACCOUNT,
)
PASSIVE_BUY = {"type": "limit", "limit_price": "1.00", "time_in_force": "gtc"}
COUNTED_TIMEOUT_SECONDS = 10


@pytest.fixture(scope="module")
def admins(local_cloud: LocalCloudProcess) -> dict[str, str]:
    """An admin token (admins may trade) per fresh account, minted in one process."""
    opened = local_cloud.redfire("admin", "create-account", CASH_ACCOUNT, "--cash-account")
    assert opened.returncode == 0, opened.stderr
    return mint_tokens(local_cloud.workdir, FRESH_ACCOUNTS)


def set_limits(api: httpx.Client, token: str, limits: dict[str, str]) -> None:
    changed = api.put("/v1/risk/limits", json={"account": limits}, headers=bearer(token))
    assert changed.status_code == 200, changed.text


def denial_of(order: dict[str, Any], code: str) -> dict[str, Any]:
    """The order's reason with ``code``, checked to be the headline too."""
    assert order["reject_reason"]["code"] == code, order
    found = [r for r in order["reject_reasons"] if r["code"] == code]
    assert found and found[0] == order["reject_reason"], order
    return found[0]  # type: ignore[no-any-return]


def counted(api: httpx.Client, token: str, code: str, actual: str) -> None:
    """Wait until the risk function has counted an event (the dry run shows the count)."""
    deadline = time.monotonic() + COUNTED_TIMEOUT_SECONDS
    body = {"symbol": "GOOG", "side": "buy", "quantity": "1", **PASSIVE_BUY}
    while True:
        check = api.post("/v1/risk/check", json=body, headers=bearer(token)).json()
        rule = next(r for r in check["rules"] if r["code"] == code)
        if rule["actual"] == actual:
            return
        assert time.monotonic() < deadline, rule
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("account", "limits", "order", "expected"),
    [
        (
            "risk-notional",
            {"max_order_notional": "5"},
            {"quantity": "10", **PASSIVE_BUY},
            ("RISK_MAX_NOTIONAL", "5", "10.00"),
        ),
        (
            "risk-position",
            {"max_position_qty": "5"},
            {"quantity": "6", **PASSIVE_BUY},
            ("RISK_MAX_POSITION", "5", "6"),
        ),
        (
            "risk-rate-second",
            {"max_orders_per_second": "0"},
            {},
            ("RISK_ORDER_RATE", "0", "1"),
        ),
        (
            "risk-rate-minute",
            {"max_orders_per_minute": "0"},
            {},
            ("RISK_ORDER_RATE", "0", "1"),
        ),
        # The buying power of a fresh 100,000 USD account, against 150,000 held for the buy.
        (
            "risk-buying-power",
            {},
            {"quantity": "150000", **PASSIVE_BUY},
            ("RISK_BUYING_POWER", "100000", "150000.00"),
        ),
        # A cash account that holds nothing sells one.
        (CASH_ACCOUNT, {}, {"side": "sell"}, ("RISK_SHORT_NOT_ALLOWED", "0", "1")),
    ],
)
def test_each_limit_denies_the_order_that_breaks_it_with_its_numbers(
    api: httpx.Client,
    admins: dict[str, str],
    account: str,
    limits: dict[str, str],
    order: dict[str, str],
    expected: tuple[str, str, str],
) -> None:
    token = admins[account]
    # Given the account's admin set the limit
    if limits:
        set_limits(api, token, limits)

    # When an order breaks it
    created = placed(api, token, **order)

    # Then it is denied, the broken limit heading the reasons, with its numbers
    denied = settled(api, token, created["id"], "denied")
    reason = denial_of(denied, expected[0])
    assert (reason["code"], reason["limit"], reason["actual"]) == expected


def test_gross_exposure_above_the_limit_is_denied_at_the_market_price(
    api: httpx.Client, admins: dict[str, str]
) -> None:
    token = admins["risk-gross"]
    set_limits(api, token, {"max_gross_exposure": "1"})

    created = placed(api, token, **PASSIVE_BUY)

    # One share is valued at the latest price (GOOG trades near 175), not its limit
    reason = denial_of(settled(api, token, created["id"], "denied"), "RISK_MAX_GROSS_EXPOSURE")
    assert reason["limit"] == "1" and Decimal(reason["actual"]) > 1, reason


def test_a_market_order_without_a_fresh_enough_price_is_denied(
    api: httpx.Client, admins: dict[str, str]
) -> None:
    token = admins["risk-stale"]
    set_limits(api, token, {"max_price_age_seconds": "0"})  # every price is too old

    # AAPL: other e2e tests push GOOG bars dated ahead of the clock, whose price is "fresh".
    created = placed(api, token, symbol="AAPL")

    reason = denial_of(settled(api, token, created["id"], "denied"), "RISK_STALE_PRICE")
    assert reason["limit"] == "0" and int(reason["actual"]) >= 0, reason


def test_a_reducing_account_may_not_open_a_position(
    api: httpx.Client, admins: dict[str, str]
) -> None:
    token = admins["risk-reducing"]
    state = {"state": "reducing", "reason": "e2e"}
    assert api.put("/v1/risk/state", json=state, headers=bearer(token)).status_code == 200

    created = placed(api, token)

    reason = denial_of(settled(api, token, created["id"], "denied"), "RISK_REDUCE_ONLY")
    assert (reason["limit"], reason["actual"]) == ("0", "1")


def test_the_same_order_twice_within_the_window_is_denied_as_a_duplicate(
    api: httpx.Client, admins: dict[str, str]
) -> None:
    token = admins["risk-duplicate"]
    set_limits(api, token, {"duplicate_window_seconds": "60"})
    first = placed(api, token, **PASSIVE_BUY)
    settled(api, token, first["id"], "accepted")

    twin = placed(api, token, **PASSIVE_BUY)

    reason = denial_of(settled(api, token, twin["id"], "denied"), "RISK_DUPLICATE_ORDER")
    assert (reason["limit"], reason["actual"]) == ("60", first["id"])


def test_an_order_that_would_trade_with_the_accounts_own_resting_order_is_denied(
    api: httpx.Client, admins: dict[str, str]
) -> None:
    token = admins["risk-self-trade"]
    resting = placed(api, token, **PASSIVE_BUY)
    settled(api, token, resting["id"], "accepted")

    crossing = placed(api, token, side="sell")  # a market sell would hit the resting buy

    reason = denial_of(settled(api, token, crossing["id"], "denied"), "RISK_SELF_TRADE")
    assert (reason["limit"], reason["actual"]) == (None, resting["id"])


def test_cancels_counted_today_deny_the_next_order_at_the_cancel_limit(
    api: httpx.Client, admins: dict[str, str]
) -> None:
    token = admins["risk-cancels"]
    # Given an order cancelled today, counted by the risk function
    resting = placed(api, token, **PASSIVE_BUY)
    settled(api, token, resting["id"], "accepted")
    assert api.delete(f"/v1/orders/{resting['id']}", headers=bearer(token)).status_code == 202
    settled(api, token, resting["id"], "canceled")
    counted(api, token, "RISK_DAILY_CANCEL_LIMIT", "1")
    # and a limit of one cancel a day
    set_limits(api, token, {"max_daily_cancels": "1"})

    created = placed(api, token, **PASSIVE_BUY)

    reason = denial_of(settled(api, token, created["id"], "denied"), "RISK_DAILY_CANCEL_LIMIT")
    assert (reason["limit"], reason["actual"]) == ("1", "1")


def test_fills_counted_today_deny_the_next_order_at_the_trade_limit(
    api: httpx.Client, admins: dict[str, str]
) -> None:
    token = admins["risk-trades"]
    # Given a market buy filled today, counted by the risk function
    bought = placed(api, token)
    settled(api, token, bought["id"], "filled")
    counted(api, token, "RISK_DAILY_TRADE_LIMIT", "1")
    # and a limit of one trade a day
    set_limits(api, token, {"max_daily_trades": "1"})

    created = placed(api, token, **PASSIVE_BUY)

    reason = denial_of(settled(api, token, created["id"], "denied"), "RISK_DAILY_TRADE_LIMIT")
    assert (reason["limit"], reason["actual"]) == ("1", "1")

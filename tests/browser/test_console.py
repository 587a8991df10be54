"""The web console as an operator uses it: sign in, trade, watch fills arrive live, change a
limit, run a backtest, lose the connection and miss nothing."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import console_url
from tests.e2e.harness import LocalCloudProcess, bearer, mint_tokens

pytestmark = pytest.mark.slow


def create_account(cloud: LocalCloudProcess, account: str) -> tuple[str, str]:
    """A new account with an admin API key: (key_id, secret)."""
    created = cloud.redfire("admin", "create-account", account, "--cash", "50000")
    assert created.returncode == 0, created.stdout + created.stderr
    fields = dict(re.findall(r"^(key_id|secret):\s+(\S+)", created.stdout, re.MULTILINE))
    return fields["key_id"], fields["secret"]


def sign_in_with_key(page: Page, cloud: LocalCloudProcess, key_id: str, secret: str) -> None:
    page.goto(console_url(cloud))
    page.fill("#sign-in-key [name=key_id]", key_id)
    page.fill("#sign-in-key [name=secret]", secret)
    page.click("#sign-in-key button[type=submit]")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "open")


def sign_in_with_token(page: Page, cloud: LocalCloudProcess, token: str) -> None:
    page.goto(console_url(cloud))
    page.fill("#sign-in-token [name=token]", token)
    page.click("#sign-in-token button[type=submit]")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "open")


def place(page: Page, quantity: str, *, refused: bool = False, **fields: str) -> str:
    """Fill the order form and submit; the id of the row that appears for the new order."""
    expect(page.locator("#orders table")).to_be_attached()
    form = page.locator("#place-order")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if name in ("symbol", "side", "type", "time_in_force"):
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("[name=quantity]").fill(quantity)
    before = row_keys(page)
    form.locator("button[type=submit]").click()
    if refused:
        return ""
    page.wait_for_function(
        "n => document.querySelectorAll('#orders tbody tr').length > n", arg=len(before)
    )
    (new,) = set(row_keys(page)) - set(before)
    return new


def row_keys(page: Page) -> list[str]:
    keys: list[str] = page.eval_on_selector_all(
        "#orders tbody tr", "rows => rows.map(r => r.dataset.key)"
    )
    return keys


def order_row(page: Page, order_id: str) -> Any:
    return page.locator(f'#orders tr[data-key="{order_id}"]')


def test_an_api_key_signs_in_and_the_account_page_shows_the_cash(
    page: Page, local_cloud: LocalCloudProcess
) -> None:
    key_id, secret = create_account(local_cloud, "browser-signin")

    sign_in_with_key(page, local_cloud, key_id, secret)
    page.click("nav >> text=Account")

    expect(page.locator('#account-summary dd[data-field="Cash"]')).to_have_text("50000")
    expect(page.locator("nav .who")).to_have_text("browser-signin · admin")


def test_a_wrong_secret_is_refused_on_the_sign_in_form(
    page: Page, local_cloud: LocalCloudProcess
) -> None:
    key_id, _ = create_account(local_cloud, "browser-badkey")

    page.goto(console_url(local_cloud))
    page.fill("#sign-in-key [name=key_id]", key_id)
    page.fill("#sign-in-key [name=secret]", "not-the-secret")
    page.click("#sign-in-key button[type=submit]")

    expect(page.locator("#sign-in-key .form-error")).to_contain_text("401")
    expect(page.locator("#place-order")).to_have_count(0)


def test_a_market_order_fills_live_on_the_orders_page(
    page: Page, local_cloud: LocalCloudProcess
) -> None:
    sign_in_with_token(page, local_cloud, local_cloud.token)
    page.evaluate("window.__notReloaded = true")

    order_id = place(page, "3", symbol="GOOG", type="market")

    expect(order_row(page, order_id).locator('td[data-col="status"]')).to_have_text("filled")
    assert page.evaluate("window.__notReloaded") is True  # the stream moved it, no reload
    expect(page.locator('#positions tr[data-key="GOOG"]')).to_be_visible()


def test_a_problem_is_shown_at_the_field_it_names(
    page: Page, local_cloud: LocalCloudProcess
) -> None:
    sign_in_with_token(page, local_cloud, local_cloud.token)

    place(page, "-1", symbol="GOOG", type="market", refused=True)

    expect(page.locator('#place-order .field-error[data-field="quantity"]')).to_be_visible()
    expect(page.locator("#place-order .form-error")).to_contain_text("422 ORDER_INVALID")


def test_an_open_order_is_canceled_from_its_row(
    page: Page, local_cloud: LocalCloudProcess, api: httpx.Client
) -> None:
    sign_in_with_token(page, local_cloud, local_cloud.token)
    quote = api.get("/v1/quotes/latest?symbols=GOOG", headers=bearer(local_cloud.token))
    below = f"{float(quote.json()['items'][0]['price']) * 0.97:.2f}"  # rests, inside the band

    order_id = place(page, "1", symbol="GOOG", type="limit", limit_price=below)
    status = order_row(page, order_id).locator('td[data-col="status"]')
    expect(status).to_have_text("accepted")
    order_row(page, order_id).locator("button.cancel").click()

    expect(status).to_have_text("canceled")


def test_an_admin_lowers_a_limit_and_a_trader_is_refused_by_it(
    browser: Any, page: Page, local_cloud: LocalCloudProcess
) -> None:
    key_id, secret = create_account(local_cloud, "browser-risk")
    sign_in_with_key(page, local_cloud, key_id, secret)
    page.click("nav >> text=Risk")
    page.fill("#limits [name=max_order_qty]", "5")
    page.click("#limits button[type=submit]")
    expect(page.locator("#limits .form-ok")).to_be_visible()
    expect(page.locator('#limits tr:has(th:text-is("max_order_qty")) td[data-col=effective]')
           ).to_have_text("5")  # fmt: skip

    trader_token = mint_tokens(local_cloud.workdir, ["browser-risk"], role="trader")
    trader = browser.new_page()
    try:
        sign_in_with_token(trader, local_cloud, trader_token["browser-risk"])
        order_id = place(trader, "10", symbol="GOOG", type="market")
        row = order_row(trader, order_id)
        expect(row.locator('td[data-col="status"]')).to_have_text("denied")
        expect(row.locator('td[data-col="reason"]')).to_have_text("RISK_MAX_ORDER_QTY")
        trader.click("nav >> text=Risk")
        expect(trader.locator("#limits button[type=submit]")).to_be_disabled()
    finally:
        trader.close()


def recent_minutes(local_cloud: LocalCloudProcess, symbol: str, hours: int) -> None:
    """Backfill the last ``hours`` of 1-minute bars from the synthetic provider, so a
    backtest over the console's default range (yesterday to tomorrow) has data whatever
    the day: the demo feed's gap check follows GOOG's weekday calendar, so on a Sunday the
    local cloud would hold only the bars the feed wrote since it started."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    done = local_cloud.redfire(
        "data", "backfill", "--provider", "synthetic", "--symbol", symbol,
        "--interval", "1m", "--start", (end - timedelta(hours=hours)).isoformat(),
        "--end", end.isoformat(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_backtest_runs_and_its_chart_is_drawn(page: Page, local_cloud: LocalCloudProcess) -> None:
    recent_minutes(local_cloud, "GOOG", hours=3)
    sign_in_with_token(page, local_cloud, local_cloud.token)
    page.click("nav >> text=Backtests")
    page.fill("#run-backtest [name=params]", '{"fast": 3, "slow": 8}')

    page.click("#run-backtest button[type=submit]")

    expect(page.locator('#backtest-detail [data-field="status"]')).to_have_text(
        "completed", timeout=90_000
    )
    chart = page.locator("#backtest-chart .chart-equity canvas").first
    expect(chart).to_be_visible()
    expect(page.locator("#backtest-chart .chart-drawdown canvas").first).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200


def test_after_a_reconnect_no_order_event_is_missed(
    page: Page, local_cloud: LocalCloudProcess, api: httpx.Client
) -> None:
    sign_in_with_token(page, local_cloud, local_cloud.token)
    first = place(page, "1", symbol="AAPL", type="market")
    expect(order_row(page, first).locator('td[data-col="status"]')).to_have_text("filled")

    # The connection drops; two orders fill while the console is away.
    page.click("#live-toggle")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "closed")
    away = []
    for _ in range(2):
        order = api.post("/v1/orders", headers=bearer(local_cloud.token), json={
            "symbol": "AAPL", "side": "buy", "type": "market", "quantity": "1",
            "time_in_force": "day"})  # fmt: skip
        away.append(order.json()["id"])
    deadline = time.monotonic() + 30
    while any(
        api.get(f"/v1/orders/{i}", headers=bearer(local_cloud.token)).json()["status"] != "filled"
        for i in away
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert all(order_row(page, i).count() == 0 for i in away)  # nothing arrived while away

    page.click("#live-toggle")  # reconnect: subscribe with resume from the last seq seen

    for order_id in away:
        expect(order_row(page, order_id).locator('td[data-col="status"]')).to_have_text("filled")
    live = page.evaluate(
        "({gaps: redfire.live.gaps, expired: redfire.live.expired,"
        " connects: redfire.live.connects})"
    )
    assert live == {"gaps": 0, "expired": 0, "connects": 2}

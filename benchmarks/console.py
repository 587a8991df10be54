"""The web console on the local cloud: first load, bundle size, fill-to-orders-page latency.

Headless Chromium (Debian's package, as the browser tests use it) against `redfire dev`.
"""

from __future__ import annotations

import gzip
import shutil
import statistics
import sys
import time
from typing import Any

from benchmarks.common import REPO_ROOT, Result, Table, ms, percentile
from redfire_cli.localcloud import dev_env

DIST = REPO_ROOT / "console" / "dist"
LOADS = 10
ORDERS = 20
FIRST_LOAD_GOAL_SECONDS = 1.0
BUNDLE_GOAL_BYTES = 300 * 1024
FILL_GOAL_SECONDS = 0.5
CHROMIUM_ARGS = ["--disable-background-networking", "--no-sandbox"]


def bundle_gzipped() -> tuple[int, int]:
    """Raw and gzipped bytes of the JavaScript a first load fetches (every built chunk)."""
    files = sorted((DIST / "assets").glob("*.js"))
    raw = sum(f.stat().st_size for f in files)
    packed = sum(len(gzip.compress(f.read_bytes(), compresslevel=9)) for f in files)
    return raw, packed


def first_loads(browser: Any, url: str, token: str) -> tuple[list[float], list[float]]:
    """Cold loads (a new context each: empty cache): the sign-in page until shown, and the
    orders page with its data after the token is pasted."""
    sign_in, orders = [], []
    for _ in range(LOADS):
        context = browser.new_context()
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("#sign-in-token")
        sign_in.append(time.perf_counter() - started)
        page.fill("#sign-in-token [name=token]", token)
        started = time.perf_counter()
        page.click("#sign-in-token button[type=submit]")
        page.wait_for_selector("#orders table")
        orders.append(time.perf_counter() - started)
        context.close()
    return sign_in, orders


def fill_latencies(browser: Any, url: str, token: str, api: Any) -> tuple[list[float], list[float]]:
    """Market orders placed over the API one after another; per order, the time from its
    OrderFilled event (occurred_at) to its row showing `filled` on the orders page, and the
    console's own share: from the WebSocket message's arrival to the row drawn."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    page.fill("#sign-in-token [name=token]", token)
    page.click("#sign-in-token button[type=submit]")
    page.wait_for_selector('#live-status[data-state="open"]', timeout=30_000)
    page.wait_for_selector("#orders table")
    latencies, drawing = [], []
    for _ in range(ORDERS):
        order = api.post("/v1/orders", json={"symbol": "GOOG", "side": "buy", "type": "market",
                                              "quantity": "1", "time_in_force": "day"})  # fmt: skip
        order.raise_for_status()
        key = f"{order.json()['id']}:filled"
        page.wait_for_function(f"redfire.seen['{key}'] && redfire.events['{key}']", timeout=30_000)
        shown, occurred, arrived = page.evaluate(
            f"[redfire.seen['{key}'], redfire.events['{key}'], redfire.received['{key}']]"
        )
        latencies.append(max(0.0, (shown - occurred) / 1000))
        drawing.append(max(0.0, (shown - arrived) / 1000))
    context.close()
    return latencies, drawing


def skipped(reason: str) -> Result:
    """This benchmark's own skip (under its own title, not the local cloud's)."""
    return Result(
        name="console",
        title="Web console on the local cloud",
        status="skipped",
        summary=f"skipped: {reason}",
        target="see the module's docstring",
        reference="-",
        notes=[f"Skipped: {reason}"],
    )


def run() -> Result:
    import httpx
    from playwright.sync_api import sync_playwright

    from benchmarks.local_cloud import LocalCloudProcess

    if not (DIST / "index.html").is_file():
        return skipped("the console is not built (make console)")
    chromium = shutil.which("chromium")
    if not chromium:
        return skipped("chromium is missing (apt-get install -y chromium)")
    raw, packed = bundle_gzipped()
    cloud = LocalCloudProcess()
    client = cloud.start()
    try:
        settings = dev_env.read(dev_env.dev_env_path(cloud.workdir))
        url, token = settings["REDFIRE_CONSOLE_URL"], settings["REDFIRE_TOKEN"]
        with (
            sync_playwright() as driver,
            httpx.Client(
                base_url=client.api_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
            ) as api,
        ):
            browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            print("first loads", file=sys.stderr, flush=True)
            sign_in, orders_page = first_loads(browser, url, token)
            print("fills", file=sys.stderr, flush=True)
            fills, drawing = fill_latencies(browser, url, token, api)
            browser.close()
    finally:
        cloud.stop()
    load_p50 = statistics.median(sign_in)
    orders_p50 = statistics.median(orders_page)
    fill_p95 = percentile(fills, 95)
    checks = {
        "first load": load_p50 <= FIRST_LOAD_GOAL_SECONDS,
        "bundle": packed <= BUNDLE_GOAL_BYTES,
        "fill": fill_p95 <= FILL_GOAL_SECONDS,
    }
    rows = [
        ["first load (sign-in page)", ms(load_p50), ms(percentile(sign_in, 95)),
         ms(max(sign_in)), "p50 <= 1000 ms", _yes(checks["first load"])],
        ["orders page after sign-in", ms(orders_p50), ms(percentile(orders_page, 95)),
         ms(max(orders_page)), "", ""],
        ["fill to orders page", ms(percentile(fills, 50)), ms(fill_p95), ms(max(fills)),
         "p95 <= 500 ms", _yes(checks["fill"])],
        ["  of which message received to row drawn", ms(percentile(drawing, 50)),
         ms(percentile(drawing, 95)), ms(max(drawing)), "", ""],
        ["bundle (JS, gzipped)", f"{packed / 1024:.1f} KB", "", f"raw {raw / 1024:.1f} KB",
         "<= 300 KB", _yes(checks["bundle"])],
    ]  # fmt: skip
    return Result(
        name="console",
        title="Web console on the local cloud",
        status="met" if all(checks.values()) else "missed",
        summary=(
            f"first load p50 {ms(load_p50)} ms (orders page {ms(orders_p50)} ms); bundle "
            f"{packed / 1024:.1f} KB gzipped; fill to orders page p95 {ms(fill_p95)} ms"
        ),
        target="first load p50 <= 1 s; JavaScript <= 300 KB gzipped; fill shown p95 <= 500 ms",
        reference="the issue's goals (issue 19)",
        method=[
            "`redfire dev --reset` on free ports; headless Debian chromium "
            "(`--disable-background-networking`) driven by Playwright for Python.",
            f"First load: {LOADS} cold loads (a new browser context each, empty cache) of "
            "REDFIRE_CONSOLE_URL until the sign-in form shows; then, after pasting the dev "
            "token, until the orders page has drawn its table (REST data, WebSocket opening).",
            "Bundle: every JavaScript chunk in console/dist/assets, gzip level 9.",
            f"Fill: {ORDERS} market orders placed over the API one after another while the "
            "orders page is open; per order, the OrderFilled message's `occurred_at` to the "
            "moment the page drew the row as `filled` (Date.now(), same machine clock).",
        ],
        tables=[Table("Figures", ["figure", "p50", "p95", "max", "goal", "met"], rows)],
    )


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

"""Submit-to-filled latency of a market order routed to a venue (a fake Alpaca venue on
127.0.0.1) against the same account's paper fills, in one run on ``redfire dev``.

The venue path adds hops the paper path does not have: the decision's stream record sends
the order to the ``venue-alpaca`` queue, the venue function submits it over HTTP with
RedFire's id as the client order id and applies the venue's answer through the paper fill
transaction (the fake venue fills a market order as it accepts it, as a liquid market
would, so no poll is needed). Every order's answer is checked: filled, once at the venue.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal

from benchmarks.common import Result, Table, ms, percentile
from benchmarks.local_cloud import Client, LocalCloudProcess, Unavailable
from tests.fakes.alpaca_venue import FakeAlpacaVenue

ORDERS = 20
WARMUP_ORDERS = 3
POLL_SECONDS = 0.050
ORDER_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 90.0  # the first connect imports alpaca-py (pandas) locally
ACCOUNT = "bench-venue"
ORDER = {"symbol": "AAPL", "side": "buy", "type": "market", "quantity": "1"}
VENUE_PRICE = Decimal("190.00")
MINT = (
    "import sys; from pathlib import Path; from redfire_cli.tokens import main; "
    "sys.exit(main(sys.argv[1], 'admin', Path.cwd()))"
)


def admin_client(cloud: LocalCloudProcess, api_url: str) -> Client:
    minted = subprocess.run(
        [sys.executable, "-c", MINT, ACCOUNT],
        cwd=cloud.workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if minted.returncode != 0:
        raise Unavailable(f"no admin token: {minted.stderr.strip()[-300:]}")
    return Client(api_url, minted.stdout.strip())


def filled_latency(client: Client) -> float:
    """Seconds from just before the POST to the GET that shows ``filled``."""
    started = time.perf_counter()
    order_id = str(client.request("POST", "/v1/orders", ORDER)["id"])
    while time.perf_counter() - started < ORDER_TIMEOUT_SECONDS:
        status = client.status(order_id)
        if status == "filled":
            return time.perf_counter() - started
        if status in ("denied", "rejected", "canceled", "expired"):
            raise AssertionError(f"order {order_id} ended {status}")
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"order {order_id} not filled in {ORDER_TIMEOUT_SECONDS:.0f} s")


def series(client: Client) -> list[float]:
    for _ in range(WARMUP_ORDERS):
        filled_latency(client)
    return [filled_latency(client) for _ in range(ORDERS)]


def connect(client: Client, venue: FakeAlpacaVenue) -> float:
    started = time.perf_counter()
    client.request(
        "PUT",
        "/v1/account/gateway",
        {"gateway": "alpaca", "mode": "paper", "key_id": venue.key_id, "secret": venue.secret},
    )
    while time.perf_counter() - started < CONNECT_TIMEOUT_SECONDS:
        state = client.request("GET", "/v1/account/gateway")
        if state.get("status") == "connected":
            return time.perf_counter() - started
        if state.get("status") == "error":
            raise AssertionError(f"gateway in error: {state.get('error')}")
        time.sleep(0.25)
    raise AssertionError("the gateway did not connect")


def run() -> Result:
    venue = FakeAlpacaVenue(prices={"AAPL": VENUE_PRICE}, cash=Decimal("10000000")).start()
    venue.fill_market_orders = True
    cloud = LocalCloudProcess({"REDFIRE_VENUE_BASE_URLS": json.dumps({"alpaca": venue.base_url})})
    try:
        client = admin_client(cloud, cloud.start().api_url)
        paper = series(client)
        connect_seconds = connect(client, venue)
        posts_before = venue.count("POST", "/v2/orders")
        routed = series(client)
        sent = venue.count("POST", "/v2/orders") - posts_before
    except Unavailable as error:
        return Result(
            name="venue_fill",
            title="Fill latency through a fake Alpaca venue on the local cloud",
            status="skipped",
            summary=f"skipped: {error}",
            target="reported beside the paper path",
            reference="the same account's paper fills",
        )
    finally:
        cloud.stop()
        venue.stop()
    assert sent == WARMUP_ORDERS + ORDERS, f"the venue got {sent} orders"  # each sent once

    def row(name: str, values: list[float]) -> list[str]:
        return [
            name,
            str(len(values)),
            ms(percentile(values, 50)),
            ms(percentile(values, 99)),
            ms(max(values)),
        ]

    added = percentile(routed, 50) - percentile(paper, 50)
    return Result(
        name="venue_fill",
        title="Fill latency through a fake Alpaca venue on the local cloud",
        status="info",
        summary=(
            f"venue p50 {ms(percentile(routed, 50))} ms, p99 {ms(percentile(routed, 99))} ms "
            f"vs paper p50 {ms(percentile(paper, 50))} ms on the same account "
            f"(+{ms(added)} ms for the venue hop); every order filled and sent to the venue once"
        ),
        target="no goal in the issue: reported beside the paper path",
        reference="the same account's paper market orders, in the same run",
        method=[
            "`redfire dev --reset` with REDFIRE_VENUE_BASE_URLS pointing the Alpaca gateway at "
            "`tests/fakes/alpaca_venue.py` on 127.0.0.1 (filling market orders as it accepts "
            "them); an admin of a fresh account places "
            f"{json.dumps(ORDER)}: {WARMUP_ORDERS} warm-up and {ORDERS} timed orders on paper, "
            "then routes the account to Alpaca with PUT /v1/account/gateway (connected in "
            f"{connect_seconds:.1f} s, the first venue call loading alpaca-py) and places the "
            "same orders again.",
            f"Latency: just before the POST to the GET (every {POLL_SECONDS * 1000:.0f} ms) "
            "that shows `filled`. Each order must end filled; the venue must have received "
            "each venue order exactly once.",
        ],
        tables=[
            Table(
                "Submit-to-filled, ms",
                ["path", "orders", "p50", "p99", "max"],
                [row("paper", paper), row("venue (fake Alpaca, filled on submit)", routed)],
            )
        ],
        notes=[
            "An order that does not fill on submit is polled at 1, 2, 5, 10, 20, 30 and 60 s "
            "(docs/venues.md): its fill is seen at most one backoff step after it happens.",
        ],
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

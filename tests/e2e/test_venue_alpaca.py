"""An account of the local cloud routed to a fake Alpaca venue on 127.0.0.1, over HTTP end
to end: the gateway set through the API (credentials checked by a read-only venue call,
the venue's cash becoming the book), a market order decided by RedFire's risk, sent to the
venue by the venue function, filled there, and the fill booked as a paper fill would be.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import LocalCloudProcess, bearer, mint_tokens, start_local_cloud
from tests.fakes.alpaca_venue import FakeAlpacaVenue

VENUE_CASH = Decimal("100000")
VENUE_PRICE = Decimal("190.00")  # the fake venue's AAPL price: where its market orders fill
CONNECT_TIMEOUT_SECONDS = 60  # the first connect loads alpaca-py (pandas) in the local cloud
FILL_TIMEOUT_SECONDS = 30


@pytest.fixture(scope="module")
def venue() -> Iterator[FakeAlpacaVenue]:
    with FakeAlpacaVenue(cash=VENUE_CASH, prices={"AAPL": VENUE_PRICE}) as fake:
        fake.fill_market_orders = True
        yield fake


@pytest.fixture(scope="module")
def cloud(
    venue: FakeAlpacaVenue, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCloudProcess]:
    workdir: Path = tmp_path_factory.mktemp("venue-cloud")
    env = {"REDFIRE_VENUE_BASE_URLS": json.dumps({"alpaca": venue.base_url})}
    local = start_local_cloud(workdir, env=env)
    yield local
    assert local.stop() == 0, local.log()


@pytest.fixture(scope="module")
def api(cloud: LocalCloudProcess) -> Iterator[httpx.Client]:
    """An admin of a fresh account (setting the gateway takes the admin scope)."""
    [token] = mint_tokens(cloud.workdir, ["alpaca-bot"], "admin").values()
    with httpx.Client(base_url=cloud.api_url, timeout=30, headers=bearer(token)) as client:
        yield client


def until(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def connected(api: httpx.Client, venue: FakeAlpacaVenue) -> dict[str, Any]:
    """Route the account to the venue and wait until its gateway is connected."""
    change = {
        "gateway": "alpaca",
        "mode": "paper",
        "key_id": venue.key_id,
        "secret": venue.secret,
    }
    answer = api.put("/v1/account/gateway", json=change)
    assert answer.status_code in (200, 202), answer.text
    state: dict[str, Any] = until(
        lambda: (g := api.get("/v1/account/gateway").json()).get("status") != "connecting" and g,
        CONNECT_TIMEOUT_SECONDS,
    )
    return state


def test_an_account_routed_to_alpaca_trades_at_the_venue_over_http(
    api: httpx.Client, venue: FakeAlpacaVenue
) -> None:
    # Given the demo account routed to the fake Alpaca venue through the API
    gateway = connected(api, venue)
    assert gateway["status"] == "connected", gateway
    assert venue.secret not in json.dumps(gateway)
    # (the venue's cash is the book now, through the audited opening entry)
    account = api.get("/v1/account").json()
    assert Decimal(account["cash"]) == VENUE_CASH

    # When a market buy is placed over RedFire's API
    placed = api.post(
        "/v1/orders",
        json={"symbol": "AAPL", "side": "buy", "type": "market", "quantity": "5"},
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]

    # Then RedFire's risk accepted it, the venue function sent it with RedFire's id as the
    # client order id, the venue filled it, and the fill is booked at the venue's price
    filled: dict[str, Any] = until(
        lambda: (o := api.get(f"/v1/orders/{order_id}").json())["status"] == "filled" and o,
        FILL_TIMEOUT_SECONDS,
    )
    assert filled, api.get(f"/v1/orders/{order_id}").json()
    assert venue.count("POST", "/v2/orders") == 1  # sent once
    at_venue = venue.order(order_id)
    assert at_venue["status"] == "filled" and at_venue["filled_qty"] == "5"
    assert Decimal(filled["average_fill_price"]) == VENUE_PRICE
    position = api.get("/v1/positions/AAPL").json()
    assert Decimal(position["quantity"]) == 5
    cash = Decimal(api.get("/v1/account").json()["cash"])
    assert cash == VENUE_CASH - 5 * VENUE_PRICE

"""The whole system on the local cloud, over real HTTP, as a developer uses it."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.harness import MARKET_BUY, LocalCloudProcess, bearer, wait_for_status

pytestmark = pytest.mark.slow


def test_health_answers_without_a_token(api: httpx.Client) -> None:
    response = api.get("/health")
    assert response.status_code == 200


def test_a_request_without_a_token_gets_401_problem_json(api: httpx.Client) -> None:
    response = api.get("/v1/account")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 401


def test_a_market_buy_fills_within_seconds(
    api: httpx.Client, local_cloud: LocalCloudProcess
) -> None:
    # Given the demo trader's token from dev.env, when it buys 10 GOOG at market
    created = api.post("/v1/orders", json=MARKET_BUY, headers=bearer(local_cloud.token))
    assert created.status_code == 201, created.text

    # Then the order goes through risk, the paper gateway and the outbox to filled
    order = wait_for_status(api, local_cloud.token, created.json()["id"], "filled")
    assert order["status"] == "filled", order
    assert order["filled_quantity"] == "10"


def test_a_viewer_token_can_read_but_not_trade(
    api: httpx.Client, local_cloud: LocalCloudProcess
) -> None:
    # Given a viewer token from `redfire token`
    result = local_cloud.redfire("token", "--role", "viewer")
    assert result.returncode == 0, result.stderr
    viewer = result.stdout.strip()

    # When it reads the account and then tries to trade
    read = api.get("/v1/account", headers=bearer(viewer))
    trade = api.post("/v1/orders", json=MARKET_BUY, headers=bearer(viewer))

    # Then reading works and trading is forbidden
    assert read.status_code == 200 and read.json()["id"] == "demo"
    assert trade.status_code == 403
    assert trade.headers["content-type"].startswith("application/problem+json")


def test_a_token_for_a_new_account_opens_that_account(
    api: httpx.Client, local_cloud: LocalCloudProcess
) -> None:
    # Given a token for an account that does not exist yet
    result = local_cloud.redfire("token", "--account", "alice")
    assert result.returncode == 0, result.stderr

    # When it reads its account, then the account exists with the demo cash
    account = api.get("/v1/account", headers=bearer(result.stdout.strip()))
    assert account.status_code == 200
    assert account.json()["id"] == "alice"

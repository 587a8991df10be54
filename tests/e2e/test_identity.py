"""A new user's way in on the local cloud: an account, a key, a token (as the README says)."""

from __future__ import annotations

import re

import httpx

from tests.e2e.harness import LocalCloudProcess, bearer, wait_for_status


def test_a_new_account_key_and_token_can_trade(
    local_cloud: LocalCloudProcess, api: httpx.Client
) -> None:
    # Given an account and its first key from `redfire admin create-account`
    result = local_cloud.redfire("admin", "create-account", "fund-1", "--cash", "50000")
    assert result.returncode == 0, result.stderr
    key_id = re.search(r"key_id:\s+(\S+)", result.stdout)
    secret = re.search(r"secret:\s+(\S+)", result.stdout)
    assert key_id and secret

    # When the key is exchanged for a token
    answer = api.post("/v1/auth/token", json={"key_id": key_id[1], "secret": secret[1]})
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]

    # Then the token trades in that account, and only there
    account = api.get("/v1/account", headers=bearer(token)).json()
    assert account["id"] == "fund-1" and account["cash"] == "50000"
    order = api.post(
        "/v1/orders",
        headers=bearer(token),
        json={"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"},
    )
    assert order.status_code == 201
    assert wait_for_status(api, token, order.json()["id"], "filled")["filled_quantity"] == "1"
    assert (
        api.get(f"/v1/orders/{order.json()['id']}", headers=bearer(local_cloud.token)).status_code
        == 404
    )

"""Orders survive a restart of the local cloud; ``--reset`` starts from nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import MARKET_BUY, bearer, start_local_cloud, wait_for_status

pytestmark = pytest.mark.slow


def test_an_order_survives_a_restart_and_reset_forgets_it(tmp_path: Path) -> None:
    # Given a filled order on a local cloud that is then stopped
    first = start_local_cloud(tmp_path)
    try:
        with httpx.Client(base_url=first.api_url, timeout=10) as api:
            created = api.post("/v1/orders", json=MARKET_BUY, headers=bearer(first.token))
            assert created.status_code == 201, created.text
            order_id = created.json()["id"]
            assert wait_for_status(api, first.token, order_id, "filled")["status"] == "filled"
    finally:
        assert first.stop() == 0, first.log()

    # When it starts again in the same folder
    second = start_local_cloud(tmp_path)
    try:
        with httpx.Client(base_url=second.api_url, timeout=10) as api:
            kept = api.get(f"/v1/orders/{order_id}", headers=bearer(second.token))
    finally:
        assert second.stop() == 0, second.log()

    # Then the order is still there, filled
    assert kept.status_code == 200 and kept.json()["status"] == "filled"

    # And when it starts with --reset, the order is gone
    third = start_local_cloud(tmp_path, "--reset")
    try:
        with httpx.Client(base_url=third.api_url, timeout=10) as api:
            gone = api.get(f"/v1/orders/{order_id}", headers=bearer(third.token))
    finally:
        assert third.stop() == 0, third.log()
    assert gone.status_code == 404

"""The API's request middleware: plain ASGI, and every answer echoes one correlation id."""

from __future__ import annotations

import json

from starlette.middleware.base import BaseHTTPMiddleware

from redfire_core.adapters.trading_store import TradingStore
from tests.integration.conftest import call_api, token_for


def test_no_request_middleware_is_a_base_http_middleware() -> None:
    from redfire_api.app import create_app

    # BaseHTTPMiddleware runs the rest of the app in a task with streams: ~0.9 ms a request
    classes = [middleware.cls for middleware in create_app().user_middleware]
    assert classes and not [c for c in classes if issubclass(c, BaseHTTPMiddleware)]  # type: ignore[arg-type]


def test_the_callers_correlation_id_is_echoed_on_success_and_refusal(seeded: TradingStore) -> None:
    given = {"X-Correlation-Id": "trace-42"}
    ok = call_api("GET", "/v1/account", token=token_for(), headers=given)
    refused = call_api("GET", "/v1/account", headers=given)
    too_big = call_api(
        "POST", "/v1/orders", body=json.dumps({"pad": "x" * 1_100_000}), headers=given
    )
    assert (ok[0], refused[0], too_big[0]) == (200, 401, 413)
    assert {ok[1]["x-correlation-id"], refused[1]["x-correlation-id"]} == {"trace-42"}
    assert too_big[1]["x-correlation-id"] == "trace-42"


def test_without_one_the_api_gateway_request_id_is_echoed(seeded: TradingStore) -> None:
    status, headers, _ = call_api("GET", "/v1/account", token=token_for())
    assert status == 200 and headers["x-correlation-id"] == "JKJaXmPLvHcESHA="

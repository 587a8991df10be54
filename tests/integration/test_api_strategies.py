"""The live strategy instance routes through the API function: start, list, read, stop,
tenant isolation, scopes and the 422s that name the problem."""

from __future__ import annotations

from typing import Any

import pytest

from redfire_core.adapters.strategy_instances import StrategyInstanceStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.roles import Role
from tests.integration.conftest import call_api, token_for

PATH = "/v1/strategies/instances"
SMA = {
    "strategy": "sma_cross",
    "params": {"fast": 2, "slow": "3"},
    "symbol": "GOOG",
    "interval": "1m",
}


def started(body: dict[str, Any] | None = None, account: str = "demo") -> dict[str, Any]:
    status, headers, instance = call_api("POST", PATH, token=token_for(account), body=body or SMA)
    assert status == 201, instance
    assert headers["location"] == f"{PATH}/{instance['id']}"
    return instance


def test_starting_an_instance_answers_201_with_its_view(seeded: TradingStore) -> None:
    instance = started()

    assert instance["status"] == "running" and instance["stopped_at"] is None
    assert instance["params"] == {"fast": 2, "slow": 3}  # coerced to the defaults' types
    assert (instance["strategy"], instance["symbol"], instance["interval"]) == (
        "sma_cross",
        "GOOG",
        "1m",
    )
    assert StrategyInstanceStore().running("GOOG", "1m") == [("demo", instance["id"])]


def test_list_and_get_show_the_accounts_own_instances(seeded: TradingStore) -> None:
    first, second = started(), started({**SMA, "symbol": "AAPL"})

    status, _, page = call_api("GET", PATH, token=token_for("demo", Role.VIEWER))
    _, _, one = call_api("GET", f"{PATH}/{first['id']}", token=token_for("demo", Role.VIEWER))

    assert status == 200 and page["next_cursor"] is None
    assert [i["id"] for i in page["items"]] == [second["id"], first["id"]]  # newest first
    assert one == first


def test_stop_is_idempotent_and_leaves_the_running_index(seeded: TradingStore) -> None:
    instance = started()

    first = call_api("POST", f"{PATH}/{instance['id']}/stop", token=token_for())
    again = call_api("POST", f"{PATH}/{instance['id']}/stop", token=token_for())

    assert first[0] == again[0] == 200
    assert first[2]["status"] == "stopped" and first[2]["stopped_at"] is not None
    assert again[2] == first[2]
    assert StrategyInstanceStore().running("GOOG", "1m") == []


def test_another_account_gets_404_for_an_instance_it_does_not_own(
    seeded: TradingStore, other_account: str
) -> None:
    instance = started()
    b = token_for(other_account, Role.ADMIN)

    read = call_api("GET", f"{PATH}/{instance['id']}", token=b)
    stop = call_api("POST", f"{PATH}/{instance['id']}/stop", token=b)
    listed = call_api("GET", PATH, token=b)

    assert (read[0], read[2]["code"]) == (404, "STRATEGY_INSTANCE_NOT_FOUND")
    assert (stop[0], stop[2]["code"]) == (404, "STRATEGY_INSTANCE_NOT_FOUND")
    assert listed[2]["items"] == []
    assert call_api("GET", f"{PATH}/{instance['id']}", token=token_for())[2]["status"] == "running"


@pytest.mark.parametrize(
    ("change", "code", "field", "named"),
    [
        ({"strategy": "no_such"}, "STRATEGY_UNKNOWN", "strategy", "no_such"),
        ({"params": {"fast": 2, "speed": 1}}, "STRATEGY_UNKNOWN_PARAMETER", "params", "speed"),
        ({"params": {"fast": "quick"}}, "STRATEGY_INVALID_PARAMETER", "params", "fast"),
        ({"params": {"fast": 0}}, "STRATEGY_INVALID_PARAMETER", "params", "fast"),
        ({"params": {"fast": 10**400}}, "STRATEGY_INVALID_PARAMETER", "params", "fast"),
        ({"params": {"slow": 1e308}}, "STRATEGY_INVALID_PARAMETER", "params", "slow"),
        ({"symbol": "NOPE"}, "STRATEGY_UNKNOWN_SYMBOL", "symbol", "NOPE"),
        ({"interval": "7m"}, "STRATEGY_INVALID_INTERVAL", "interval", "1m"),
    ],
)
def test_bad_input_is_a_422_problem_naming_it(
    seeded: TradingStore, change: dict[str, Any], code: str, field: str, named: str
) -> None:
    status, headers, problem = call_api("POST", PATH, token=token_for(), body={**SMA, **change})

    assert status == 422
    assert headers["content-type"] == "application/problem+json"
    assert problem["code"] == code
    assert problem["errors"][0]["field"] == field and named in problem["errors"][0]["message"]
    assert StrategyInstanceStore().list_for("demo").items == []


def test_starting_needs_the_trade_scope_and_reading_needs_a_token(seeded: TradingStore) -> None:
    viewer = token_for("demo", Role.VIEWER)

    denied = call_api("POST", PATH, token=viewer, body=SMA)
    anonymous = call_api("GET", PATH)

    assert (denied[0], denied[2]["code"]) == (403, "FORBIDDEN")
    assert anonymous[0] == 401


def test_a_second_instance_on_the_same_symbol_is_409_until_the_first_stops(
    seeded: TradingStore, other_account: str
) -> None:
    first = started()

    status, _, problem = call_api("POST", PATH, token=token_for(), body={**SMA, "interval": "5m"})
    assert status == 409, problem
    assert problem["code"] == "STRATEGY_SYMBOL_TAKEN" and first["id"] in problem["detail"]
    assert started({**SMA, "symbol": "AAPL"})["status"] == "running"  # another symbol: fine
    assert started(account=other_account)["status"] == "running"  # another account: fine

    call_api("POST", f"{PATH}/{first['id']}/stop", token=token_for())
    assert started()["status"] == "running"


def test_the_strategies_are_listed_with_their_parameter_schemas(seeded: TradingStore) -> None:
    status, _, page = call_api("GET", "/v1/strategies", token=token_for("demo", Role.VIEWER))

    assert status == 200, page
    names = [item["name"] for item in page["items"]]
    assert names[:3] == ["sma_cross", "rsi_reversion", "breakout"]
    rsi = page["items"][1]
    assert rsi["parameters"]["lower"] == {"type": "number", "default": 30.0, "minimum": 0,
                                          "maximum": 100}  # fmt: skip
    assert page["refused"] == [] and page["next_cursor"] is None

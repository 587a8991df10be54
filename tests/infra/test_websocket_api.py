"""The WebSocket API: every route reaches the ws function, the stage throttles (access logs:
tests/infra/test_fresh_account.py),
and only the functions that post to connections may manage them, on this API only."""

from __future__ import annotations

import json

import pytest

from redfire_core.resources import FUNCTIONS, Declaration
from tests.infra.conftest import Synthesis

pytestmark = pytest.mark.slow

DEV = Declaration("dev")
ROUTE_KEYS = {"$connect", "$disconnect", "$default", "subscribe", "unsubscribe", "ping"}


def _websocket_api(dev: Synthesis) -> tuple[str, dict]:
    (found,) = [
        (logical_id, api)
        for logical_id, api in dev.resources("AWS::ApiGatewayV2::Api").items()
        if api["Properties"]["ProtocolType"] == "WEBSOCKET"
    ]
    return found


def test_the_websocket_api_routes_by_the_message_action(dev: Synthesis) -> None:
    _, api = _websocket_api(dev)
    assert api["Properties"]["Name"] == DEV.name("ws")
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"


def test_every_route_reaches_the_ws_function(dev: Synthesis) -> None:
    api_id, _ = _websocket_api(dev)
    function_id, _ = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name("ws"))
    routes = [
        r["Properties"]
        for r in dev.resources("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["ApiId"] == {"Ref": api_id}
    ]
    assert {r["RouteKey"] for r in routes} == ROUTE_KEYS
    for route in routes:
        integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
        integration = dev.template["Resources"][integration_id]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert function_id in json.dumps(integration["IntegrationUri"])


def test_the_websocket_stage_throttles(dev: Synthesis) -> None:
    api_id, _ = _websocket_api(dev)
    (stage,) = [
        s["Properties"]
        for s in dev.resources("AWS::ApiGatewayV2::Stage").values()
        if s["Properties"]["ApiId"] == {"Ref": api_id}
    ]
    assert stage["StageName"] == "dev" and stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_only_the_stream_functions_may_manage_connections_of_this_api(
    dev: Synthesis, name: str
) -> None:
    from tests.infra.test_security import _role_statements

    api_id, _ = _websocket_api(dev)
    _, statements = _role_statements(dev, DEV.name(name))
    managing = [s for s in statements if "execute-api:ManageConnections" in str(s["Action"])]
    assert bool(managing) is FUNCTIONS[name].manages_websockets
    for statement in managing:
        for resource in statement["Resource"]:
            text = json.dumps(resource)
            assert api_id in text and "/dev/" in text and "@connections/*" in text

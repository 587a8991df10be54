"""The local WebSocket API speaks API Gateway's protocol to the handler, and its management
API answers the boto3 adapter as AWS does (GoneException for a closed connection)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from redfire_cli.localcloud.ws_gateway import LocalWebSocketApi, route_key
from redfire_core.adapters.ws_management import ApiGatewayManagement, ConnectionGone


class Recorder:
    """A ws handler that records its events and refuses ``?token=bad``."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.events.append(event)
        if event["requestContext"]["eventType"] == "CONNECT":
            if (event.get("queryStringParameters") or {}).get("token") == "bad":
                return {"statusCode": 401}
            if "Sec-WebSocket-Protocol" in event["headers"]:
                return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "redfire"}}
        return {"statusCode": 200}

    def of(self, event_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["requestContext"]["eventType"] == event_type]

    def wait_for(self, event_type: str, count: int = 1) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 5
        while len(self.of(event_type)) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.of(event_type)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def gateway(recorder: Recorder) -> Iterator[LocalWebSocketApi]:
    api = LocalWebSocketApi(recorder, 0).start()
    yield api
    api.stop()


@pytest.fixture
def management(gateway: LocalWebSocketApi, monkeypatch: pytest.MonkeyPatch) -> ApiGatewayManagement:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    return ApiGatewayManagement(gateway.management_url)


def test_the_route_is_the_action_when_it_names_one_else_default() -> None:
    assert route_key('{"action": "subscribe"}') == "subscribe"
    assert route_key('{"action": "fly"}') == "$default"
    assert route_key("not json") == "$default"
    assert route_key("[1]") == "$default"


def test_connect_message_disconnect_reach_the_handler_in_api_gateway_shapes(
    gateway: LocalWebSocketApi, recorder: Recorder
) -> None:
    with connect(f"{gateway.url}/?token=t0k") as ws:
        ws.send(json.dumps({"action": "ping"}))
        ws.send("hello")
        recorder.wait_for("MESSAGE", 2)
    connected = recorder.of("CONNECT")[0]
    messages = recorder.of("MESSAGE")
    disconnected = recorder.wait_for("DISCONNECT")[0]

    assert connected["requestContext"]["routeKey"] == "$connect"
    assert connected["queryStringParameters"] == {"token": "t0k"}
    assert [m["requestContext"]["routeKey"] for m in messages] == ["ping", "$default"]
    assert messages[1]["body"] == "hello"
    cid = connected["requestContext"]["connectionId"]
    assert {m["requestContext"]["connectionId"] for m in messages} == {cid}
    assert disconnected["requestContext"]["routeKey"] == "$disconnect"
    assert disconnected["requestContext"]["disconnectStatusCode"] == 1000


def test_a_connect_the_handler_refuses_is_refused_with_its_status(
    gateway: LocalWebSocketApi,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{gateway.url}/?token=bad")
    assert refused.value.response.status_code == 401


def test_the_subprotocol_the_handler_selects_is_answered(gateway: LocalWebSocketApi) -> None:
    with connect(gateway.url, subprotocols=["redfire", "a.b.c"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "redfire"


def test_posts_reach_the_socket_in_order_and_a_closed_one_is_gone(
    gateway: LocalWebSocketApi, recorder: Recorder, management: ApiGatewayManagement
) -> None:
    with connect(gateway.url) as ws:
        cid = recorder.wait_for("CONNECT")[0]["requestContext"]["connectionId"]
        for n in range(20):
            management.post(cid, json.dumps({"n": n}).encode())
        assert [json.loads(ws.recv(timeout=5))["n"] for _ in range(20)] == list(range(20))
    recorder.wait_for("DISCONNECT")
    with pytest.raises(ConnectionGone):
        management.post(cid, b"{}")


def test_delete_connection_closes_the_socket(
    gateway: LocalWebSocketApi, recorder: Recorder, management: ApiGatewayManagement
) -> None:
    with connect(gateway.url) as ws:
        cid = recorder.wait_for("CONNECT")[0]["requestContext"]["connectionId"]
        management.close(cid)
        assert recorder.wait_for("DISCONNECT")
        with pytest.raises(Exception):  # noqa: B017 - closed by the server
            ws.recv(timeout=5)

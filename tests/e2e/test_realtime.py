"""The WebSocket stream on the local cloud, with a real WebSocket client."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.e2e.harness import MARKET_BUY, LocalCloudProcess, bearer, wait_for_status

pytestmark = pytest.mark.slow

RECEIVE_SECONDS = 5.0


def open_stream(cloud: LocalCloudProcess, token: str) -> ClientConnection:
    return connect(f"{cloud.ws_url}/?token={token}", open_timeout=10)


def receive(ws: ClientConnection, timeout: float = RECEIVE_SECONDS) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return message


def subscribe(ws: ClientConnection, channels: list[str], **resume: int) -> dict[str, Any]:
    request: dict[str, Any] = {"action": "subscribe", "channels": channels}
    if resume:
        request["resume"] = resume
    ws.send(json.dumps(request))
    acks = [receive(ws) for _ in channels]
    assert all(ack["type"] == "subscribed" for ack in acks), acks
    return acks[0]


def order_messages_until(
    ws: ClientConnection, order_id: str, status: str, timeout: float = RECEIVE_SECONDS
) -> list[dict[str, Any]]:
    """The order channel's messages about ``order_id`` until one shows ``status``."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = receive(ws, deadline - time.monotonic())
        if message.get("channel") == "orders" and message["data"]["id"] == order_id:
            seen.append(message)
            if message["data"]["status"] == status:
                return seen
    raise AssertionError(f"no {status} for {order_id}: {seen}")


def drain(ws: ClientConnection, quiet_seconds: float = 1.0) -> list[dict[str, Any]]:
    """Every message until none comes for ``quiet_seconds``."""
    messages = []
    while True:
        try:
            messages.append(receive(ws, quiet_seconds))
        except TimeoutError:
            return messages


def test_an_order_placed_over_rest_streams_accepted_then_filled(
    api: httpx.Client, local_cloud: LocalCloudProcess
) -> None:
    with open_stream(local_cloud, local_cloud.token) as ws:
        subscribe(ws, ["orders"])
        created = api.post("/v1/orders", json=MARKET_BUY, headers=bearer(local_cloud.token))
        assert created.status_code == 201, created.text
        # Latency is measured by `make bench` (local cloud), not asserted here: the
        # timeout only bounds a wait for messages that must arrive.
        seen = order_messages_until(ws, created.json()["id"], "filled", timeout=20.0)

    types = [m["type"] for m in seen]
    assert types.index("OrderAccepted") < types.index("OrderFilled"), types
    seqs = [m["seq"] for m in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    filled = seen[-1]
    assert filled["data"]["filled_quantity"] == "10"
    assert set(filled) >= {"channel", "seq", "type", "occurred_at", "data"}


def test_a_client_that_resumes_receives_exactly_the_events_it_missed(
    api: httpx.Client, local_cloud: LocalCloudProcess
) -> None:
    token = local_cloud.token
    # Given a client that saw everything up to an order's fill, then disconnected
    with open_stream(local_cloud, token) as ws:
        subscribe(ws, ["orders"])
        first = api.post("/v1/orders", json=MARKET_BUY, headers=bearer(token)).json()
        last_seen = order_messages_until(ws, first["id"], "filled")[-1]["seq"]

    # When two more orders fill while it is away
    missed_ids = []
    for _ in range(2):
        order = api.post("/v1/orders", json=MARKET_BUY, headers=bearer(token)).json()
        assert wait_for_status(api, token, order["id"], "filled")["status"] == "filled"
        missed_ids.append(order["id"])

    # Then resuming from its last seq replays the missed messages, then goes on live:
    # every seq after the last one seen exactly once, in order
    with open_stream(local_cloud, token) as ws:
        ack = subscribe(ws, ["orders"], orders=last_seen)
        replayed = drain(ws)

    assert ack["seq"] > last_seen
    assert [m["seq"] for m in replayed] == list(range(last_seen + 1, last_seen + 1 + len(replayed)))
    assert {m["data"]["id"] for m in replayed} == set(missed_ids)
    for order_id in missed_ids:
        statuses = [m["data"]["status"] for m in replayed if m["data"]["id"] == order_id]
        assert statuses[-1] == "filled" and "accepted" in statuses, statuses


def test_a_client_never_receives_another_accounts_events(
    api: httpx.Client, local_cloud: LocalCloudProcess
) -> None:
    other = local_cloud.redfire("token", "--account", "bob-stream").stdout.strip()
    assert api.get("/v1/account", headers=bearer(other)).status_code == 200
    with open_stream(local_cloud, other) as ws:
        subscribe(ws, ["orders", "trades", "positions"])
        ws.send(json.dumps({"action": "subscribe", "channels": ["orders:demo"]}))
        refused = receive(ws)
        assert refused["type"] == "error" and refused["code"] == "CHANNEL_FORBIDDEN"

        order = api.post("/v1/orders", json=MARKET_BUY, headers=bearer(local_cloud.token)).json()
        assert wait_for_status(api, local_cloud.token, order["id"], "filled")["status"] == "filled"
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1.0)


def test_ping_is_answered_and_bad_messages_get_errors_on_an_open_socket(
    local_cloud: LocalCloudProcess,
) -> None:
    with open_stream(local_cloud, local_cloud.token) as ws:
        ws.send("{not json")
        assert receive(ws)["code"] == "MESSAGE_MALFORMED"
        ws.send(json.dumps({"action": "dance"}))
        assert receive(ws)["code"] == "ACTION_UNKNOWN"
        ws.send(json.dumps({"action": "subscribe", "channels": ["nonsense"]}))
        assert receive(ws)["code"] == "CHANNEL_UNKNOWN"
        ws.send(json.dumps({"action": "ping"}))
        assert receive(ws) == {"type": "pong"}


def test_a_bad_token_is_refused_at_connect(local_cloud: LocalCloudProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{local_cloud.ws_url}/?token=not-a-token", open_timeout=10)
    assert refused.value.response.status_code == 401


def test_the_token_may_come_in_the_websocket_protocol_header(
    local_cloud: LocalCloudProcess,
) -> None:
    with connect(
        local_cloud.ws_url,
        subprotocols=["redfire", local_cloud.token],  # type: ignore[list-item]
        open_timeout=10,
    ) as ws:
        assert ws.subprotocol == "redfire"
        ws.send(json.dumps({"action": "ping"}))
        assert receive(ws) == {"type": "pong"}

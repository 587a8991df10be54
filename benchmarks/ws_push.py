"""WebSocket push on the local cloud: events per second delivered to 1, 100 and 1,000
connections; management API posts per event against the floor; GraphQL ``orders``
latency against ``GET /v1/orders`` in the same run.

Everything runs through ``redfire dev``: events are put on the bus, the stream rule
routes them to the stream queue, the SQS poller hands batches to the pusher, which
posts through the (emulated) management API to real WebSocket connections.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from benchmarks.common import Result, Table, ms, percentile
from redfire_cli.localcloud import dev_env

FAN_OUTS = ((1, 50), (100, 10), (1000, 3))  # (connections, events)
RECEIVE_TIMEOUT_SECONDS = 120.0
LATENCY_CALLS = 60
PAGE = 50


def _settings(workdir: Any) -> dict[str, str]:
    return dev_env.read(dev_env.dev_env_path(workdir))


def _events_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "events",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _put(events: Any, bus: str, count: int, tag: str) -> None:
    from redfire_core.events import Envelope, new_id

    entries = []
    for n in range(count):
        # PositionChanged: only the stream consumes it, so nothing else acts on the fakes.
        position = {
            "symbol": f"{tag}-{n}",
            "quantity": "1",
            "average_cost": "1",
            "cost_basis": "1",
            "realized_pnl": "0",
        }
        envelope = Envelope(
            id=new_id(),
            type="PositionChanged",
            occurred_at="2026-11-25T09:30:00.000Z",
            account_id="demo",
            correlation_id=tag,
            payload={"position": position, "trade_id": f"{tag}-{n}"},
        )
        entries.append(
            {
                "Source": "redfire",
                "DetailType": envelope.type,
                "Detail": envelope.model_dump_json(),
                "EventBusName": bus,
            }
        )
    for start in range(0, len(entries), 10):
        response = events.put_events(Entries=entries[start : start + 10])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"put_events refused {response['FailedEntryCount']} entries")


async def _fan_out(
    ws_url: str, token: str, connections: int, events: Any, bus: str, count: int
) -> tuple[float, int, list[float]]:
    """(seconds from the first put to the last delivery, messages received, per-connection
    completion times)."""
    from websockets.asyncio.client import connect

    sockets = []
    for start in range(0, connections, 50):
        sockets += await asyncio.gather(
            *(
                connect(f"{ws_url}/?token={token}", open_timeout=60, max_queue=None)
                for _ in range(start, min(connections, start + 50))
            )
        )
    for start in range(0, connections, 50):
        chunk = sockets[start : start + 50]
        for ws in chunk:
            await ws.send(json.dumps({"action": "subscribe", "channels": ["positions"]}))
        for ws in chunk:
            ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
            assert ack["type"] == "subscribed", ack
    print(f"{connections} connections subscribed", file=sys.stderr, flush=True)
    tag = f"bench{connections}"
    loop = asyncio.get_running_loop()
    done: list[float] = []
    received = 0

    async def receive(ws: Any) -> None:
        nonlocal received
        seen = 0
        last = 0
        while seen < count:
            message = json.loads(await ws.recv())
            if message.get("data", {}).get("symbol", "").startswith(tag):
                assert message["seq"] > last, (message["seq"], last)
                last = message["seq"]
                seen += 1
                received += 1
        done.append(time.perf_counter())

    tasks = [asyncio.create_task(receive(ws)) for ws in sockets]
    started = time.perf_counter()
    await loop.run_in_executor(None, _put, events, bus, count, tag)
    await asyncio.wait_for(asyncio.gather(*tasks), RECEIVE_TIMEOUT_SECONDS)
    elapsed = max(done) - started
    for ws in sockets:
        await ws.close()
    return elapsed, received, [d - started for d in done]


def _latency(client: Any, token: str) -> dict[str, list[float]]:
    import httpx

    fields = (
        "id clientOrderId status symbol side type quantity limitPrice stopPrice trailPrice "
        "trailPercent timeInForce filledQuantity averageFillPrice commission rejectReason "
        "rejectReasons replaces replacedBy expiresAt createdAt updatedAt"
    )
    query = f"{{ orders(first: {PAGE}) {{ items {{ {fields} }} nextCursor }} }}"
    headers = {"Authorization": f"Bearer {token}"}
    samples: dict[str, list[float]] = {"rest": [], "graphql": []}
    with httpx.Client(base_url=client, timeout=30) as http:
        for _ in range(5):
            http.get(f"/v1/orders?limit={PAGE}", headers=headers).raise_for_status()
            http.post("/graphql", json={"query": query}, headers=headers).raise_for_status()
        for _ in range(LATENCY_CALLS):
            start = time.perf_counter()
            rest = http.get(f"/v1/orders?limit={PAGE}", headers=headers)
            samples["rest"].append(time.perf_counter() - start)
            start = time.perf_counter()
            graph = http.post("/graphql", json={"query": query}, headers=headers)
            samples["graphql"].append(time.perf_counter() - start)
            assert rest.status_code == 200 and "errors" not in graph.json(), graph.text
            assert len(graph.json()["data"]["orders"]["items"]) == len(rest.json()["items"])
    return samples


def _posts_made(workdir: Any) -> int:
    """StreamPosts metric lines the pusher logged (EMF), summed."""
    total = 0
    for line in (workdir / "stdout.log").read_text(errors="replace").splitlines():
        if '"StreamPosts"' in line and line.startswith("{"):
            try:
                value = json.loads(line).get("StreamPosts")
            except ValueError:
                continue
            if isinstance(value, int | float):
                total += int(value)
            elif isinstance(value, list):
                total += int(sum(value))
    return total


def run() -> Result:
    import httpx

    from benchmarks.local_cloud import LocalCloudProcess
    from redfire_core.resources import Declaration

    cloud = LocalCloudProcess()
    api = cloud.start()
    try:
        settings = _settings(cloud.workdir)
        ws_url, token = settings["REDFIRE_WS_URL"], settings["REDFIRE_TOKEN"]
        events = _events_client(settings["AWS_ENDPOINT_URL"])
        bus = Declaration("local").bus_name
        rows = []
        posts_before = _posts_made(cloud.workdir)
        post_rows = []
        for connections, count in FAN_OUTS:
            print(f"fan-out to {connections}", file=sys.stderr, flush=True)
            elapsed, received, finishes = asyncio.run(
                _fan_out(ws_url, token, connections, events, bus, count)
            )
            time.sleep(1.5)  # let the EMF lines of the last batch reach the log
            posts = _posts_made(cloud.workdir) - posts_before
            posts_before += posts
            rows.append(
                [
                    str(connections),
                    str(count),
                    f"{elapsed:.2f}",
                    f"{count / elapsed:.1f}",
                    f"{received / elapsed:.0f}",
                    ms(percentile(finishes, 50)),
                ]
            )
            post_rows.append(
                [
                    str(connections),
                    str(count),
                    str(posts),
                    f"{posts / count:.2f}",
                    str(connections),
                    "yes" if 0 < posts <= connections * count else "**no**",
                ]
            )
        with httpx.Client(base_url=api.api_url, timeout=30) as http:
            for n in range(PAGE):
                http.post(
                    "/v1/orders",
                    json={
                        "symbol": "GOOG",
                        "side": "buy",
                        "type": "limit",
                        "quantity": "1",
                        "limit_price": f"{50 + n}",
                    },
                    headers={"Authorization": f"Bearer {token}"},
                ).raise_for_status()
        latency = _latency(api.api_url, token)
    finally:
        cloud.stop()
    p50 = {k: percentile(v, 50) for k, v in latency.items()}
    p99 = {k: percentile(v, 99) for k, v in latency.items()}
    floor_met = all(row[-1] == "yes" for row in post_rows)
    return Result(
        name="ws_push",
        title="WebSocket push and GraphQL on the local cloud",
        status="met" if floor_met else "missed",
        summary=(
            "events/s to 1/100/1000 connections: "
            + " / ".join(row[3] for row in rows)
            + f"; posts per event at the floor: {'yes' if floor_met else 'no'}; GraphQL orders "
            f"p50 {ms(p50['graphql'])} ms vs REST {ms(p50['rest'])} ms"
        ),
        target="posts per event no more than one per subscribed connection (the floor)",
        reference="the floor (connections x events posts); GET /v1/orders in the same run "
        "for the GraphQL query",
        method=[
            "`redfire dev --reset` on free ports; N real WebSocket clients (websockets 17) "
            "connect with the dev token and subscribe to `positions`.",
            "PositionChanged events (consumed by the stream only) for the demo account are "
            "put on the bus (10 per PutEvents); "
            "the stream rule, queue, SQS poller, pusher, emulated management API and the "
            "WebSocket server deliver them. Timed from the first PutEvents to the last "
            "message received by the last client; each client checks seq increases.",
            "Posts are the pusher's `StreamPosts` metric (EMF lines in the cloud's log).",
            f"Latency: {LATENCY_CALLS} alternating calls of GET /v1/orders?limit={PAGE} and the "
            f"GraphQL query `orders(first: {PAGE})` with every order field, over HTTP, "
            f"against {PAGE}+ orders.",
        ],
        tables=[
            Table(
                "Delivery",
                [
                    "connections",
                    "events",
                    "seconds",
                    "events/s",
                    "messages/s",
                    "p50 client done, ms",
                ],
                rows,
            ),
            Table(
                "Management API posts",
                ["connections", "events", "posts", "posts per event", "floor", "at the floor"],
                post_rows,
            ),
            Table(
                "GraphQL vs REST, ms",
                ["series", "calls", "p50", "p99"],
                [
                    ["GET /v1/orders", str(LATENCY_CALLS), ms(p50["rest"]), ms(p99["rest"])],
                    [
                        "POST /graphql orders",
                        str(LATENCY_CALLS),
                        ms(p50["graphql"]),
                        ms(p99["graphql"]),
                    ],
                ],
            ),
        ],
        notes=[
            "Local figures: moto serialises DynamoDB, every post is an HTTP call to the "
            "local management API, and one pusher takes one batch at a time (Lambda would run "
            "several); on AWS the post rate is bounded by API Gateway's management API.",
        ],
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

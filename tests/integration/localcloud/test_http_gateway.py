"""The local API Gateway turns HTTP into payload format 2.0 events and replies back into HTTP."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from mangum import Mangum

from redfire_cli.localcloud.http_gateway import LocalHttpApiServer, build_http_api_event
from redfire_cli.localcloud.lambda_runtime import LambdaContext


class RecordingHandler:
    """A stand-in for the API function: remembers events, answers with ``reply``."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


@pytest.fixture
def gateway() -> Iterator[Callable[[Callable[[dict[str, Any]], Any]], str]]:
    """Start a gateway around a given handler; its base URL."""
    servers: list[LocalHttpApiServer] = []

    def start(invoke: Callable[[dict[str, Any]], Any]) -> str:
        servers.append(LocalHttpApiServer(invoke, port=0).start())
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()


def test_a_request_becomes_an_http_api_v2_event(gateway: Any) -> None:
    # Given a gateway in front of a handler that records its events
    handler = RecordingHandler({"statusCode": 204, "headers": {}, "body": ""})
    url = gateway(handler)

    # When a client posts JSON with a query, duplicate headers and cookies
    httpx.post(
        f"{url}/v1/orders/a%20b?limit=5&tag=x&tag=y&empty=",
        json={"symbol": "GOOG"},
        headers=[("X-Trace", "one"), ("X-Trace", "two"), ("Cookie", "a=1; b=2")],
    )

    # Then the handler gets a payload format 2.0 event like API Gateway's
    (event,) = handler.events
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/v1/orders/a%20b"
    assert event["rawQueryString"] == "limit=5&tag=x&tag=y&empty="
    assert event["queryStringParameters"] == {"limit": "5", "tag": "x,y", "empty": ""}
    assert event["headers"]["x-trace"] == "one,two"
    assert event["headers"]["content-type"] == "application/json"
    assert "cookie" not in event["headers"] and event["cookies"] == ["a=1", "b=2"]
    assert event["body"] == '{"symbol":"GOOG"}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/v1/orders/a b",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": event["headers"]["user-agent"],
    }
    assert context["stage"] == "$default" and context["routeKey"] == "$default"
    assert context["domainName"] == url.removeprefix("http://")
    assert {"accountId", "apiId", "domainPrefix", "requestId", "time", "timeEpoch"} <= set(context)


def test_a_chunked_request_body_reaches_the_handler_whole(gateway: Any) -> None:
    # Given a gateway in front of a recording handler
    handler = RecordingHandler({"statusCode": 200, "body": "ok"})
    url = gateway(handler)

    # When a client streams its body in chunks
    response = httpx.post(
        f"{url}/upload",
        content=iter([b'{"part": ', b'"one"}']),
        headers={"content-type": "application/json"},
    )

    # Then the handler gets the whole body and the connection stays usable
    assert response.status_code == 200
    assert handler.events[0]["body"] == '{"part": "one"}'


def test_binary_bodies_are_base64_encoded_in_the_event() -> None:
    # Given a request with a binary body
    body = bytes(range(256))

    # When it becomes an event
    event = build_http_api_event(
        method="PUT",
        target="/blob",
        headers=[("Content-Type", "application/octet-stream")],
        body=body,
        source_ip="127.0.0.1",
    )

    # Then the body is base64 and flagged so
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    assert "queryStringParameters" not in event


def test_the_reply_status_headers_cookies_and_body_reach_the_client(gateway: Any) -> None:
    # Given a handler that answers with headers, cookies and a base64 body
    reply = {
        "statusCode": 401,
        "headers": {"content-type": "application/problem+json", "x-request-id": "r-1"},
        "cookies": ["session=abc; HttpOnly", "theme=dark"],
        "body": base64.b64encode(b'{"title":"Unauthorized"}').decode(),
        "isBase64Encoded": True,
    }
    url = gateway(RecordingHandler(reply))

    # When a client calls
    response = httpx.get(f"{url}/v1/account")

    # Then it sees exactly that reply, decoded
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "r-1"
    assert response.headers.get_list("set-cookie") == ["session=abc; HttpOnly", "theme=dark"]
    assert response.json() == {"title": "Unauthorized"}


def test_a_handler_that_raises_gives_api_gateways_500(gateway: Any) -> None:
    # Given a handler that crashes
    url = gateway(RecordingHandler(RuntimeError("boom")))

    # When a client calls
    response = httpx.get(f"{url}/health")

    # Then it gets API Gateway's internal error reply, and the gateway stays up
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert httpx.get(f"{url}/health").status_code == 500


def test_concurrent_requests_each_get_an_event_loop_for_mangum(gateway: Any) -> None:
    # Given a FastAPI app in Mangum whose route awaits (so requests overlap)
    app = FastAPI()

    @app.get("/slow/{n}")
    async def slow(n: int) -> dict[str, int]:
        await asyncio.sleep(0.2)
        return {"n": n}

    mangum = Mangum(app, lifespan="off")
    url = gateway(lambda event: mangum(event, LambdaContext("api", 128, 29)))

    # When 16 clients call at once
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda n: httpx.get(f"{url}/slow/{n}", timeout=10), range(16)))

    # Then every one gets its own answer
    assert [r.status_code for r in responses] == [200] * 16
    assert [r.json()["n"] for r in responses] == list(range(16))


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_a_method_no_route_takes_gets_405_problem_json_without_reaching_the_handler(
    gateway: Any, method: str
) -> None:
    # Given a gateway in front of a handler
    handler = RecordingHandler({"statusCode": 200, "headers": {}, "body": "ok"})
    url = gateway(handler)

    # When a client sends a method API Gateway has no route for
    response = httpx.request(method, f"{url}/v1/orders?limit=1", content=b"x")

    # Then it gets the API's 405 problem document, and the function is never invoked
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert "GET" in response.headers["allow"]
    problem = response.json()
    assert problem["code"] == "METHOD_NOT_ALLOWED"
    assert problem["status"] == 405
    assert problem["instance"] == "/v1/orders"
    assert handler.events == []
    # And the connection still serves the next request
    assert httpx.get(f"{url}/health").text == "ok"

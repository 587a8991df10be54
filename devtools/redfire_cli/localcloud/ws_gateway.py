"""The local API Gateway WebSocket API, and its management API.

Speaks what API Gateway speaks to the ws handler: ``$connect`` (query string and headers,
refused unless the handler answers 2xx, with the ``Sec-WebSocket-Protocol`` it selects),
route selection by the message's ``action`` (``$request.body.action``, else
``$default``), ``$disconnect``, and connection ids. The management API
(``POST``/``DELETE``/``GET`` ``/<stage>/@connections/<id>``, ``GoneException`` with HTTP
410 for a closed connection) is served over HTTP, so the pusher's boto3 adapter is the
code that runs here as on AWS.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from redfire_core.lambda_shapes import (
    WEBSOCKET_API_ID,
    websocket_connect_event,
    websocket_disconnect_event,
    websocket_message_event,
)

logger = logging.getLogger("redfire.localcloud")

HOST = "127.0.0.1"
API_ID = WEBSOCKET_API_ID
STAGE = "local"
ROUTE_KEYS = ("subscribe", "unsubscribe", "ping")  # besides $connect, $disconnect, $default
MAX_FRAME_BYTES = 128 * 1024  # API Gateway's frame limit is 32 KB, messages 128 KB
POST_TIMEOUT_SECONDS = 10.0

Invoke = Callable[[dict[str, Any]], Any]


def new_connection_id() -> str:
    """An id in API Gateway's shape (``L0SM9cOFvHcCIhw=``)."""
    return base64.b64encode(os.urandom(10)).decode()


def route_key(body: str) -> str:
    """``$request.body.action`` when it names a route, else ``$default``."""
    try:
        action = json.loads(body).get("action")
    except (ValueError, AttributeError):
        return "$default"
    return action if isinstance(action, str) and action in ROUTE_KEYS else "$default"


def connect_event(
    connection_id: str, request: Request, domain: str, connected_at: int, source_ip: str
) -> dict[str, Any]:
    return websocket_connect_event(
        connection_id,
        request.path,
        request.headers.raw_items(),
        domain=domain,
        connected_at=connected_at,
        source_ip=source_ip,
        stage=STAGE,
    )


def message_event(
    connection_id: str, body: str, domain: str, connected_at: int, source_ip: str
) -> dict[str, Any]:
    return websocket_message_event(
        connection_id,
        route_key(body),
        body,
        domain=domain,
        connected_at=connected_at,
        source_ip=source_ip,
        stage=STAGE,
    )


def disconnect_event(
    connection_id: str, code: int, reason: str, domain: str, connected_at: int, source_ip: str
) -> dict[str, Any]:
    return websocket_disconnect_event(
        connection_id,
        code,
        reason,
        domain=domain,
        connected_at=connected_at,
        source_ip=source_ip,
        stage=STAGE,
    )


class LocalWebSocketApi:
    """WebSocket API on ``ws://127.0.0.1:<port>``; management API on another local port."""

    def __init__(self, invoke: Invoke, port: int, management_port: int = 0) -> None:
        self.invoke = invoke
        self._socket = socket.create_server((HOST, port))  # bound now: a taken port fails early
        self.port = self._socket.getsockname()[1]
        self.management = ThreadingHTTPServer((HOST, management_port), _ManagementHandler)
        self.management.daemon_threads = True
        self.management.api = self  # type: ignore[attr-defined]
        self.connections: dict[str, ServerConnection] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []
        self._executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="ws-route")
        self._started = threading.Event()

    @property
    def url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    @property
    def domain(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def management_url(self) -> str:
        return f"http://{HOST}:{self.management.server_address[1]}/{STAGE}"

    def start(self) -> LocalWebSocketApi:
        self._threads = [
            threading.Thread(target=self._run, name="ws-gateway", daemon=True),
            threading.Thread(
                target=self.management.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="ws-management",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        self._started.wait(10)
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is not None and server is not None:
            loop.call_soon_threadsafe(server.close)
        self.management.shutdown()
        self.management.server_close()
        for thread in self._threads:
            thread.join(10)
        self._executor.shutdown(wait=False, cancel_futures=True)

    # --- the WebSocket side -----------------------------------------------------------

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        async with serve(
            self._session,
            sock=self._socket,
            process_request=self._connect,
            select_subprotocol=_selected_subprotocol,
            max_size=MAX_FRAME_BYTES,
            ping_interval=None,
        ) as server:
            self._server = server
            self._started.set()
            await server.wait_closed()

    async def _call(self, event: dict[str, Any]) -> Any:
        assert self._loop is not None
        return await self._loop.run_in_executor(self._executor, self.invoke, event)

    async def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        connection_id = new_connection_id()
        connected_at = int(datetime.now(UTC).timestamp() * 1000)
        source_ip = str(connection.remote_address[0]) if connection.remote_address else HOST
        event = connect_event(connection_id, request, self.domain, connected_at, source_ip)
        try:
            reply = await self._call(event)
        except Exception:
            logger.exception("ws $connect handler raised")
            return connection.respond(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error\n")
        status = int(reply.get("statusCode", 200)) if isinstance(reply, dict) else 200
        if not 200 <= status < 300:
            return connection.respond(HTTPStatus(status), "Forbidden\n")
        headers = Headers((reply or {}).get("headers") or {}) if isinstance(reply, dict) else {}
        connection.redfire = {  # type: ignore[attr-defined]
            "id": connection_id,
            "connected_at": connected_at,
            "source_ip": source_ip,
            "subprotocol": headers.get("Sec-WebSocket-Protocol"),
        }
        return None

    async def _session(self, connection: ServerConnection) -> None:
        info = connection.redfire  # type: ignore[attr-defined]
        cid, connected_at, source_ip = info["id"], info["connected_at"], info["source_ip"]
        with self._lock:
            self.connections[cid] = connection
        try:
            async for message in connection:
                body = message if isinstance(message, str) else message.decode(errors="replace")
                try:
                    await self._call(message_event(cid, body, self.domain, connected_at, source_ip))
                except Exception:
                    logger.exception("ws handler raised")
                    await connection.send(
                        json.dumps({"message": "Internal server error", "connectionId": cid})
                    )
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self.connections.pop(cid, None)
            try:
                await self._call(
                    disconnect_event(
                        cid,
                        connection.close_code or 1006,
                        connection.close_reason or "",
                        self.domain,
                        connected_at,
                        source_ip,
                    )
                )
            except Exception:
                logger.exception("ws $disconnect handler raised")

    # --- the management side ------------------------------------------------------------

    def post(self, connection_id: str, data: bytes) -> bool:
        """Send to a connection, in the order posts arrive; False when it is gone."""
        with self._lock:
            connection = self.connections.get(connection_id)
        if connection is None or self._loop is None:
            return False
        text = data.decode(errors="replace")
        future = asyncio.run_coroutine_threadsafe(connection.send(text), self._loop)
        try:
            future.result(POST_TIMEOUT_SECONDS)
        except ConnectionClosed:
            return False
        return True

    def close(self, connection_id: str) -> bool:
        with self._lock:
            connection = self.connections.get(connection_id)
        if connection is None or self._loop is None:
            return False
        asyncio.run_coroutine_threadsafe(connection.close(), self._loop)
        return True

    def is_open(self, connection_id: str) -> bool:
        with self._lock:
            return connection_id in self.connections


def _selected_subprotocol(connection: ServerConnection, offered: Any) -> Any:
    chosen = getattr(connection, "redfire", {}).get("subprotocol")
    return chosen if chosen in offered else None


class _ManagementHandler(BaseHTTPRequestHandler):
    """``/<stage>/@connections/<id>``: POST sends, DELETE closes, GET describes."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: one line per post would drown the dev log

    def _connection_id(self) -> str | None:
        path = urlsplit(self.path).path
        prefix = f"/{STAGE}/@connections/"
        return unquote(path[len(prefix) :]) if path.startswith(prefix) else None

    def _reply(self, status: int, error_type: str | None = None, body: bytes = b"") -> None:
        if error_type:
            body = json.dumps({"message": None}).encode()
        self.send_response(status)
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @property
    def api(self) -> LocalWebSocketApi:
        return self.server.api  # type: ignore[attr-defined, no-any-return]

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cid = self._connection_id()
        if cid is None:
            self._reply(404, "NotFoundException")
        elif self.api.post(cid, data):
            self._reply(200)
        else:
            self._reply(410, "GoneException")

    def do_DELETE(self) -> None:
        cid = self._connection_id()
        if cid is not None and self.api.close(cid):
            self._reply(204)
        else:
            self._reply(410, "GoneException")

    def do_GET(self) -> None:
        cid = self._connection_id()
        if cid is not None and self.api.is_open(cid):
            self._reply(200, body=json.dumps({"identity": {"sourceIp": HOST}}).encode())
        else:
            self._reply(410, "GoneException")

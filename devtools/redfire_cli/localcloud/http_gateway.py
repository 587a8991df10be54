"""The local API Gateway: HTTP requests in, HTTP API payload format 2.0 events to the handler.

Each request runs in its own thread with its own asyncio event loop, since Mangum asks
for the thread's current loop and worker threads have none.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from redfire_cli.localcloud.console_site import ConsoleSite
from redfire_core.lambda_shapes import http_api_event

logger = logging.getLogger("redfire.localcloud")

HOST = "127.0.0.1"
API_ID = "local"
SHUTDOWN_POLL_SECONDS = 0.1  # how long stop() may wait for the serving loop to notice
INTERNAL_ERROR = {"message": "Internal Server Error"}  # what API Gateway answers on a crash
# The methods an HTTP API route can carry; any other (TRACE, CONNECT, made-up ones) never
# reaches the function and is answered 405 problem+json, as the deployed API answers it.
ROUTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

Invoke = Callable[[dict[str, Any]], Any]


def build_http_api_event(**request: Any) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event for one request to this gateway."""
    return http_api_event(host=HOST, api_id=API_ID, **request)


def method_not_allowed_problem(method: str, path: str) -> dict[str, Any]:
    """The problem document for a method no route takes (the shape of the API's problems)."""
    return {
        "type": "https://redfire.dev/problems/method-not-allowed",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": f"the method {method[:32]!r} is not allowed",
        "code": "METHOD_NOT_ALLOWED",
        "instance": path or "/",
    }


def http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body from a handler's reply, as API Gateway interprets it."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Format 2.0 treats any other reply as a JSON body with status 200.
        return 200, [("content-type", "application/json")], json.dumps(result).encode()
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    headers.extend(("set-cookie", c) for c in result.get("cookies") or [])
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return int(result["statusCode"]), headers, raw


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns every method into one event for the handler of the gateway's server."""

    server: LocalHttpApiServer
    protocol_version = "HTTP/1.1"

    def do_any(self) -> None:
        body = self._read_body()
        site = self.server.console
        path = urlsplit(self.path).path
        if site is not None and site.owns(path):
            self._send(*site.answer(self.command, path))
            return
        event = build_http_api_event(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        self._send(*self._invoke(event))

    def _send(self, status: int, headers: list[tuple[str, str]], raw: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_any

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler answers a method without a do_* with an HTML 501: give every
        # other method the API's 405 instead.
        if name.startswith("do_") and name[3:] not in ROUTED_METHODS:
            return self.method_not_allowed
        raise AttributeError(name)

    def method_not_allowed(self) -> None:
        """405 problem+json with ``Allow``, as the API answers a method it has no route for."""
        self._read_body()
        body = json.dumps(method_not_allowed_problem(self.command, urlsplit(self.path).path))
        raw = body.encode()
        self.send_response(405)
        self.send_header("content-type", "application/problem+json")
        self.send_header("allow", ", ".join(ROUTED_METHODS))
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
            while self.rfile.readline().strip():
                pass  # trailers, up to the blank line
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _invoke(self, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # Mangum uses the thread's current loop
        try:
            return http_response(self.server.invoke(event))
        except Exception:
            logger.exception("api handler raised for %s %s", self.command, self.path)
            return 500, [("content-type", "application/json")], json.dumps(INTERNAL_ERROR).encode()
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("api %s", format % args)


class LocalHttpApiServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 whose every request invokes ``invoke``."""

    daemon_threads = True
    # socketserver's default backlog of 5 resets connections of a burst of clients; API
    # Gateway accepts them and queues, so the local gateway does too.
    request_queue_size = 1024

    def __init__(self, invoke: Invoke, port: int = 0, host: str = HOST) -> None:
        self.invoke = invoke
        self.console: ConsoleSite | None = None  # set once the WebSocket URL is known
        super().__init__((host, port), _RequestHandler)
        self._thread = threading.Thread(
            target=self.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="http-api", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> LocalHttpApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() would wait forever for a loop never started
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()

"""``Idempotency-Key`` on every POST, PATCH and DELETE: the same request again gets the
first answer instead of acting twice.

ASGI middleware. A key belongs to one caller and one route: its record is bound to the
token's account, its principal (the key id for a token exchanged from an API key, the
subject for any other token), the method and the path. Before anything is read from or
written to the record, the route's own authorization runs (its scope requirements), so a
caller who may not make the request gets the route's 403, never a kept answer. The first
request claims the key (conditional put), runs, and keeps its response when it is a 2xx or
a 4xx other than 401, 403, 408, 409, 425 and 429 (answers that say "try again later" or
depend on who asks). Any other answer (a 5xx above all) gives the key up so the client may
retry. Then:

- the same request again (same body and query) gets the kept response replayed: the same
  status and body, with ``Idempotent-Replayed: true``;
- the same key with another request is 409 ``IDEMPOTENCY_KEY_REUSED``
  (``ORDER_ID_CONFLICT`` on ``POST /v1/orders``);
- a duplicate that arrives while the first still runs polls for up to ``WAIT_SECONDS``,
  then is 409 ``ORDER_IN_PROGRESS`` (order routes) or ``REQUEST_IN_PROGRESS``.

No secret is kept at rest: a top-level ``secret`` field of a JSON answer (a new API key's)
is stored as null, so a replay returns the resource with ``"secret": null``.

``POST /v1/auth/token`` takes no key (its answer is a bearer token, not to be stored). A
request without a valid token passes through untouched and gets its 401 (or 429) from
the route; it is authenticated once, and counts once against the rate limit.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from redfire_api.deps import idempotency_keys
from redfire_api.problems import Problem, invalid, problem_response
from redfire_api.security import (
    RouteRequirements,
    authenticate,
    authorize,
    route_requirements,
)
from redfire_core.adapters.idempotency_keys import StoredResponse, record_id
from redfire_core.auth import Principal
from redfire_core.observability import logger

METHODS = frozenset({"POST", "PATCH", "DELETE"})
HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.1
KEPT_HEADERS = ("content-type", "location", "preference-applied")
# 4xx answers that are not the request's final answer: the caller should retry (408, 425,
# 429), a conflict that may clear (409), or they depend on the token rather than the
# request (401, 403).
UNKEPT_CLIENT_ERRORS = frozenset({401, 403, 408, 409, 425, 429})
# Fields of a JSON answer that are never stored (they are replayed as null).
SECRET_FIELDS = ("secret",)
# The token exchange changes nothing and answers with a bearer token, which must not be
# kept at rest: it takes no key.
UNKEYED_PATHS = frozenset({"/v1/auth/token"})
HEADER_DOC: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "the same request with the same key within 24 hours is answered once",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: list[RouteRequirements] | None = None  # read from the app once

    def _route_requirements(self, scope: Scope) -> list[RouteRequirements]:
        if self._routes is None:
            self._routes = route_requirements(scope["app"].routes)
        return self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in METHODS
            or scope["path"] in UNKEYED_PATHS
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        key = request.headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        try:
            principal = await run_in_threadpool(authenticate, request)
        except Problem:
            await self.app(scope, receive, send)  # the route answers 401 (or 429)
            return
        try:
            await run_in_threadpool(authorize, request, self._route_requirements(scope))
        except Problem as forbidden:
            await problem_response(forbidden, request)(scope, receive, send)
            return
        refusal = _check_key(key)
        if refusal is not None:
            await problem_response(refusal, request)(scope, receive, send)
            return
        body = await _read_body(receive)
        method, path = scope["method"], scope["path"]
        record = record_id(principal.account_id, principal_id(principal), method, path, key)
        digest = request_hash(method, path, scope.get("query_string", b""), body)
        await _Attempt(self.app, scope, _replaying(body, receive), send, record, digest).run()


class _Attempt:
    """One request with a key: claim and run it, or answer from the key's record."""

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: str,
        digest: str,
    ) -> None:
        self.app, self.scope, self.receive, self.send = app, scope, receive, send
        self.record, self.digest = record, digest
        self.keys = idempotency_keys()

    async def run(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        may_claim = True
        while True:
            now = datetime.now(UTC)
            if may_claim and await run_in_threadpool(
                self.keys.claim, self.record, self.digest, now
            ):
                await self._execute()
                return
            existing = await run_in_threadpool(self.keys.get, self.record, now)
            # Gone (given up after a 5xx, or expired): claim it on the next round.
            may_claim = existing is None
            if existing is not None and existing.request_hash != self.digest:
                await self._problem(
                    409,
                    _reused_code(self.scope),
                    "the Idempotency-Key was used for a different request",
                )
                return
            if existing is not None and existing.completed and existing.response:
                await self._replay(existing.response)
                return
            if time.monotonic() >= deadline:
                await self._problem(
                    409,
                    _in_progress_code(self.scope),
                    "a request with this Idempotency-Key is still in progress",
                    headers={"Retry-After": "1"},
                )
                return
            await anyio.sleep(POLL_SECONDS)

    async def _execute(self) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(self.scope, self.receive, keep)
        except Exception:
            await run_in_threadpool(self.keys.release, self.record)
            raise
        status, body = int(start["status"]), b"".join(chunks)
        if not kept_status(status):
            await run_in_threadpool(self.keys.release, self.record)
        else:
            headers = {
                name.decode("latin-1"): value.decode("latin-1")
                for name, value in start.get("headers", [])
                if name.decode("latin-1").lower() in KEPT_HEADERS
            }
            kept = StoredResponse(status, without_secrets(body).decode("utf-8"), headers)
            try:
                await run_in_threadpool(
                    self.keys.complete, self.record, self.digest, kept, datetime.now(UTC)
                )
            except Exception:
                # The request took effect: answer it. Its claim lapses after 30 s, and
                # the same request again then runs again (orders stay protected by
                # their client_order_id).
                logger.exception("idempotency record not kept", extra={"record": self.record})
        await self.send(start)
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def _replay(self, kept: StoredResponse) -> None:
        logger.info("idempotent request replayed", extra={"path": self.scope["path"]})
        response = Response(
            content=kept.body,
            status_code=kept.status_code,
            headers={**kept.headers, "Idempotent-Replayed": "true"},
        )
        await response(self.scope, self.receive, self.send)

    async def _problem(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        problem = Problem(status, code, detail, headers=headers)
        await problem_response(problem, Request(self.scope))(self.scope, self.receive, self.send)


def document(app: FastAPI) -> None:
    """Show the header on every POST, PATCH and DELETE of the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if method.upper() in METHODS and path not in UNKEYED_PATHS:
                    operation.setdefault("parameters", []).append(HEADER_DOC)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def principal_id(principal: Principal) -> str:
    """Whose key it is: a token exchanged from an API key has the key id as its subject;
    any other token (an identity provider's) its subject."""
    return principal.subject


def kept_status(status: int) -> bool:
    """2xx and 4xx answers are the request's answer, except those in UNKEPT_CLIENT_ERRORS;
    5xx (and anything else) are not kept."""
    return 200 <= status < 300 or (400 <= status < 500 and status not in UNKEPT_CLIENT_ERRORS)


def without_secrets(body: bytes) -> bytes:
    """The body as it may be stored: a JSON object's secret fields set to null."""
    try:
        content = json.loads(body) if body else None
    except ValueError:
        return body
    if not isinstance(content, dict) or not any(
        content.get(name) is not None for name in SECRET_FIELDS
    ):
        return body
    redacted = content | {name: None for name in SECRET_FIELDS if name in content}
    return json.dumps(redacted, ensure_ascii=False, separators=(",", ":")).encode()


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests "the same": method, path, query and the body's JSON value
    (key order and whitespace do not matter)."""
    try:
        content: Any = json.loads(body) if body else None
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.hex()
    text = json.dumps([method, path, query.decode("latin-1"), canonical])
    return hashlib.sha256(text.encode()).hexdigest()


def _check_key(key: str) -> Problem | None:
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        return invalid(
            "Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    return None


def _on_orders(scope: Scope) -> bool:
    path: str = scope["path"]
    return path == "/v1/orders" or path.startswith("/v1/orders/")


def _reused_code(scope: Scope) -> str:
    placing = scope["method"] == "POST" and scope["path"] == "/v1/orders"
    return "ORDER_ID_CONFLICT" if placing else "IDEMPOTENCY_KEY_REUSED"


def _in_progress_code(scope: Scope) -> str:
    return "ORDER_IN_PROGRESS" if _on_orders(scope) else "REQUEST_IN_PROGRESS"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the route the body already read, then defers to the server."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

"""Refuses request bodies over the configured size (1 MB) with 413 before any route runs."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from redfire_api.problems import MEDIA_TYPE, PROBLEM_TYPE_BASE
from redfire_core.config import get_settings


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = get_settings().max_request_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(scope, send, limit)
            return
        # Buffer the body (API Gateway hands it over whole anyway) and count it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > limit:
                    await _too_large(scope, send, limit)
                    return
                if not message.get("more_body", False):
                    break
            else:  # client went away
                return
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    problem: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + "payload-too-large",
        "title": "Content Too Large",
        "status": 413,
        "detail": f"the request body exceeds {limit} bytes",
        "code": "PAYLOAD_TOO_LARGE",
        "instance": scope.get("path", ""),
    }
    payload = json.dumps(problem).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})

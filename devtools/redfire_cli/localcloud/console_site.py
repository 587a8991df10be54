"""The web console under the local API's own port (``/console/``), as CloudFront serves it
beside the API on a stage: same origin, so the console needs no CORS.

The files are the Vite build in ``console/dist`` (``make console``); ``config.json`` is
answered from the running cloud (the WebSocket URL), as the deploy writes it to S3.
"""

from __future__ import annotations

import json
import mimetypes
import os
from pathlib import Path

PREFIX = "/console/"
CONFIG_FILE = "config.json"
REPOSITORY = Path(__file__).resolve().parents[3]
# Built assets carry a content hash in their names, so they never change under one URL.
IMMUTABLE = "public, max-age=31536000, immutable"
HEADERS = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
]

Answer = tuple[int, list[tuple[str, str]], bytes]


def default_root() -> Path:
    """``REDFIRE_CONSOLE_DIR`` or the working copy's ``console/dist``."""
    return Path(os.environ.get("REDFIRE_CONSOLE_DIR") or REPOSITORY / "console" / "dist")


class ConsoleSite:
    """Answers GET/HEAD under ``/console/`` from ``root``; anything else is not ours."""

    def __init__(self, root: Path, config: dict[str, str]) -> None:
        self.root = root.resolve()
        self.config = config

    @staticmethod
    def owns(path: str) -> bool:
        return path == PREFIX.rstrip("/") or path.startswith(PREFIX)

    def answer(self, method: str, path: str) -> Answer:
        if method not in ("GET", "HEAD"):
            return _text(405, "the console is read-only", [("allow", "GET, HEAD")])
        if path == PREFIX.rstrip("/"):
            return 308, [("location", PREFIX), *HEADERS], b""
        relative = path.removeprefix(PREFIX) or "index.html"
        if relative == CONFIG_FILE:
            body = json.dumps(self.config).encode()
            return 200, [("content-type", "application/json"), ("cache-control", "no-store"),
                         *HEADERS], body  # fmt: skip
        if not (self.root / "index.html").is_file():
            return _text(404, f"the console is not built: run `make console` ({self.root})")
        file = (self.root / relative).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            return _text(404, "not found")
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        cache = IMMUTABLE if relative.startswith("assets/") else "no-cache"
        headers = [("content-type", content_type), ("cache-control", cache), *HEADERS]
        return 200, headers, file.read_bytes()


def _text(status: int, message: str, extra: list[tuple[str, str]] | None = None) -> Answer:
    return (
        status,
        [("content-type", "text/plain; charset=utf-8"), *HEADERS, *(extra or [])],
        (message.encode()),
    )

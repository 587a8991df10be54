"""The local gateway serves the web console under /console/ on the API's own port: the built
files, and config.json naming the WebSocket, without ever invoking the API function."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from redfire_cli.localcloud.console_site import ConsoleSite
from redfire_cli.localcloud.http_gateway import LocalHttpApiServer

WS_URL = "ws://127.0.0.1:9"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A console build as Vite lays it out."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>RedFire console</title>")
    (dist / "assets" / "index-abc123.js").write_text("console.log('hi')")
    (tmp_path / "secret.txt").write_text("outside the build")
    return dist


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[LocalHttpApiServer] = []
    calls: list[dict[str, Any]] = []

    def start(root: Path) -> tuple[str, list[dict[str, Any]]]:
        def invoke(event: dict[str, Any]) -> dict[str, Any]:
            calls.append(event)
            return {"statusCode": 200, "body": "api"}

        server = LocalHttpApiServer(invoke, port=0)
        server.console = ConsoleSite(root, {"api_url": "", "ws_url": WS_URL})
        servers.append(server.start())
        return server.url, calls

    yield start
    for server in servers:
        server.stop()


def test_the_console_is_served_beside_the_api_on_one_port(serve: Any, built: Path) -> None:
    url, calls = serve(built)

    index = httpx.get(f"{url}/console/")
    asset = httpx.get(f"{url}/console/assets/index-abc123.js")
    config = httpx.get(f"{url}/console/config.json")
    api = httpx.get(f"{url}/v1/health")

    assert index.status_code == 200 and "RedFire console" in index.text
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert "javascript" in asset.headers["content-type"]
    assert config.json() == {"api_url": "", "ws_url": WS_URL}
    assert api.text == "api"
    assert [event["rawPath"] for event in calls] == ["/v1/health"]  # the console never invokes


def test_console_without_a_slash_redirects_to_the_folder(serve: Any, built: Path) -> None:
    url, _ = serve(built)

    answer = httpx.get(f"{url}/console")

    assert answer.status_code == 308
    assert answer.headers["location"] == "/console/"


def test_no_path_leaves_the_build_folder(built: Path) -> None:
    site = ConsoleSite(built, {})

    for path in ("/console/../secret.txt", "/console/%2e%2e/secret.txt", "/console/missing.js",
                 "/console/assets/../../secret.txt"):  # fmt: skip
        status, _, body = site.answer("GET", path)
        assert status == 404, path
        assert b"outside the build" not in body


def test_an_unbuilt_console_says_how_to_build_it(serve: Any, tmp_path: Path) -> None:
    url, _ = serve(tmp_path / "nothing")

    answer = httpx.get(f"{url}/console/")

    assert answer.status_code == 404
    assert "make console" in answer.text


def test_the_console_refuses_writes(serve: Any, built: Path) -> None:
    url, calls = serve(built)

    answer = httpx.post(f"{url}/console/index.html", content=b"x")

    assert answer.status_code == 405
    assert calls == []

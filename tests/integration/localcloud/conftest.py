"""A real moto server (the local cloud's own, with the DynamoDB lock) for each test module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from redfire_cli.localcloud import aws
from redfire_cli.localcloud.moto_server import LocalMoto


@pytest.fixture(scope="module")
def moto_server() -> Iterator[LocalMoto]:
    server = LocalMoto(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server: LocalMoto) -> LocalMoto:
    """The module's server, emptied before the test."""
    httpx.post(f"{moto_server.endpoint_url}/moto-api/reset").raise_for_status()
    return moto_server


@pytest.fixture
def client(moto: LocalMoto) -> Callable[[str], Any]:
    """A boto3 client factory for the test's moto server."""
    return lambda service: aws.client(service, moto.endpoint_url)

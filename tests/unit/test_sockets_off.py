"""The unit tier is pure: the guard in conftest.py refuses network access."""

from __future__ import annotations

import socket

import pytest

from tests.unit.conftest import NetworkDisabled


def test_a_unit_test_cannot_open_a_network_connection() -> None:
    # Given the unit tier, when a test tries to connect anywhere, then it is stopped
    with pytest.raises(NetworkDisabled):
        socket.create_connection(("example.com", 443), timeout=1)


def test_a_unit_test_cannot_resolve_a_host_name() -> None:
    # Given the unit tier, when a test tries DNS, then it is stopped
    with pytest.raises(NetworkDisabled):
        socket.getaddrinfo("example.com", 443)

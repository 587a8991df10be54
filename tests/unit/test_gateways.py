"""The Gateway port: the built-in paper gateway and plug-ins from entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from unittest.mock import patch

import pytest

from redfire_core import gateways
from redfire_core.gateways import PaperGateway, gateway_named


@pytest.fixture(autouse=True)
def fresh_registry() -> None:
    gateway_named.cache_clear()


def test_the_paper_gateway_is_the_default_and_needs_no_registration() -> None:
    with patch.object(gateways, "entry_points", return_value=[]):
        assert isinstance(gateway_named(), PaperGateway)


def test_a_broker_gateway_is_loaded_from_its_entry_point() -> None:
    plugin = EntryPoint("broker", "redfire_core.gateways:PaperGateway", gateways.ENTRY_POINT_GROUP)
    with patch.object(gateways, "entry_points", return_value=[plugin]):
        assert isinstance(gateway_named("broker"), PaperGateway)


def test_an_unknown_gateway_name_is_refused() -> None:
    with patch.object(gateways, "entry_points", return_value=[]), pytest.raises(LookupError):
        gateway_named("nope")

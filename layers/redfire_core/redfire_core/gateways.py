"""The Gateway port: where accepted orders go to be executed.

The paper gateway is built in; broker gateways plug in through the
``redfire.gateways`` entry point group (a class taking no arguments).
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib.metadata import entry_points
from typing import Protocol

from redfire_core.domain import matching
from redfire_core.domain.bars import Bar
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.matching import Decision
from redfire_core.domain.orders import ExecutionModel, Order

ENTRY_POINT_GROUP = "redfire.gateways"
DEFAULT_GATEWAY = "paper"


class Gateway(Protocol):
    def on_accept(
        self, order: Order, latest: Decimal | None, model: ExecutionModel, instrument: Instrument
    ) -> Decision: ...

    def on_bar(
        self, order: Order, bar: Bar, model: ExecutionModel, instrument: Instrument
    ) -> Decision: ...


class PaperGateway:
    """Simulated execution with the domain's matching rules (shared with backtests)."""

    def on_accept(
        self, order: Order, latest: Decimal | None, model: ExecutionModel, instrument: Instrument
    ) -> Decision:
        return matching.on_accept(order, latest, model, instrument)

    def on_bar(
        self, order: Order, bar: Bar, model: ExecutionModel, instrument: Instrument
    ) -> Decision:
        return matching.on_bar(order, bar, model, instrument)


@cache
def gateway_named(name: str = DEFAULT_GATEWAY) -> Gateway:
    """The gateway registered as ``name``; the paper gateway needs no registration."""
    if name == DEFAULT_GATEWAY:
        return PaperGateway()
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            gateway: Gateway = entry_point.load()()
            return gateway
    raise LookupError(f"no gateway named {name!r} in the {ENTRY_POINT_GROUP!r} entry points")

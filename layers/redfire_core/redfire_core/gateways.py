"""The Gateway port: where accepted orders go to be executed.

The paper gateway is built in; broker gateways plug in through the
``redfire.gateways`` entry point group (a class taking no arguments).
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib.metadata import entry_points
from typing import Protocol

from redfire_core.calendars import calendar_of
from redfire_core.domain import matching
from redfire_core.domain.bars import Bar
from redfire_core.domain.calendars import fills_at, fills_during
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.matching import NOTHING, Decision
from redfire_core.domain.orders import ExecutionModel, Order, OrderStatus, TimeInForce

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
    """Simulated execution with the domain's matching rules (shared with backtests), only
    while the instrument's exchange is in session: an order accepted while it is closed
    rests until the open (``ioc``/``fok`` are canceled), as Alpaca's paper venue does."""

    def on_accept(
        self, order: Order, latest: Decimal | None, model: ExecutionModel, instrument: Instrument
    ) -> Decision:
        accepted_at = order.accepted_at
        if accepted_at is not None and not fills_at(calendar_of(instrument), accepted_at):
            if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                return Decision(close=OrderStatus.CANCELED, reason="the market is closed")
            return NOTHING  # rests; a trailing stop anchors on its first bar in session
        return matching.on_accept(order, latest, model, instrument)

    def on_bar(
        self, order: Order, bar: Bar, model: ExecutionModel, instrument: Instrument
    ) -> Decision:
        accepted_at = order.accepted_at
        out_of_session = (
            accepted_at is not None
            and bar.end > accepted_at
            and not fills_during(calendar_of(instrument), bar.start, bar.end)
        )
        due = order.expires_at is not None and bar.start >= order.expires_at
        if out_of_session and not due:
            return NOTHING  # no fill, trigger or trail on a bar outside the session
        # Matching expires a due order before anything else, in session or not.
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

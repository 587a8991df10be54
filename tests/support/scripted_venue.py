"""A VenueGateway whose answers a test writes down (reconciliation and handler tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import Order
from redfire_core.venues import (
    VenueBalances,
    VenueFill,
    VenueNotFound,
    VenueOrder,
    VenuePosition,
    VenueStatus,
)


def venue_order(
    order_id: str, status: VenueStatus, filled: str = "0", fills: tuple[VenueFill, ...] = ()
) -> VenueOrder:
    return VenueOrder(
        client_order_id=order_id,
        venue_order_id=f"v-{order_id}",
        status=status,
        filled_quantity=Decimal(filled),
        fills=fills,
    )


@dataclass
class ScriptedVenue:
    """A VenueGateway whose answers the test writes down; it records every call."""

    open: list[VenueOrder] = field(default_factory=list)
    orders: dict[str, VenueOrder] = field(default_factory=dict)
    cash: Decimal = Decimal("100000")
    positions: tuple[VenuePosition, ...] = ()
    calls: list[str] = field(default_factory=list)
    fail_with: Exception | None = None

    def open_orders(self) -> Sequence[VenueOrder]:
        self.calls.append("open_orders")
        if self.fail_with:
            raise self.fail_with
        return list(self.open)

    def find(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        self.calls.append(f"find {client_order_id}")
        if client_order_id not in self.orders:
            raise VenueNotFound("order not found")
        return self.orders[client_order_id]

    def balances(self) -> VenueBalances:
        self.calls.append("balances")
        return VenueBalances(cash=self.cash, currency="USD", positions=self.positions)

    def check(self) -> VenueBalances:
        return self.balances()

    def submit(self, order: Order, instrument: Instrument) -> VenueOrder:
        raise AssertionError("reconciliation never submits")

    def cancel(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        raise AssertionError("reconciliation never cancels")

    def replace(self, client_order_id: str, order: Order, instrument: Instrument) -> VenueOrder:
        raise AssertionError("reconciliation never replaces")

    def instrument(self, symbol: str) -> Instrument | None:
        return None

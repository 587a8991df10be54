"""A scripted in-memory VenueGateway: a venue whose answers and faults a test decides.

It keeps orders by client order id as a venue does (a second submit of the same id is
refused), executes them only when the test says (``execute``), and raises a scripted
``VenueError`` on the next call of a method (``fail_next``), before or after doing what
the call asks (``after=True``: the venue accepted the submit, the answer was lost).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import Order
from redfire_core.venues import (
    VenueAuthError,
    VenueBalances,
    VenueError,
    VenueFill,
    VenueNotFound,
    VenueOrder,
    VenuePosition,
    VenueRejected,
    VenueStatus,
)

T0 = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)


@dataclass
class _Fault:
    error: VenueError
    after: bool


@dataclass
class FakeVenue:
    cash: Decimal = Decimal("50000")
    currency: str = "USD"
    positions: tuple[VenuePosition, ...] = ()
    orders: dict[str, VenueOrder] = field(default_factory=dict)
    quantities: dict[str, Decimal] = field(default_factory=dict)  # each order's total
    submits: list[str] = field(default_factory=list)  # every submit the venue received
    calls: list[str] = field(default_factory=list)
    revoked: bool = False
    reject_with: str | None = None  # the venue refuses every new order with this message
    # Executions the venue makes as it accepts an order: [(quantity, price)], e.g. a
    # marketable order filled at once.
    fill_on_submit: list[tuple[str, str]] = field(default_factory=list)
    _faults: dict[str, list[_Fault]] = field(default_factory=lambda: defaultdict(list))
    _executions: int = 0

    # --- scripting ----------------------------------------------------------------------

    def fail_next(self, method: str, error: VenueError, *, after: bool = False) -> None:
        self._faults[method].append(_Fault(error, after))

    def execute(self, client_order_id: str, quantity: str, price: str) -> VenueFill:
        """An execution at the venue (a partial or the last fill)."""
        order = self.orders[client_order_id]
        self._executions += 1
        fill = VenueFill(
            execution_id=f"E{self._executions}",
            quantity=Decimal(quantity),
            price=Decimal(price),
            at=T0,
        )
        filled = order.filled_quantity + fill.quantity
        total = self.quantities[client_order_id]
        notional = sum((f.quantity * f.price for f in (*order.fills, fill)), Decimal(0))
        self.orders[client_order_id] = replace(
            order,
            fills=(*order.fills, fill),
            filled_quantity=filled,
            average_price=notional / filled,
            status=VenueStatus.FILLED if filled == total else VenueStatus.PARTIALLY_FILLED,
        )
        return fill

    def end(self, client_order_id: str, status: VenueStatus, reason: str | None = None) -> None:
        self.orders[client_order_id] = replace(
            self.orders[client_order_id], status=status, reason=reason
        )

    # --- the port -----------------------------------------------------------------------

    def _call(self, method: str) -> _Fault | None:
        self.calls.append(method)
        if self.revoked:
            raise VenueAuthError("API key revoked")
        faults = self._faults.get(method)
        if not faults:
            return None
        fault = faults.pop(0)
        if not fault.after:
            raise fault.error
        return fault

    def check(self) -> VenueBalances:
        self._call("check")
        return VenueBalances(self.cash, self.currency, self.positions)

    def submit(self, order: Order, instrument: Instrument) -> VenueOrder:
        fault = self._call("submit")
        self.submits.append(order.id)
        if order.id in self.orders:
            raise VenueRejected("client order id must be unique")
        if self.reject_with:
            raise VenueRejected(self.reject_with)
        venue = VenueOrder(
            client_order_id=order.id,
            venue_order_id=f"V{len(self.orders) + 1}",
            status=VenueStatus.NEW,
            filled_quantity=Decimal(0),
        )
        self.orders[order.id] = venue
        self.quantities[order.id] = order.quantity
        for quantity, price in self.fill_on_submit:
            self.execute(order.id, quantity, price)
        if fault is not None:
            raise fault.error
        return self.orders[order.id]

    def find(self, client_order_id: str) -> VenueOrder:
        fault = self._call("find")
        if client_order_id not in self.orders:
            raise VenueNotFound(f"no order {client_order_id}")
        if fault is not None:
            raise fault.error
        return self.orders[client_order_id]

    def cancel(self, client_order_id: str) -> VenueOrder:
        self._call("cancel")
        if client_order_id not in self.orders:
            raise VenueNotFound(f"no order {client_order_id}")
        order = self.orders[client_order_id]
        if order.status.is_final:
            raise VenueRejected(f"order is already {order.status.value}")
        self.orders[client_order_id] = replace(order, status=VenueStatus.CANCELED)
        return self.orders[client_order_id]

    def replace(self, client_order_id: str, order: Order, instrument: Instrument) -> VenueOrder:
        self._call("replace")
        original = self.orders.get(client_order_id)
        if original is None or original.status.is_final:
            raise VenueRejected("order is not open")
        self.orders[client_order_id] = replace(original, status=VenueStatus.CANCELED)
        self.orders[order.id] = VenueOrder(
            client_order_id=order.id,
            venue_order_id=f"V{len(self.orders) + 1}",
            status=VenueStatus.NEW,
            filled_quantity=Decimal(0),
        )
        self.quantities[order.id] = order.quantity
        return self.orders[order.id]

    def open_orders(self) -> Sequence[VenueOrder]:
        self._call("open_orders")
        return [o for o in self.orders.values() if not o.status.is_final]

    def balances(self) -> VenueBalances:
        return self.check()

    def instrument(self, symbol: str) -> Instrument | None:
        return None

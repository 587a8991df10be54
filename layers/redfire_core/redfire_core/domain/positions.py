"""Positions and account cash: the arithmetic of a fill, exact in Decimal."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from redfire_core.domain.orders import Side

ZERO = Decimal(0)


@dataclass(frozen=True)
class Fill:
    """One execution of an order. ``trade_id`` makes applying it idempotent."""

    trade_id: str
    order_id: str
    account_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    commission: Decimal
    executed_at: datetime

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is Side.BUY else -self.quantity

    @property
    def cash_delta(self) -> Decimal:
        """Cash moves against the trade, and commission is always paid."""
        return -self.signed_quantity * self.price - self.commission


@dataclass(frozen=True)
class Position:
    account_id: str
    symbol: str
    quantity: Decimal = ZERO  # signed: negative is short
    average_cost: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    version: int = 0

    def apply(self, fill: Fill) -> Position:
        """Average cost moves only when the position grows; closing realizes PnL.

        A fill that crosses zero closes the old side at its average cost and opens
        the rest at the fill price.
        """
        qty, signed = self.quantity, fill.signed_quantity
        new_qty = qty + signed
        realized = self.realized_pnl
        if qty == 0 or (qty > 0) == (signed > 0):
            average = (abs(qty) * self.average_cost + abs(signed) * fill.price) / abs(new_qty)
        else:
            closed = min(abs(qty), abs(signed))
            direction = 1 if qty > 0 else -1
            realized += (fill.price - self.average_cost) * closed * direction
            if new_qty == 0:
                average = ZERO
            elif (new_qty > 0) == (qty > 0):
                average = self.average_cost
            else:
                average = fill.price
        return replace(
            self,
            quantity=new_qty,
            average_cost=average,
            realized_pnl=realized,
            version=self.version + 1,
        )

    def market_value(self, price: Decimal) -> Decimal:
        return self.quantity * price

    def unrealized_pnl(self, price: Decimal) -> Decimal:
        return (price - self.average_cost) * self.quantity


@dataclass(frozen=True)
class Account:
    id: str
    currency: str
    cash: Decimal
    created_at: datetime
    margin_enabled: bool = False
    leverage: Decimal = Decimal(1)
    realized_pnl: Decimal = ZERO
    commissions: Decimal = ZERO
    version: int = 1

    def apply(self, fill: Fill, realized_delta: Decimal) -> Account:
        return replace(
            self,
            cash=self.cash + fill.cash_delta,
            realized_pnl=self.realized_pnl + realized_delta,
            commissions=self.commissions + fill.commission,
            version=self.version + 1,
        )

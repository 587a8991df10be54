"""Positions and account cash: the arithmetic of a fill, exact in Decimal."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from redfire_core.domain.counters import RiskCounters
from redfire_core.domain.money import average
from redfire_core.domain.orders import ExecutionModel, Side

ZERO = Decimal(0)
BASIS_PLACES = Decimal("1e-12")


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
    """A signed quantity and its signed cost basis (quantity x average cost).

    Keeping the basis rather than the average keeps PnL exact: a partial close moves
    a (possibly rounded) share of the basis into realized PnL, so realized plus
    unrealized PnL always equals the fills' mark-to-market to the last digit.
    """

    account_id: str
    symbol: str
    quantity: Decimal = ZERO  # signed: negative is short
    cost_basis: Decimal = ZERO  # signed like quantity
    realized_pnl: Decimal = ZERO
    version: int = 0

    @property
    def average_cost(self) -> Decimal:
        return ZERO if self.quantity == 0 else average(self.cost_basis, self.quantity)

    def apply(self, fill: Fill) -> Position:
        """Growing adds to the basis; reducing realizes PnL; crossing zero opens the rest."""
        qty, signed, price = self.quantity, fill.signed_quantity, fill.price
        basis, realized = self.cost_basis, self.realized_pnl
        if qty == 0 or (qty > 0) == (signed > 0):
            basis += signed * price
        else:
            closed = min(abs(qty), abs(signed))
            # A share of the basis, in fixed point so the sums below stay exact.
            portion = (
                basis if closed == abs(qty) else (basis * closed / abs(qty)).quantize(BASIS_PLACES)
            )
            direction = 1 if qty > 0 else -1
            realized += direction * closed * price - portion
            basis -= portion
            if abs(signed) > abs(qty):
                basis = (qty + signed) * price
        return replace(
            self,
            quantity=qty + signed,
            cost_basis=basis,
            realized_pnl=realized,
            version=self.version + 1,
        )

    def market_value(self, price: Decimal) -> Decimal:
        return self.quantity * price

    def unrealized_pnl(self, price: Decimal) -> Decimal:
        return self.quantity * price - self.cost_basis


@dataclass(frozen=True)
class Account:
    """Cash, what is held for open orders, and how paper fills are costed."""

    id: str
    currency: str
    cash: Decimal
    created_at: datetime
    margin_enabled: bool = False
    leverage: Decimal = Decimal(1)
    realized_pnl: Decimal = ZERO
    commissions: Decimal = ZERO
    reserved: Decimal = ZERO
    execution: ExecutionModel = field(default_factory=ExecutionModel)
    version: int = 1
    last_sequence: int = 0  # the highest order sequence decided on this book
    # today's orders, cancels and trades and the order rate, for the pre-trade rules
    counters: RiskCounters = field(default_factory=RiskCounters)
    # Where orders go: "paper" (the default), "alpaca" or "ccxt:<exchange>"; on the book
    # so the decision hop reads it with no extra read (docs/trading.md, venue accounts).
    gateway: str = "paper"
    gateway_mode: str = "paper"
    gateway_status: str | None = None  # connecting | connected | error (venue gateways)
    gateway_error: str | None = None  # the venue's message when in error

    def decided(self, sequence: int | None) -> Account:
        """The book after deciding the order numbered ``sequence`` (never moves back)."""
        if sequence is None or sequence <= self.last_sequence:
            return self
        return replace(self, last_sequence=sequence, version=self.version + 1)

    def apply(self, fill: Fill, realized_delta: Decimal, released: Decimal = ZERO) -> Account:
        """Cash moves by the fill; ``released`` is the order's reservation the fill frees."""
        return replace(
            self,
            cash=self.cash + fill.cash_delta,
            realized_pnl=self.realized_pnl + realized_delta,
            commissions=self.commissions + fill.commission,
            reserved=self.reserved - released,
            version=self.version + 1,
        )

    def counted_order(self, symbol: str, now: datetime) -> Account:
        """The book with one more accepted order (the daily and rate limits count it)."""
        return replace(
            self, counters=self.counters.record_order(symbol, now), version=self.version + 1
        )

    def counted_cancel(self, symbol: str, now: datetime) -> Account:
        return replace(
            self, counters=self.counters.record_cancel(symbol, now), version=self.version + 1
        )

    def counted_trade(self, symbol: str, now: datetime) -> Account:
        return replace(
            self, counters=self.counters.record_trade(symbol, now), version=self.version + 1
        )

    def reserve(self, amount: Decimal) -> Account:
        """Hold (or, negative, release) cash for open orders."""
        return replace(self, reserved=self.reserved + amount, version=self.version + 1)

    def buying_power(self, equity: Decimal, gross_exposure: Decimal) -> Decimal:
        """Cash account: cash less reservations. Margin account: equity x leverage less the
        gross exposure of positions and reservations."""
        if not self.margin_enabled:
            return self.cash - self.reserved
        return equity * self.leverage - gross_exposure - self.reserved

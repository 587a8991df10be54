"""Instruments and the static order checks that depend on them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from redfire_core.domain.errors import DomainError
from redfire_core.domain.money import is_multiple


@dataclass(frozen=True)
class Instrument:
    symbol: str
    asset_class: str
    currency: str
    tick_size: Decimal
    lot_size: Decimal
    min_quantity: Decimal
    price_precision: int
    tradable: bool = True
    # "24/7", "weekdays" or an exchange code (redfire_core.domain.calendars)
    calendar: str = "weekdays"

    def check_price(self, price: Decimal, field: str) -> None:
        if not is_multiple(price, self.tick_size):
            raise DomainError(
                "ORDER_PRICE_TICK",
                f"{field} {price} is not a multiple of the tick size {self.tick_size}",
                field,
            )

    def check_quantity(self, quantity: Decimal) -> None:
        if quantity < self.min_quantity:
            raise DomainError(
                "ORDER_QTY_MIN",
                f"quantity {quantity} is below the minimum {self.min_quantity}",
                "quantity",
            )
        if not is_multiple(quantity, self.lot_size):
            raise DomainError(
                "ORDER_QTY_LOT",
                f"quantity {quantity} is not a multiple of the lot size {self.lot_size}",
                "quantity",
            )


DEMO_INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("GOOG", "equity", "USD", Decimal("0.01"), Decimal("1"), Decimal("1"), 2),
    Instrument("AAPL", "equity", "USD", Decimal("0.01"), Decimal("1"), Decimal("1"), 2),
    Instrument("MSFT", "equity", "USD", Decimal("0.01"), Decimal("1"), Decimal("1"), 2),
    Instrument(
        "BTC-USD",
        "crypto",
        "USD",
        Decimal("0.01"),
        Decimal("0.0001"),
        Decimal("0.0001"),
        2,
        calendar="24/7",
    ),
)

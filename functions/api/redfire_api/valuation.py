"""Positions marked to the latest price (the average cost when there is none yet)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.positions import Position


@dataclass(frozen=True)
class Marked:
    position: Position
    price: Decimal

    @property
    def market_value(self) -> Decimal:
        return self.position.market_value(self.price)

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.position.unrealized_pnl(self.price)


def mark(store: TradingStore, position: Position) -> Marked:
    latest = store.latest_price(position.symbol)
    return Marked(position, latest.price if latest else position.average_cost)


def open_positions(store: TradingStore, account_id: str) -> list[Marked]:
    """Every position that is not flat, by symbol, marked."""
    held = [p for p in store.list_positions(account_id) if p.quantity != 0]
    return [mark(store, p) for p in sorted(held, key=lambda p: p.symbol)]

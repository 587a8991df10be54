"""Pre-trade risk rules inside a backtest: the account's limits, the same rule engine.

When a backtest runs with risk limits, every order the strategy places is checked by
``redfire_core.domain.risk.check_order`` as it is placed, against a context built from
the backtest's state: the position and cash, the bar's close as the latest price (at
the bar's time), the orders still working, and today's counters and rates in bar
time. A denied order ends ``denied`` (``on_order`` sees it, with the first reason) and
never reaches the book.

Rules that judge the live account rather than the order stay out: buying power and
shorting (the engine sizes orders and rejects what the equity cannot pay, as
backtesting.py does), stale prices (a bar's close is its price) and trading states.
Imported only when a backtest has limits: plain backtests keep their lean import path.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from redfire_core.domain.counters import RiskCounters
from redfire_core.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from redfire_core.domain.positions import Account, Position
from redfire_core.domain.risk import (
    Denial,
    LatestPrice,
    RiskContext,
    RiskLimits,
    book_of,
    check_order,
)

if TYPE_CHECKING:
    from redfire_core.strategies.base import StrategyOrder

ACCOUNT = "backtest"
SYMBOL = "BACKTEST"
# The account's own state, judged by the engine (see the module's docstring).
NOT_APPLIED = frozenset(
    {
        "RISK_BUYING_POWER",
        "RISK_SHORT_NOT_ALLOWED",
        "RISK_STALE_PRICE",
        "RISK_TRADING_HALTED",
        "RISK_REDUCE_ONLY",
    }
)


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


class RiskGate:
    """Checks a backtest's orders as they are placed; keeps the counters in bar time."""

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self.counters = RiskCounters()
        self.recent: list[Order] = []  # placed orders of the duplicate window

    def check(
        self,
        order: StrategyOrder,
        units: float,
        at: datetime,
        close: float,
        cash: float,
        size: float,
        cost: float,
        working: list[StrategyOrder],
    ) -> list[Denial]:
        """The denials of placing ``order`` for ``units`` at bar time ``at``; when there
        are none the order is counted (as the risk function counts an accepted one)."""
        candidate = self._domain_order(order, units, at)
        window = timedelta(seconds=self.limits.duplicate_window_seconds)
        self.recent = [o for o in self.recent if o.created_at >= at - window]
        # Cash as the account would hold it: longs bought with it, shorts adding to it.
        account = Account(ACCOUNT, "USD", _decimal(cash - cost), at, margin_enabled=True)
        position = Position(ACCOUNT, SYMBOL, _decimal(size), _decimal(cost))
        latest = LatestPrice(SYMBOL, _decimal(close), at)
        # The engine's state is floats that move every bar (and a working order sized by
        # equity takes this order's units), so the book is built per check, not kept.
        book = book_of(
            account,
            [position],
            {SYMBOL: latest.price},
            [self._domain_order(o, o.quantity or units, at, OrderStatus.ACCEPTED) for o in working],
            self.recent,
            self.counters,
            at,
        )
        context = RiskContext(account, position, latest, self.limits, at)
        denials = [d for d in check_order(candidate, context, book) if d.code not in NOT_APPLIED]
        if not denials:
            self.counters = self.counters.record_order(SYMBOL, at)
            if self.limits.duplicate_window_seconds:
                self.recent.append(candidate)
        return denials

    def filled(self, at: datetime) -> None:
        self.counters = self.counters.record_trade(SYMBOL, at)

    def canceled(self, at: datetime) -> None:
        self.counters = self.counters.record_cancel(SYMBOL, at)

    @staticmethod
    def _domain_order(
        order: StrategyOrder,
        units: float,
        at: datetime,
        status: OrderStatus = OrderStatus.SUBMITTED,
    ) -> Order:
        if order.limit is not None and order.stop is not None:
            kind = OrderType.STOP_LIMIT
        elif order.limit is not None:
            kind = OrderType.LIMIT
        elif order.stop is not None:
            kind = OrderType.STOP
        else:
            kind = OrderType.MARKET
        placed = Order(
            id=f"bt-{order.id}",
            account_id=ACCOUNT,
            symbol=SYMBOL,
            side=Side.BUY if order.side > 0 else Side.SELL,
            type=kind,
            quantity=_decimal(float(units)),
            time_in_force=TimeInForce.GTC,
            status=OrderStatus.SUBMITTED,
            created_at=at,
            updated_at=at,
            limit_price=None if order.limit is None else _decimal(order.limit),
            stop_price=None if order.stop is None else _decimal(order.stop),
        )
        return placed if status is OrderStatus.SUBMITTED else replace(placed, status=status)

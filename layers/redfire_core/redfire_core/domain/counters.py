"""Today's order, cancel and trade counts and the order rate, kept on the account's book.

Pure. The counters live on the account item (``Account.counters``), so counting an
order, a cancel or a trade is part of the write that makes it happen (the decision, the
close, the fill), conditional on the book's version like the rest of that write: no
counter items, no markers, nothing to count twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

SECONDS_PER_DAY = 86400


def day_number(now: datetime) -> int:
    """Days since the epoch (UTC): counters of another day count as zero."""
    return int(now.timestamp()) // SECONDS_PER_DAY


@dataclass(frozen=True, slots=True)
class RiskCounters:
    """Today's counts and the current second's and minute's order rate.

    Each count belongs to a period (day, second, minute, as epoch numbers); a count of a
    period that is over reads as zero, so nothing needs resetting. The ``record_*``
    methods give the counters one order, cancel or trade later.
    """

    day: int = -1
    orders: int = 0
    cancels: int = 0
    trades: int = 0
    symbol_orders: Mapping[str, int] = field(default_factory=dict)
    symbol_cancels: Mapping[str, int] = field(default_factory=dict)
    symbol_trades: Mapping[str, int] = field(default_factory=dict)
    second: int = -1
    orders_this_second: int = 0
    minute: int = -1
    orders_this_minute: int = 0

    def at(self, now: datetime) -> RiskCounters:
        """The counters as they read at ``now`` (periods that ended are zero)."""
        stamp = int(now.timestamp())
        day, minute = stamp // SECONDS_PER_DAY, stamp // 60
        if self.day == day and self.second == stamp and self.minute == minute:
            return self
        this_second = self.orders_this_second if self.second == stamp else 0
        this_minute = self.orders_this_minute if self.minute == minute else 0
        if self.day != day:
            return RiskCounters(
                day=day,
                second=stamp,
                orders_this_second=this_second,
                minute=minute,
                orders_this_minute=this_minute,
            )
        # Built directly rather than with ``replace`` (a Python loop over the fields, 4x
        # slower): a kept book's check reads its counters at a new second on most orders.
        return RiskCounters(
            day=day,
            orders=self.orders,
            cancels=self.cancels,
            trades=self.trades,
            symbol_orders=self.symbol_orders,
            symbol_cancels=self.symbol_cancels,
            symbol_trades=self.symbol_trades,
            second=stamp,
            orders_this_second=this_second,
            minute=minute,
            orders_this_minute=this_minute,
        )

    def record_order(self, symbol: str, now: datetime) -> RiskCounters:
        c = self.at(now)
        return replace(
            c,
            orders=c.orders + 1,
            symbol_orders=_bump(c.symbol_orders, symbol),
            orders_this_second=c.orders_this_second + 1,
            orders_this_minute=c.orders_this_minute + 1,
        )

    def record_cancel(self, symbol: str, now: datetime) -> RiskCounters:
        c = self.at(now)
        return replace(c, cancels=c.cancels + 1, symbol_cancels=_bump(c.symbol_cancels, symbol))

    def record_trade(self, symbol: str, now: datetime) -> RiskCounters:
        c = self.at(now)
        return replace(c, trades=c.trades + 1, symbol_trades=_bump(c.symbol_trades, symbol))


def _bump(counts: Mapping[str, int], symbol: str) -> dict[str, int]:
    bumped = dict(counts)
    bumped[symbol] = bumped.get(symbol, 0) + 1
    return bumped


def counters_to_dict(counters: RiskCounters) -> dict[str, Any]:
    """The stored form (plain numbers and maps); ``counters_from_dict`` reads it back."""
    return {
        "day": counters.day,
        "orders": counters.orders,
        "cancels": counters.cancels,
        "trades": counters.trades,
        "symbol_orders": dict(counters.symbol_orders),
        "symbol_cancels": dict(counters.symbol_cancels),
        "symbol_trades": dict(counters.symbol_trades),
        "second": counters.second,
        "orders_this_second": counters.orders_this_second,
        "minute": counters.minute,
        "orders_this_minute": counters.orders_this_minute,
    }


def counters_from_dict(data: Mapping[str, Any]) -> RiskCounters:
    def number(name: str, default: int = 0) -> int:
        return int(data.get(name, default))

    def counts(name: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in dict(data.get(name) or {}).items()}

    return RiskCounters(
        day=number("day", -1),
        orders=number("orders"),
        cancels=number("cancels"),
        trades=number("trades"),
        symbol_orders=counts("symbol_orders"),
        symbol_cancels=counts("symbol_cancels"),
        symbol_trades=counts("symbol_trades"),
        second=number("second", -1),
        orders_this_second=number("orders_this_second"),
        minute=number("minute", -1),
        orders_this_minute=number("orders_this_minute"),
    )

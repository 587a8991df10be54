"""Paper matching: when, how much and at what price an order fills. Pure; the backtester
runs the same rules.

Semantics:
- A market order fills at once at the latest price (slippage applied). One accepted
  while no price exists rests and fills on the next bar: at its open if the bar
  started after acceptance, else at its close.
- A bar can fill an order only if the bar ended after the order was accepted. If the
  bar started before acceptance, a limit fills at its limit price, never the bar's
  better open (the order never saw it); a later bar that gaps through fills at its open.
- Stops trigger when the bar reaches the stop (a later bar that gaps through triggers
  at its open); a stop then fills like a market order at the trigger price, a
  stop-limit becomes a limit. A trailing stop's stop follows the best price seen since
  acceptance by ``trail_price`` or ``trail_percent``; the trail is checked against the
  previous anchor before the bar can move it, which is the conservative order.
- ``ioc`` / ``fok`` orders are decided at acceptance against the latest price: the
  marketable part fills, the rest is canceled (``fok``: all or nothing).
- ``day`` orders expire at their ``expires_at`` (their session's close, set when placed).
- Fills may be capped at a share of the bar's volume (partial fills).
- A notional market order fills all at once for the quantity its notional buys at the
  fill price, floored to the lot grid; less than the minimum quantity cancels it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from redfire_core.domain.bars import Bar
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import (
    ExecutionModel,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    notional_quantity,
)

ZERO = Decimal(0)


PriceBar = Bar  # the name gateways know; matching reads start, end and OHLCV of the one Bar


@dataclass(frozen=True)
class Decision:
    """What the gateway does to an order: fill some, change working state, or close it."""

    fill_quantity: Decimal = ZERO
    fill_price: Decimal | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    close: OrderStatus | None = None  # canceled (ioc/fok remainder) or expired
    reason: str | None = None

    @property
    def fills(self) -> bool:
        return self.fill_price is not None and self.fill_quantity > 0

    @property
    def is_nothing(self) -> bool:
        return not self.fills and not self.changes and self.close is None


NOTHING = Decision()


def on_accept(
    order: Order, latest: Decimal | None, model: ExecutionModel, instrument: Instrument
) -> Decision:
    """The gateway's answer when the order is accepted, given the latest price."""
    immediate = order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK)
    if order.type is OrderType.TRAILING_STOP:
        return Decision(changes={"trail_reference": latest}) if latest is not None else NOTHING
    if order.type is OrderType.MARKET:
        if latest is None:
            return _cancel("no price to fill at") if immediate else NOTHING
        price = model.slipped(latest, order.side, instrument)
        if order.notional is not None:
            return _notional_fill(order, price, instrument)
        return Decision(order.remaining_quantity, price)
    if order.type is OrderType.LIMIT and immediate:
        if latest is None or not _limit_reached(order, latest):
            return _cancel("not marketable at the latest price")
        return Decision(order.remaining_quantity, latest)
    return NOTHING


def on_bar(order: Order, bar: Bar, model: ExecutionModel, instrument: Instrument) -> Decision:
    """The gateway's answer to a new bar for a resting order."""
    accepted_at = order.accepted_at
    if accepted_at is None or bar.end <= accepted_at or order.is_final:
        return NOTHING
    if order.expires_at is not None and bar.start >= order.expires_at:
        return Decision(close=OrderStatus.EXPIRED, reason="the trading day ended")
    seen_open = bar.start >= accepted_at
    if order.type is OrderType.MARKET:
        price = model.slipped(bar.open if seen_open else bar.close, order.side, instrument)
        if order.notional is not None:
            return _notional_fill(order, price, instrument)
        return _fill(order, price, bar, model, instrument)
    if order.type is OrderType.LIMIT or (order.type is OrderType.STOP_LIMIT and order.triggered):
        limit_fill = _limit_price(order, bar, seen_open)
        return NOTHING if limit_fill is None else _fill(order, limit_fill, bar, model, instrument)
    return _stop(order, bar, seen_open, model, instrument)


def stop_level(order: Order, instrument: Instrument) -> Decimal | None:
    """The price that triggers a stop order now. A trailing stop's follows its anchor and
    is rounded to a tick away from the market (a sell's down, a buy's up), so it fills
    on the price grid and never sooner than the trail allows."""
    if order.type is not OrderType.TRAILING_STOP:
        return order.stop_price
    if order.trail_reference is None:
        return None
    offset: Decimal = (
        order.trail_price
        if order.trail_price is not None
        else order.trail_reference * (order.trail_percent or ZERO) / 100
    )
    sell = order.side is Side.SELL
    level = order.trail_reference - offset if sell else order.trail_reference + offset
    ticks = (level / instrument.tick_size).to_integral_value(ROUND_FLOOR if sell else ROUND_CEILING)
    return ticks * instrument.tick_size


def _stop(
    order: Order, bar: Bar, seen_open: bool, model: ExecutionModel, instrument: Instrument
) -> Decision:
    if order.triggered:  # the remainder of a stop already reached works as a market order
        price = model.slipped(bar.open if seen_open else bar.close, order.side, instrument)
        return _fill(order, price, bar, model, instrument)
    level = stop_level(order, instrument)
    if level is None:  # a trailing stop accepted without a price anchors on its first bar
        return Decision(changes={"trail_reference": bar.open if seen_open else bar.close})
    buy = order.side is Side.BUY
    if not (bar.high >= level if buy else bar.low <= level):
        return _trail(order, bar)
    gapped = seen_open and (bar.open >= level if buy else bar.open <= level)
    trigger = bar.open if gapped else level
    if order.type is OrderType.STOP_LIMIT:
        limit = order.limit_price or ZERO
        reachable = bar.low <= limit if buy else bar.high >= limit
        if not reachable:
            return Decision(changes={"triggered": True})
        price = min(trigger, limit) if buy else max(trigger, limit)
        return _fill(order, price, bar, model, instrument, {"triggered": True})
    price = model.slipped(trigger, order.side, instrument)
    return _fill(order, price, bar, model, instrument, {"triggered": True})


def _trail(order: Order, bar: Bar) -> Decision:
    """Move a trailing stop's anchor to the bar's best price, if it improved."""
    if order.type is not OrderType.TRAILING_STOP or order.trail_reference is None:
        return NOTHING
    best = (
        max(order.trail_reference, bar.high)
        if order.side is Side.SELL
        else min(order.trail_reference, bar.low)
    )
    return NOTHING if best == order.trail_reference else Decision(changes={"trail_reference": best})


def _limit_reached(order: Order, price: Decimal) -> bool:
    limit = order.limit_price or ZERO
    return price <= limit if order.side is Side.BUY else price >= limit


def _limit_price(order: Order, bar: Bar, seen_open: bool) -> Decimal | None:
    limit = order.limit_price or ZERO
    touched = bar.low <= limit if order.side is Side.BUY else bar.high >= limit
    if not touched:
        return None
    if seen_open and _limit_reached(order, bar.open):
        return bar.open  # gapped through: the open was available and better
    return limit


def _fill(
    order: Order,
    price: Decimal,
    bar: Bar,
    model: ExecutionModel,
    instrument: Instrument,
    changes: dict[str, Any] | None = None,
) -> Decision:
    quantity = model.capped(order.remaining_quantity, bar.volume, instrument)
    if quantity <= 0:
        return Decision(changes=changes or {})
    return Decision(quantity, price, changes or {})


def _notional_fill(order: Order, price: Decimal, instrument: Instrument) -> Decision:
    """A notional order fills at once, all of it (no volume cap: its size is a sum of
    money), for the quantity the notional buys on the lot grid; less than the minimum
    quantity cancels it."""
    quantity = notional_quantity(order.notional or ZERO, price, instrument)
    if quantity <= 0 or quantity < instrument.min_quantity:
        return _cancel(
            f"the notional buys less than the minimum quantity {instrument.min_quantity}"
        )
    return Decision(quantity, price)


def _cancel(reason: str) -> Decision:
    return Decision(close=OrderStatus.CANCELED, reason=reason)

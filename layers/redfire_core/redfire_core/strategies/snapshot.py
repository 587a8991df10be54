"""What a live strategy keeps between invocations: its working orders and its own
attributes (``self.entry``, ``self.stop_order``, ``self.highest_close`` ...), as JSON.

A live instance is rebuilt for every bar and order event; the runner then calls
``on_start`` (indicators are registered and warmed up again from the stored bars), and
``restore`` puts back the attributes the strategy had after its last hook, with each
order handle restored as the same object ``self.orders`` holds. What is kept: JSON
values (numbers, strings, booleans, None, lists, dicts with string keys), datetimes and
orders. Indicators are rebuilt, not kept; any other value is an error naming the
attribute (never silently dropped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redfire_core.strategies.base import HOOKS, Strategy, StrategyError, StrategyOrder
from redfire_core.strategies.indicators import Indicator

# Set by Strategy.__init__ and the runner, never persisted as attributes.
INTERNAL = frozenset({"broker", "params", "state", "indicators", "_next_id", "_position", *HOOKS})
ORDER = "$order"
TIME = "$time"


def order_json(order: StrategyOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "side": order.side,
        "quantity": order.quantity,
        "limit": order.limit,
        "stop": order.stop,
        "closes": order.closes,
        "placed_bar": order.placed_bar,
        "status": order.status,
        "triggered": order.triggered,
        "filled_quantity": order.filled_quantity,
        "fill_price": None if order.fill_price != order.fill_price else order.fill_price,
        "reason": order.reason,
    }


def order_from(data: dict[str, Any]) -> StrategyOrder:
    order = StrategyOrder(
        int(data["id"]),
        int(data["side"]),
        data["quantity"],
        data["limit"],
        data["stop"],
        bool(data["closes"]),
        int(data["placed_bar"]),
    )
    order.status = str(data["status"])
    order.triggered = bool(data["triggered"])
    order.filled_quantity = float(data["filled_quantity"])
    if data.get("fill_price") is not None:
        order.fill_price = float(data["fill_price"])
    order.reason = str(data.get("reason") or "")
    return order


def snapshot(strategy: Strategy) -> dict[str, Any]:
    """The strategy's own attributes as JSON (indicators and internals left out)."""
    kept: dict[str, Any] = {}
    for name, value in vars(strategy).items():
        if name in INTERNAL or name in strategy.params or _holds_indicators(value):
            continue
        kept[name] = _encode(value, name)
    return kept


def restore(strategy: Strategy, kept: dict[str, Any], working: list[StrategyOrder]) -> None:
    """Put back what ``snapshot`` kept; an order still working is the object in
    ``working`` (so ``order is self.entry`` holds), any other a copy of how it ended."""
    by_id = {order.id: order for order in working}
    for name, value in kept.items():
        setattr(strategy, name, _decode(value, by_id))


def _holds_indicators(value: Any) -> bool:
    if isinstance(value, Indicator):
        return True
    if isinstance(value, list | tuple) and value:
        return all(isinstance(item, Indicator) for item in value)
    return False


def _encode(value: Any, name: str) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, StrategyOrder):
        return {ORDER: order_json(value)}
    if isinstance(value, datetime):
        return {TIME: value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encode(item, name) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _encode(item, name) for key, item in value.items()}
    raise StrategyError(
        "STRATEGY_STATE_UNSUPPORTED",
        f"attribute {name!r} holds a {type(value).__name__}, which a live instance cannot "
        "keep between bars (keep JSON values, datetimes, orders or indicators)",
    )


def _decode(value: Any, by_id: dict[int, StrategyOrder]) -> Any:
    if isinstance(value, list):
        return [_decode(item, by_id) for item in value]
    if isinstance(value, dict):
        if ORDER in value:
            data = value[ORDER]
            return by_id.get(int(data["id"])) or order_from(data)
        if TIME in value:
            return datetime.fromisoformat(value[TIME])
        return {key: _decode(item, by_id) for key, item in value.items()}
    return value

"""Alpaca's dialect of RedFire's facts: ids, order statuses, stream events, error codes.

One table per fact, shared by the `/v2` routes (the API function) and the `trade_updates`
stream (the stream function), so both speak the same Alpaca. Ids need no mapping table: a
ULID and a UUID are both 128 bits, so an order's UUID is its ULID written the other way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple
from uuid import NAMESPACE_URL, UUID, uuid5

from ulid import ULID

from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import FINAL_STATUSES, OrderStatus

S = OrderStatus

# RedFire status -> Alpaca status (alpaca.trading.enums.OrderStatus values).
STATUS: dict[OrderStatus, str] = {
    S.SUBMITTED: "pending_new",
    S.HELD: "held",
    S.ACCEPTED: "new",
    S.DENIED: "rejected",
    S.REJECTED: "rejected",
    S.PARTIALLY_FILLED: "partially_filled",
    S.FILLED: "filled",
    S.PENDING_CANCEL: "pending_cancel",
    S.CANCELED: "canceled",
    S.PENDING_REPLACE: "pending_replace",
    S.REPLACED: "replaced",
    S.EXPIRED: "expired",
}

# RedFire event type -> Alpaca trade_updates event. OrderFilled is `fill` or `partial_fill`
# by the order's status after it (see trade_update_event).
TRADE_UPDATE_EVENTS: dict[str, str] = {
    "OrderSubmitted": "pending_new",
    "OrderAccepted": "new",
    "OrderDenied": "rejected",
    "OrderRejected": "rejected",
    "OrderFilled": "fill",
    "OrderCancelRequested": "pending_cancel",
    "OrderCanceled": "canceled",
    "OrderExpired": "expired",
    "OrderReplaced": "replaced",
}


def trade_update_event(event_type: str, order_status: str) -> str | None:
    """The trade_updates event for a RedFire event, or None for events Alpaca has not."""
    event = TRADE_UPDATE_EVENTS.get(event_type)
    if event == "fill" and order_status == S.PARTIALLY_FILLED:
        return "partial_fill"
    return event


def uuid_of(ulid: str) -> str:
    """The UUID form of a RedFire id (lossless)."""
    return str(ULID.from_str(ulid).to_uuid())


def ulid_of(uuid: str) -> str:
    """The RedFire id behind a UUID; DomainError ORDER_NOT_FOUND when it is not one."""
    try:
        return str(ULID.from_uuid(UUID(uuid)))
    except ValueError:
        raise DomainError("ORDER_NOT_FOUND", f"no order {uuid!r}") from None


class AlpacaError(NamedTuple):
    status: int
    code: int


# Alpaca's 8-digit codes: the HTTP status, then a family.
BAD_REQUEST = AlpacaError(400, 40010000)
NOT_UNIQUE = AlpacaError(422, 40010001)
UNAUTHORIZED = AlpacaError(401, 40110000)
FORBIDDEN = AlpacaError(403, 40310000)
NOT_FOUND = AlpacaError(404, 40410000)
UNPROCESSABLE = AlpacaError(422, 42210000)
TOO_MANY = AlpacaError(429, 42910000)
INTERNAL = AlpacaError(500, 50010000)

# Each RedFire code whose Alpaca meaning is not simply its HTTP status's family.
ERRORS: dict[str, AlpacaError] = {
    # A pre-trade denial is Alpaca's 403 ("insufficient buying power" and the like).
    **{
        code: FORBIDDEN
        for code in (
            "RISK_BUYING_POWER",
            "RISK_DAILY_CANCEL_LIMIT",
            "RISK_DAILY_ORDER_LIMIT",
            "RISK_DAILY_TRADE_LIMIT",
            "RISK_DUPLICATE_ORDER",
            "RISK_MAX_ACTIVE_ORDERS",
            "RISK_MAX_DAILY_LOSS",
            "RISK_MAX_DRAWDOWN",
            "RISK_MAX_GROSS_EXPOSURE",
            "RISK_MAX_NOTIONAL",
            "RISK_MAX_ORDER_QTY",
            "RISK_MAX_POSITION",
            "RISK_ORDER_RATE",
            "RISK_PRICE_BAND",
            "RISK_REDUCE_ONLY",
            "RISK_SELF_TRADE",
            "RISK_SHORT_NOT_ALLOWED",
            "RISK_STALE_PRICE",
            "RISK_TIMEOUT",
            "RISK_TRADING_HALTED",
            "RISK_UNKNOWN_INSTRUMENT",
            "FORBIDDEN",
        )
    },
    # Alpaca answers a state conflict (not cancelable, not replaceable) with 422.
    **{
        code: UNPROCESSABLE
        for code in (
            "ORDER_NOT_CANCELABLE",
            "ORDER_NOT_REPLACEABLE",
            "ORDER_IN_PROGRESS",
            "ORDER_INVALID_TRANSITION",
            "REQUEST_IN_PROGRESS",
        )
    },
    "ORDER_ID_CONFLICT": NOT_UNIQUE,  # "client_order_id must be unique"
    "IDEMPOTENCY_KEY_REUSED": NOT_UNIQUE,
    **{
        code: UNAUTHORIZED
        for code in ("UNAUTHORIZED", "TOKEN_EXPIRED", "TOKEN_REVOKED", "KEY_INVALID")
    },
    **{code: TOO_MANY for code in ("RATE_LIMITED", "QUOTA_EXCEEDED")},
    "REQUEST_MALFORMED": BAD_REQUEST,
}
BY_STATUS: dict[int, AlpacaError] = {
    error.status: error for error in (BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND)
} | {404: NOT_FOUND, 409: UNPROCESSABLE, 422: UNPROCESSABLE, 429: TOO_MANY}


def alpaca_error(code: str, status: int) -> AlpacaError:
    """Alpaca's status and code for a RedFire error ``code`` that /v1 answers with ``status``."""
    if code in ERRORS:
        return ERRORS[code]
    return BY_STATUS.get(status, AlpacaError(status, status * 100000) if status < 500 else INTERNAL)


# --- trade_updates: the stream's messages ------------------------------------------------

NAMESPACE = uuid5(NAMESPACE_URL, "https://redfire.dev/alpaca")  # name-based ids (assets...)


def alpaca_symbol(symbol: str, asset_class: str) -> str:
    return symbol.replace("-", "/") if asset_class == "crypto" else symbol


def order_from_view(view: Mapping[str, Any], asset_class: str) -> dict[str, Any]:
    """An order event's view (``GET /v1/orders/{id}``) in `/v2`'s shape, as
    ``redfire_api.alpaca_shapes.order_shape`` writes it (a test holds them equal)."""
    status = OrderStatus(view["status"])
    final_at = view["updated_at"] if status in FINAL_STATUSES else None

    def when(*statuses: OrderStatus) -> str | None:
        return final_at if status in statuses else None

    def uuid_or_none(ulid: str | None) -> str | None:
        return uuid_of(ulid) if ulid else None

    return {
        "id": uuid_of(view["id"]),
        "client_order_id": view.get("client_order_id") or view["id"],
        "created_at": view["created_at"],
        "updated_at": view["updated_at"],
        "submitted_at": view["created_at"],
        "filled_at": when(S.FILLED),
        "expired_at": when(S.EXPIRED),
        "expires_at": view.get("expires_at"),
        "canceled_at": when(S.CANCELED),
        "failed_at": when(S.DENIED, S.REJECTED),
        "replaced_at": when(S.REPLACED),
        "replaced_by": uuid_or_none(view.get("replaced_by")),
        "replaces": uuid_or_none(view.get("replaces")),
        "asset_id": str(uuid5(NAMESPACE, f"asset:{view['symbol']}")),
        "symbol": alpaca_symbol(view["symbol"], asset_class),
        "asset_class": asset_class,
        "notional": None,
        "qty": view["quantity"],
        "filled_qty": view["filled_quantity"],
        "filled_avg_price": view.get("average_fill_price"),
        "order_class": "simple",
        "order_type": view["type"],
        "type": view["type"],
        "side": view["side"],
        "position_intent": None,
        "time_in_force": view["time_in_force"],
        "limit_price": view.get("limit_price"),
        "stop_price": view.get("stop_price"),
        "status": STATUS[status],
        "extended_hours": False,
        "legs": None,
        "trail_percent": view.get("trail_percent"),
        "trail_price": view.get("trail_price"),
        "hwm": None,  # the trail's anchor is not in the event's view
    }


def trade_update(
    event_type: str, payload: Mapping[str, Any], occurred_at: str, asset_class: str
) -> dict[str, Any] | None:
    """Alpaca's ``trade_updates`` data for a RedFire order event, or None when Alpaca has
    no such event. A fill carries its ``price``, ``qty``, ``execution_id`` (the trade's
    name-based UUID) and the position's quantity after it."""
    # Alpaca's `replaced` carries the order that was replaced (its `replaced_by` names the
    # replacement, whose own `new` comes with its acceptance).
    view = payload["order"]
    if event_type == "OrderReplaced" and payload.get("replaced"):
        view = payload["replaced"]
    event = trade_update_event(event_type, view["status"])
    if event is None:
        return None
    update: dict[str, Any] = {
        "event": event,
        "order": order_from_view(view, asset_class),
        "timestamp": occurred_at,
    }
    fill = payload.get("fill") if event_type == "OrderFilled" else None
    if fill:
        update |= {
            "execution_id": str(uuid5(NAMESPACE, fill["trade_id"])),
            "price": fill["price"],
            "qty": fill["quantity"],
            "position_qty": payload.get("position_quantity"),
        }
    return update

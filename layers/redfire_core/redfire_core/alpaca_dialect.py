"""Alpaca's dialect of RedFire's facts: ids, order statuses, stream events, error codes.

One table per fact, shared by the `/v2` routes (the API function) and the `trade_updates`
stream (the stream function), so both speak the same Alpaca. Ids need no mapping table: a
ULID and a UUID are both 128 bits, so an order's UUID is its ULID written the other way.
"""

from __future__ import annotations

from typing import NamedTuple
from uuid import UUID

from ulid import ULID

from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import OrderStatus

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

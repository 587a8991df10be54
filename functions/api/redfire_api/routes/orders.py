"""Orders: place, read, list, cancel, replace."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from redfire_api.deps import correlation_id, trading_store
from redfire_api.paging import Cursor, Limit, cursor_checked, seal, unseal
from redfire_api.prefer import MAX_WAIT_SECONDS, requested_wait
from redfire_api.problems import Problem, invalid
from redfire_api.security import require
from redfire_core.adapters.trading_store import OrderFilter, TradingStore
from redfire_core.auth import Principal
from redfire_core.domain.identifiers import CLIENT_ORDER_ID_MAX, printable_ascii_pattern
from redfire_core.domain.money import decimal_pattern
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.events import OrderView
from redfire_core.services.awaiting import await_decision
from redfire_core.services.managing import cancel_all, cancel_order, replace_order
from redfire_core.services.placing import place_order
from redfire_core.views import order_view, order_with_legs

router = APIRouter(prefix="/v1/orders", tags=["orders"])
LIST = "/v1/orders"  # what its cursors are bound to (GraphQL's orders share them)

DecimalString = Annotated[str, Field(pattern=decimal_pattern(20, 12), max_length=33)]
ClientOrderId = Annotated[str, Field(pattern=printable_ascii_pattern(CLIENT_ORDER_ID_MAX))]
Symbol = Annotated[str, Field(pattern=printable_ascii_pattern(32))]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WAIT_APPLIED = {
    "Preference-Applied": {
        "description": "`wait=N` when the request's `Prefer: wait=N` was honoured (N clamped)",
        "schema": {"type": "string", "example": "wait=2"},
    }
}


class TakeProfit(BaseModel):
    """A bracket's or oto's take-profit leg (a limit order), or an oco's parent."""

    model_config = ConfigDict(extra="forbid")

    limit_price: DecimalString


class StopLoss(BaseModel):
    """A stop-loss leg: a stop order, or a stop-limit one with ``limit_price``."""

    model_config = ConfigDict(extra="forbid")

    stop_price: DecimalString
    limit_price: DecimalString | None = None


class PlaceOrder(BaseModel):
    """An order request; quantities and prices are decimal strings ("10", "101.25").
    ``quantity`` or, for a market day order, ``notional`` (the quantity is then set at the
    fill). ``order_class`` bracket, oco or oto takes ``take_profit`` and ``stop_loss``
    (docs/trading.md)."""

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol
    side: str = Field(max_length=16)
    type: str = Field(max_length=16)
    quantity: DecimalString | None = None
    notional: DecimalString | None = None
    order_class: str | None = Field(default=None, max_length=16)
    take_profit: TakeProfit | None = None
    stop_loss: StopLoss | None = None
    limit_price: DecimalString | None = None
    stop_price: DecimalString | None = None
    trail_price: DecimalString | None = None
    trail_percent: DecimalString | None = None
    time_in_force: str = Field(default="day", max_length=8)
    client_order_id: ClientOrderId | None = None


class ReplaceOrder(BaseModel):
    """What a replace changes; ``quantity`` is the new total, including what has filled."""

    model_config = ConfigDict(extra="forbid")

    quantity: DecimalString | None = None
    limit_price: DecimalString | None = None
    stop_price: DecimalString | None = None
    trail_price: DecimalString | None = None
    trail_percent: DecimalString | None = None
    time_in_force: str | None = Field(default=None, max_length=8)
    client_order_id: ClientOrderId | None = None


class OrderPage(BaseModel):
    items: list[OrderView]
    next_cursor: str | None


@router.post(
    "",
    status_code=201,
    response_model=OrderView,
    responses={
        201: {"headers": WAIT_APPLIED},
        200: {
            "model": OrderView,
            "description": "the same request again",
            "headers": WAIT_APPLIED,
        },
    },
)
def create_order(
    body: PlaceOrder,
    request: Request,
    response: Response,
    principal: Principal = Depends(require("trade")),
    prefer: Annotated[
        str | None,
        Header(
            description=(
                "RFC 7240 `wait=N` (whole seconds, at most "
                f"{MAX_WAIT_SECONDS}; more is clamped, anything else ignored): answer once "
                "the pre-trade decision is made (the order `accepted`, `denied` or later), or "
                "after N seconds with the order still `submitted`. The answer then carries "
                "`Preference-Applied: wait=N`."
            ),
        ),
    ] = None,
) -> OrderView:
    store = trading_store()
    placed = place_order(
        store,
        principal.account_id,
        body.model_dump(exclude_none=True),
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )
    order = placed.order
    # API Gateway joins repeated headers with commas, which is also how RFC 7240 lists them.
    wait = requested_wait([prefer] if prefer else [])
    if wait is not None:
        order = await_decision(store, order, wait)
        response.headers["Preference-Applied"] = f"wait={wait}"
    if not placed.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/orders/{order.id}"
    return with_legs(store, order)


@router.get("", response_model=OrderPage)
def list_orders(
    limit: Limit = 100,
    cursor: Cursor = None,
    status: str | None = Query(
        None, max_length=256, description="comma-separated statuses, e.g. accepted,filled"
    ),
    symbol: str | None = Query(None, min_length=1, max_length=32),
    start: str | None = Query(None, max_length=64, description="created at or after (ISO 8601)"),
    end: str | None = Query(None, max_length=64, description="created at or before (ISO 8601)"),
    principal: Principal = Depends(require("read")),
) -> OrderPage:
    """Newest first. A filtered page may hold fewer than ``limit`` orders and still have a
    next page: follow ``next_cursor`` until it is null."""
    where = OrderFilter(
        status=parse_statuses(status),
        symbol=symbol,
        created_from=_moment(start, "start"),
        created_to=_moment(end, "end"),
    )
    if where.created_from and where.created_to and where.created_from > where.created_to:
        raise invalid("start", "start is after end")
    position = unseal(cursor, LIST, principal.account_id)
    with cursor_checked():
        page = trading_store().list_orders(principal.account_id, limit, position, where)
    next_cursor = seal(page.next_cursor, LIST, principal.account_id)
    store = trading_store()
    items = [with_legs(store, o) for o in page.items]
    return OrderPage(items=items, next_cursor=next_cursor)


@router.delete("", status_code=202, response_model=OrderPage)
def cancel_open_orders(
    request: Request, principal: Principal = Depends(require("trade"))
) -> OrderPage:
    """Ask to cancel every open order; answers with those now pending cancel."""
    pending = cancel_all(
        trading_store(),
        principal.account_id,
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )
    return OrderPage(items=[order_view(o) for o in pending], next_cursor=None)


@router.get("/by-client-id/{client_order_id}", response_model=OrderView)
def get_order_by_client_id(
    client_order_id: str, principal: Principal = Depends(require("read"))
) -> OrderView:
    store = trading_store()
    claim = store.find_client_order(principal.account_id, client_order_id[:CLIENT_ORDER_ID_MAX])
    order = store.get_order(principal.account_id, claim[0]) if claim else None
    if order is None:
        raise Problem(404, "ORDER_NOT_FOUND", f"no order with client_order_id {client_order_id!r}")
    return order_view(order)


@router.get("/{order_id}", response_model=OrderView)
def get_order(order_id: str, principal: Principal = Depends(require("read"))) -> OrderView:
    # Scoped by the token's account: another account's order id is simply not found.
    store = trading_store()
    order = store.get_order(principal.account_id, order_id[:64])
    if order is None:
        raise Problem(404, "ORDER_NOT_FOUND", f"no order {order_id!r}")
    return with_legs(store, order)


@router.delete("/{order_id}", status_code=202, response_model=OrderView)
def cancel(
    order_id: str, request: Request, principal: Principal = Depends(require("trade"))
) -> OrderView:
    """Ask for a cancel: the order is ``pending_cancel`` until the gateway cancels it."""
    order = cancel_order(
        trading_store(),
        principal.account_id,
        order_id[:64],
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )
    return order_view(order)


@router.patch("/{order_id}", status_code=201, response_model=OrderView)
def replace(
    order_id: str,
    body: ReplaceOrder,
    request: Request,
    response: Response,
    principal: Principal = Depends(require("trade")),
) -> OrderView:
    """Replace an open order: answers with the new order (``replaces`` is this one),
    which goes through risk; the original is ``replaced`` once the new one is accepted."""
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise invalid("body", "name at least one field to change", "ORDER_INVALID")
    new = replace_order(
        trading_store(),
        principal.account_id,
        order_id[:64],
        changes,
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )
    response.headers["Location"] = f"/v1/orders/{new.id}"
    return order_view(new)


def with_legs(store: TradingStore, order: Order) -> OrderView:
    """The order as the API shows it: a parent of an order class with its legs."""
    legs = [store.get_order(order.account_id, leg_id) for leg_id in order.leg_ids]
    return order_with_legs(order, [leg for leg in legs if leg is not None])


def parse_statuses(text: str | None) -> frozenset[OrderStatus] | None:
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in {s.value for s in OrderStatus}]
    if unknown:
        allowed = ", ".join(s.value for s in OrderStatus)
        raise invalid("status", f"unknown status {unknown[0]!r}; one of: {allowed}")
    return frozenset(OrderStatus(name) for name in names) or None


def _moment(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 instant; one without an offset is taken as UTC. Order ids (ULIDs)
    start in 1970, so an earlier bound means the same as 1970."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid(field, "not an ISO 8601 timestamp (2026-11-25T09:30:00Z)") from None
    return max(moment, EPOCH)

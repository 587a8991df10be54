"""Orders: place, read, list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from redfire_api.deps import correlation_id, trading_store
from redfire_api.problems import Problem
from redfire_api.security import require
from redfire_core.auth import Principal
from redfire_core.events import OrderView
from redfire_core.services.placing import place_order
from redfire_core.views import order_view

router = APIRouter(prefix="/v1/orders", tags=["orders"])

DecimalString = Annotated[str, Field(pattern=r"^\d{1,20}(\.\d{1,12})?$", max_length=33)]


class PlaceOrder(BaseModel):
    """An order request; quantities and prices are decimal strings ("10", "101.25")."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(min_length=1, max_length=32)
    side: str = Field(max_length=16)
    type: str = Field(max_length=16)
    quantity: DecimalString
    limit_price: DecimalString | None = None
    stop_price: DecimalString | None = None
    time_in_force: str = Field(default="day", max_length=8)
    client_order_id: str | None = Field(default=None, min_length=1, max_length=64)


class OrderPage(BaseModel):
    items: list[OrderView]
    next_cursor: str | None


@router.post(
    "",
    status_code=201,
    response_model=OrderView,
    responses={200: {"model": OrderView, "description": "the same request again"}},
)
def create_order(
    body: PlaceOrder,
    request: Request,
    response: Response,
    principal: Principal = Depends(require("trade")),
) -> OrderView:
    placed = place_order(
        trading_store(),
        principal.account_id,
        body.model_dump(exclude_none=True),
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )
    if not placed.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/orders/{placed.order.id}"
    return order_view(placed.order)


@router.get("", response_model=OrderPage)
def list_orders(
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = Query(None, max_length=1024),
    principal: Principal = Depends(require("read")),
) -> OrderPage:
    try:
        page = trading_store().list_orders(principal.account_id, limit, cursor)
    except ValueError:
        raise Problem(
            422,
            "REQUEST_INVALID",
            "the cursor is not valid",
            errors=[
                {
                    "field": "cursor",
                    "code": "REQUEST_INVALID",
                    "message": "not a cursor this API issued",
                }
            ],
        ) from None
    return OrderPage(items=[order_view(o) for o in page.items], next_cursor=page.next_cursor)


@router.get("/{order_id}", response_model=OrderView)
def get_order(order_id: str, principal: Principal = Depends(require("read"))) -> OrderView:
    # Scoped by the token's account: another account's order id is simply not found.
    order = trading_store().get_order(principal.account_id, order_id[:64])
    if order is None:
        raise Problem(404, "ORDER_NOT_FOUND", f"no order {order_id!r}")
    return order_view(order)

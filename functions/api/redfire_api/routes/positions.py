"""Positions: held quantities marked to the latest price, and closing them."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from redfire_api.deps import correlation_id, trading_store
from redfire_api.paging import Cursor, Limit, offset_page
from redfire_api.problems import Problem
from redfire_api.security import require
from redfire_api.valuation import Marked, mark, open_positions
from redfire_core.auth import Principal
from redfire_core.events import OrderView
from redfire_core.services.managing import close_position
from redfire_core.views import order_view

router = APIRouter(prefix="/v1/positions", tags=["positions"])
LIST = "/v1/positions"  # what its cursors are bound to (GraphQL's positions share them)


class PositionDetail(BaseModel):
    """A position valued at ``market_price``: the latest price, else the average cost."""

    symbol: str
    quantity: str
    average_cost: str
    cost_basis: str
    realized_pnl: str
    market_price: str
    market_value: str
    unrealized_pnl: str


class PositionPage(BaseModel):
    items: list[PositionDetail]
    next_cursor: str | None


def position_detail(marked: Marked) -> PositionDetail:
    position = marked.position
    return PositionDetail(
        symbol=position.symbol,
        quantity=format(position.quantity, "f"),
        average_cost=format(position.average_cost, "f"),
        cost_basis=format(position.cost_basis, "f"),
        realized_pnl=format(position.realized_pnl, "f"),
        market_price=format(marked.price, "f"),
        market_value=format(marked.market_value, "f"),
        unrealized_pnl=format(marked.unrealized_pnl, "f"),
    )


@router.get("", response_model=PositionPage)
def list_positions(
    limit: Limit = 100,
    cursor: Cursor = None,
    principal: Principal = Depends(require("read")),
) -> PositionPage:
    """Every position that is not flat, by symbol."""
    items, next_cursor = offset_page(
        open_positions(trading_store(), principal.account_id),
        limit,
        cursor,
        LIST,
        principal.account_id,
    )
    return PositionPage(items=[position_detail(m) for m in items], next_cursor=next_cursor)


@router.get("/{symbol}", response_model=PositionDetail)
def get_position(symbol: str, principal: Principal = Depends(require("read"))) -> PositionDetail:
    store = trading_store()
    position = store.get_position(principal.account_id, symbol[:32])
    if position.quantity == 0:
        raise _not_found(symbol)
    return position_detail(mark(store, position))


@router.delete(
    "/{symbol}",
    status_code=201,
    response_model=OrderView,
    responses={200: {"model": OrderView, "description": "a closing order is already open"}},
)
def close(
    symbol: str,
    request: Request,
    response: Response,
    principal: Principal = Depends(require("trade")),
) -> OrderView:
    """Flatten the position with a market order; while one is open, that one is returned."""
    placed = close_position(
        trading_store(),
        principal.account_id,
        symbol[:32],
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )
    if placed is None:
        raise _not_found(symbol)
    if not placed.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/orders/{placed.order.id}"
    return order_view(placed.order)


def _not_found(symbol: str) -> Problem:
    return Problem(404, "POSITION_NOT_FOUND", f"no open position in {symbol!r}")

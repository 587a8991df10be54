"""Trades: the account's fills."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from redfire_api.deps import trading_store
from redfire_api.paging import Cursor, Limit, cursor_checked, seal, unseal
from redfire_api.security import require
from redfire_core.auth import Principal
from redfire_core.events import FillView
from redfire_core.views import fill_view

router = APIRouter(prefix="/v1/trades", tags=["trades"])
LIST = "/v1/trades"  # what its cursors are bound to (GraphQL's trades share them)


class TradePage(BaseModel):
    items: list[FillView]
    next_cursor: str | None


@router.get("", response_model=TradePage)
def list_trades(
    limit: Limit = 100,
    cursor: Cursor = None,
    symbol: str | None = Query(None, min_length=1, max_length=32),
    order_id: str | None = Query(None, min_length=1, max_length=64),
    principal: Principal = Depends(require("read")),
) -> TradePage:
    """Oldest first. A filtered page may hold fewer than ``limit`` trades and still have a
    next page: follow ``next_cursor`` until it is null."""
    position = unseal(cursor, LIST, principal.account_id)
    with cursor_checked():
        page = trading_store().list_trades(
            principal.account_id, limit, position, symbol=symbol, order_id=order_id
        )
    next_cursor = seal(page.next_cursor, LIST, principal.account_id)
    return TradePage(items=[fill_view(f) for f in page.items], next_cursor=next_cursor)

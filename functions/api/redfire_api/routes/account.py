"""The caller's account, valued at the latest prices."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from redfire_api.deps import trading_store
from redfire_api.problems import Problem
from redfire_api.security import require
from redfire_core.auth import Principal
from redfire_core.events import iso

router = APIRouter(prefix="/v1/account", tags=["account"])


class AccountView(BaseModel):
    id: str
    currency: str
    cash: str
    equity: str
    buying_power: str
    realized_pnl: str
    unrealized_pnl: str
    commissions: str
    margin_enabled: bool
    leverage: str
    created_at: str


@router.get("", response_model=AccountView)
def get_account(principal: Principal = Depends(require("read"))) -> AccountView:
    store = trading_store()
    account = store.get_account(principal.account_id)
    if account is None:
        raise Problem(404, "ACCOUNT_NOT_FOUND", "the account does not exist")
    market_value = unrealized = Decimal(0)
    for position in store.list_positions(account.id):
        if position.quantity == 0:
            continue
        latest = store.latest_price(position.symbol)
        price = latest.price if latest else position.average_cost
        market_value += position.market_value(price)
        unrealized += position.unrealized_pnl(price)
    equity = account.cash + market_value
    buying_power = equity * account.leverage if account.margin_enabled else account.cash
    return AccountView(
        id=account.id,
        currency=account.currency,
        cash=format(account.cash, "f"),
        equity=format(equity, "f"),
        buying_power=format(max(buying_power, Decimal(0)), "f"),
        realized_pnl=format(account.realized_pnl, "f"),
        unrealized_pnl=format(unrealized, "f"),
        commissions=format(account.commissions, "f"),
        margin_enabled=account.margin_enabled,
        leverage=format(account.leverage, "f"),
        created_at=iso(account.created_at),
    )

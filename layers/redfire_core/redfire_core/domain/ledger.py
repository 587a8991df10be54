"""The cash ledger: every change of an account's cash is a line, and the lines sum to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from redfire_core.domain.positions import Fill


class ActivityType(StrEnum):
    DEPOSIT = "deposit"
    FILL = "fill"
    COMMISSION = "commission"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class Activity:
    id: str  # unique per account; derived from what caused it, so rewriting it is harmless
    account_id: str
    type: ActivityType
    amount: Decimal  # signed change of cash
    at: datetime
    symbol: str | None = None
    order_id: str | None = None
    trade_id: str | None = None
    description: str = ""


def fill_activities(fill: Fill) -> list[Activity]:
    """The trade's cash and, when charged, its commission."""
    lines = [
        Activity(
            id=f"{fill.trade_id}-fill",
            account_id=fill.account_id,
            type=ActivityType.FILL,
            amount=-fill.signed_quantity * fill.price,
            at=fill.executed_at,
            symbol=fill.symbol,
            order_id=fill.order_id,
            trade_id=fill.trade_id,
            description=f"{fill.side} {fill.quantity} {fill.symbol} @ {fill.price}",
        )
    ]
    if fill.commission:
        lines.append(
            Activity(
                id=f"{fill.trade_id}-commission",
                account_id=fill.account_id,
                type=ActivityType.COMMISSION,
                amount=-fill.commission,
                at=fill.executed_at,
                symbol=fill.symbol,
                order_id=fill.order_id,
                trade_id=fill.trade_id,
                description=f"commission on {fill.trade_id}",
            )
        )
    return lines


def deposit(account_id: str, amount: Decimal, at: datetime, reference: str) -> Activity:
    return Activity(
        id=f"deposit-{reference}",
        account_id=account_id,
        type=ActivityType.DEPOSIT,
        amount=amount,
        at=at,
        description="deposit",
    )

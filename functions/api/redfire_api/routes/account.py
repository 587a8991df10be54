"""The caller's account, valued at the latest prices; its paper costs; its cash ledger."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from redfire_api.deps import audit_log, trading_store
from redfire_api.paging import Cursor, Limit, cursor_checked, seal, unseal
from redfire_api.problems import Problem, invalid
from redfire_api.security import require
from redfire_api.valuation import open_positions
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.auth import Principal
from redfire_core.config import get_settings
from redfire_core.domain.ledger import Activity
from redfire_core.domain.money import decimal_pattern
from redfire_core.domain.positions import Account
from redfire_core.events import iso
from redfire_core.services.retrying import on_conflict_retry

router = APIRouter(prefix="/v1/account", tags=["account"])
ACTIVITIES = "/v1/account/activities"  # what the ledger's cursors are bound to

NonNegativeDecimal = Annotated[str, Field(pattern=decimal_pattern(16, 12))]


def _at_most(limit: Decimal) -> AfterValidator:
    def check(text: str) -> str:
        if Decimal(text) > limit:
            raise ValueError(f"must be at most {limit}")
        return text

    return AfterValidator(check)


class ExecutionView(BaseModel):
    """How paper fills are costed: commission, slippage and the share of a bar's volume."""

    commission_rate: str
    commission_per_unit: str
    commission_minimum: str
    slippage_bps: str
    max_volume_share: str


class AccountView(BaseModel):
    id: str
    currency: str
    cash: str
    reserved: str
    equity: str
    buying_power: str
    realized_pnl: str
    unrealized_pnl: str
    commissions: str
    margin_enabled: bool
    leverage: str
    execution: ExecutionView
    created_at: str


class ExecutionChanges(BaseModel):
    """Any of the paper execution settings; non-negative decimal strings."""

    model_config = ConfigDict(extra="forbid")

    commission_rate: NonNegativeDecimal | None = None
    commission_per_unit: NonNegativeDecimal | None = None
    commission_minimum: NonNegativeDecimal | None = None
    slippage_bps: Annotated[NonNegativeDecimal, _at_most(Decimal(10_000))] | None = None
    max_volume_share: Annotated[NonNegativeDecimal, _at_most(Decimal(1))] | None = None

    @model_validator(mode="after")
    def no_nulls(self) -> ExecutionChanges:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{nulls[0]} cannot be null")
        return self


class ActivityView(BaseModel):
    """A line of the cash ledger: ``amount`` is the signed change of cash."""

    id: str
    type: str
    amount: str
    at: str
    symbol: str | None
    order_id: str | None
    trade_id: str | None
    description: str


class ActivityPage(BaseModel):
    items: list[ActivityView]
    next_cursor: str | None


@router.get("", response_model=AccountView)
def get_account(principal: Principal = Depends(require("read"))) -> AccountView:
    store = trading_store()
    return account_view(store, account_or_404(store, principal.account_id))


@router.patch("", response_model=AccountView)
def change_execution(
    body: ExecutionChanges, principal: Principal = Depends(require("admin"))
) -> AccountView:
    """Change how this account's paper fills are costed (admin)."""
    changes = {name: Decimal(value) for name, value in body.model_dump(exclude_none=True).items()}
    if not changes:
        raise invalid("body", "name at least one setting to change")
    above = get_settings().caps().violations(changes)
    if above:  # each setting above the operator's stage cap, naming the cap
        raise Problem(422, "REQUEST_INVALID", above[0]["message"], errors=above)
    store = trading_store()

    def attempt() -> tuple[Account, Account]:
        before = account_or_404(store, principal.account_id)
        after = replace(
            before,
            execution=replace(before.execution, **changes),
            version=before.version + 1,
        )
        store.save_account(before, after)  # conditional on the version read
        return before, after

    before, after = on_conflict_retry(attempt)
    audit_log().record(
        account_id=principal.account_id,
        actor=principal.subject,
        action="account.execution_changed",
        detail={
            "before": {k: str(v) for k, v in asdict(before.execution).items() if k in changes},
            "after": {k: str(v) for k, v in changes.items()},
        },
        now=datetime.now(UTC),
    )
    return account_view(store, after)


@router.get("/activities", response_model=ActivityPage)
def list_activities(
    limit: Limit = 100,
    cursor: Cursor = None,
    principal: Principal = Depends(require("read")),
) -> ActivityPage:
    """The cash ledger, oldest first: the amounts sum to the account's cash."""
    position = unseal(cursor, ACTIVITIES, principal.account_id)
    with cursor_checked():
        page = trading_store().list_activities(principal.account_id, limit, position)
    next_cursor = seal(page.next_cursor, ACTIVITIES, principal.account_id)
    return ActivityPage(items=[activity_view(a) for a in page.items], next_cursor=next_cursor)


def account_view(store: TradingStore, account: Account) -> AccountView:
    marked = open_positions(store, account.id)
    market_value = sum((m.market_value for m in marked), Decimal(0))
    gross_exposure = sum((abs(m.market_value) for m in marked), Decimal(0))
    unrealized = sum((m.unrealized_pnl for m in marked), Decimal(0))
    equity = account.cash + market_value
    execution = account.execution
    return AccountView(
        id=account.id,
        currency=account.currency,
        cash=_text(account.cash),
        reserved=_text(account.reserved),
        equity=_text(equity),
        buying_power=_text(account.buying_power(equity, gross_exposure)),
        realized_pnl=_text(account.realized_pnl),
        unrealized_pnl=_text(unrealized),
        commissions=_text(account.commissions),
        margin_enabled=account.margin_enabled,
        leverage=_text(account.leverage),
        execution=ExecutionView(
            commission_rate=_text(execution.commission_rate),
            commission_per_unit=_text(execution.commission_per_unit),
            commission_minimum=_text(execution.commission_minimum),
            slippage_bps=_text(execution.slippage_bps),
            max_volume_share=_text(execution.max_volume_share),
        ),
        created_at=iso(account.created_at),
    )


def activity_view(activity: Activity) -> ActivityView:
    return ActivityView(
        id=activity.id,
        type=activity.type.value,
        amount=_text(activity.amount),
        at=iso(activity.at),
        symbol=activity.symbol,
        order_id=activity.order_id,
        trade_id=activity.trade_id,
        description=activity.description,
    )


def account_or_404(store: TradingStore, account_id: str) -> Account:
    account = store.get_account(account_id)
    if account is None:
        raise Problem(404, "ACCOUNT_NOT_FOUND", "the account does not exist")
    return account


def _text(value: Decimal) -> str:
    return format(value, "f")

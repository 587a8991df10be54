"""Backtests and parameter sweeps as a service: request, then read progress and results."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from redfire_api.deps import correlation_id
from redfire_api.paging import Cursor, Limit, cursor_checked, seal, unseal
from redfire_api.problems import Problem
from redfire_api.security import require
from redfire_core.adapters.backtest_store import BacktestStore
from redfire_core.auth import Principal
from redfire_core.config import get_settings
from redfire_core.domain.identifiers import printable_ascii_pattern
from redfire_core.domain.money import decimal_pattern
from redfire_core.events import BacktestView
from redfire_core.services import backtesting

router = APIRouter(prefix="/v1/backtests", tags=["backtests"])
LIST = "/v1/backtests"  # what its cursors are bound to (GraphQL's backtests share them)

RESULT_URL_SECONDS = 900
DecimalString = Annotated[str, Field(pattern=decimal_pattern(15, 12), max_length=28)]
Name = Annotated[str, Field(pattern=printable_ascii_pattern(64))]
Time = Annotated[str, Field(min_length=10, max_length=40, description="ISO 8601, UTC")]
ParamValue = str | int | float | bool


@cache
def store() -> BacktestStore:
    return BacktestStore()


class DataSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy: Name
    symbol: str = Field(pattern=printable_ascii_pattern(32))
    interval: str = Field(max_length=4, description="1m, 5m, 15m, 1h, 1d or 1w")
    start: Time
    end: Time = Field(description="exclusive")
    cash: DecimalString = "10000"
    commission: DecimalString = Field("0", description="rate of notional per fill")
    slippage_bps: DecimalString = Field(
        "0", description="basis points market and stop fills move against the trader"
    )


class BacktestRequest(DataSpec):
    """A backtest of ``strategy`` with ``params`` over the stored bars [start, end)."""

    params: dict[Name, ParamValue] = Field(default_factory=dict, max_length=32)
    apply_risk_limits: bool = Field(
        False, description="check every order against the account's risk limits for the symbol"
    )


class SweepRequest(DataSpec):
    """Every combination of ``grid`` (that passes ``constraint``), ranked by ``maximize``."""

    grid: dict[Name, list[ParamValue]] = Field(min_length=1, max_length=8)
    params: dict[Name, ParamValue] = Field(
        default_factory=dict, max_length=32, description="fixed parameters"
    )
    constraint: str | None = Field(
        None, max_length=200, description="e.g. 'fast < slow': comparisons joined by 'and'"
    )
    maximize: str = Field("sqn", max_length=40, description="the statistic to rank by")
    chunk_size: int | None = Field(None, ge=1, le=1000, description="combinations per worker")


class ResultLinks(BaseModel):
    equity_url: str
    trades_url: str
    expires_in: int


class Backtest(BacktestView):
    results: ResultLinks | None = None


class BacktestPage(BaseModel):
    items: list[BacktestView]
    next_cursor: str | None


class SweepResult(BaseModel):
    params: dict[str, Any]
    statistics: dict[str, Any]


class Sweep(BaseModel):
    id: str
    status: str
    strategy: str
    symbol: str
    interval: str
    start: str
    end: str
    maximize: str
    combinations: int
    completed_combinations: int
    failed_combinations: int
    chunks: int
    completed_chunks: int
    progress_pct: float
    results: list[SweepResult] = Field(description="best first (so far, while running)")
    created_at: str
    completed_at: str | None


def _not_found(kind: str, item_id: str) -> Problem:
    return Problem(404, f"{kind.upper()}_NOT_FOUND", f"no {kind} {item_id!r}")


@router.post("/sweeps", status_code=202, response_model=Sweep)
def create_sweep(
    body: SweepRequest,
    request: Request,
    response: Response,
    principal: Principal = Depends(require("trade")),
) -> dict[str, Any]:
    sweep = backtesting.request_sweep(
        store(),
        principal.account_id,
        body.model_dump(),
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
        quotas=get_settings().quotas(),
    )
    response.headers["Location"] = f"/v1/backtests/sweeps/{sweep.id}"
    return backtesting.sweep_view(store(), sweep)


@router.get("/sweeps/{sweep_id}", response_model=Sweep)
def get_sweep(sweep_id: str, principal: Principal = Depends(require("read"))) -> dict[str, Any]:
    sweep = store().get_sweep(principal.account_id, sweep_id)
    if sweep is None:
        raise _not_found("sweep", sweep_id)
    return backtesting.sweep_view(store(), sweep)


@router.post("", status_code=202, response_model=Backtest)
def create_backtest(
    body: BacktestRequest,
    request: Request,
    response: Response,
    principal: Principal = Depends(require("trade")),
) -> Backtest:
    view = backtesting.request_backtest(
        store(),
        principal.account_id,
        body.model_dump(),
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
        quotas=get_settings().quotas(),
    )
    response.headers["Location"] = f"/v1/backtests/{view.id}"
    return Backtest(**view.model_dump())


@router.get("", response_model=BacktestPage)
def list_backtests(
    limit: Limit = 50,
    cursor: Cursor = None,
    principal: Principal = Depends(require("read")),
) -> BacktestPage:
    position = unseal(cursor, LIST, principal.account_id)
    with cursor_checked():
        items, next_position = store().list_backtests(principal.account_id, limit, position)
    return BacktestPage(items=items, next_cursor=seal(next_position, LIST, principal.account_id))


@router.get("/{backtest_id}", response_model=Backtest)
def get_backtest(backtest_id: str, principal: Principal = Depends(require("read"))) -> Backtest:
    found = store().get_backtest(principal.account_id, backtest_id)
    if found is None:
        raise _not_found("backtest", backtest_id)
    view = found[0]
    links = None
    if view.status == "completed":
        # A reused result points at the files of the backtest that produced them.
        owner = view.reused_from or view.id
        links = ResultLinks(
            equity_url=store().result_url(
                principal.account_id, owner, "equity", RESULT_URL_SECONDS
            ),
            trades_url=store().result_url(
                principal.account_id, owner, "trades", RESULT_URL_SECONDS
            ),
            expires_in=RESULT_URL_SECONDS,
        )
    return Backtest(**view.model_dump(), results=links)

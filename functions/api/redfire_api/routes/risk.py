"""Risk: limits as data, trading states (the kill switch) and the dry run."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from redfire_api.deps import audit_log, correlation_id, trading_store
from redfire_api.problems import Problem
from redfire_api.routes.orders import PlaceOrder
from redfire_api.security import require
from redfire_core.adapters.risk_store import PLATFORM, RiskStore
from redfire_core.auth import Principal
from redfire_core.domain.caps import AboveCap
from redfire_core.domain.errors import DomainError
from redfire_core.domain.risk import TradingState
from redfire_core.services.risk_control import (
    change_limits,
    change_state,
    limits_view,
    state_view,
)
from redfire_core.services.risk_review import dry_run

router = APIRouter(prefix="/v1/risk", tags=["risk"])


@cache
def risk_store() -> RiskStore:
    return RiskStore()


class StateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["active", "reducing", "halted"]
    reason: str = Field(min_length=1, max_length=500)


def _invalid(error: DomainError) -> Problem:
    if isinstance(error, AboveCap):  # every field above its cap, each naming the cap
        return Problem(422, "REQUEST_INVALID", error.message, errors=list(error.errors))
    return Problem(
        422,
        "REQUEST_INVALID",
        error.message,
        errors=[{"field": error.field or "body", "code": error.code, "message": error.message}],
    )


@router.get("/limits")
def get_limits(principal: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Stage defaults, this account's overrides (account and per symbol), what applies."""
    return limits_view(risk_store(), principal.account_id)


@router.put("/limits")
def put_limits(
    body: dict[str, Any] = Body(
        ...,
        examples=[
            {"account": {"max_order_qty": "100"}, "symbols": {"GOOG": {"price_band_pct": "2"}}}
        ],
    ),
    principal: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    """Change overrides (admin): decimal strings, percentages in percent, ``null`` removes."""
    try:
        return change_limits(
            risk_store(),
            audit_log(),
            principal.account_id,
            body,
            actor=principal.subject,
            now=datetime.now(UTC),
        )
    except DomainError as error:
        raise _invalid(error) from None


@router.get("/state")
def get_state(principal: Principal = Depends(require("read"))) -> dict[str, Any]:
    """This account's trading state, with the global one."""
    return state_view(risk_store(), principal.account_id)


@router.put("/state")
def put_state(
    body: StateChange, request: Request, principal: Principal = Depends(require("admin"))
) -> dict[str, Any]:
    """Set this account's state (admin); ``halted`` cancels its open orders."""
    return change_state(
        trading_store(),
        risk_store(),
        audit_log(),
        principal.account_id,
        TradingState(body.state),
        body.reason,
        actor=principal.subject,
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )


@router.get("/global-state")
def get_global_state(_: Principal = Depends(require("operator"))) -> dict[str, Any]:
    return risk_store().get_state(PLATFORM).as_dict()


@router.put("/global-state")
def put_global_state(
    body: StateChange, request: Request, principal: Principal = Depends(require("operator"))
) -> dict[str, Any]:
    """Set every account's state (operator); ``halted`` cancels every open order."""
    return change_state(
        trading_store(),
        risk_store(),
        audit_log(),
        PLATFORM,
        TradingState(body.state),
        body.reason,
        actor=principal.subject,
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )


@router.post("/check")
def check(body: PlaceOrder, principal: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Dry run: every rule's verdict for this order and whether it would pass. Places
    nothing and moves no counter."""
    return dry_run(
        trading_store(),
        risk_store(),
        principal.account_id,
        body.model_dump(exclude_none=True),
        datetime.now(UTC),
    )

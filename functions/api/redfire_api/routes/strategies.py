"""Live strategy instances of the caller's account: start, list, read, stop."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from redfire_api.deps import trading_store
from redfire_api.paging import Cursor, Limit, cursor_checked, seal, unseal
from redfire_api.problems import Problem
from redfire_api.security import require
from redfire_core.adapters.market_data import MarketDataStore
from redfire_core.adapters.strategy_instances import StrategyInstance, StrategyInstanceStore
from redfire_core.auth import Principal
from redfire_core.config import get_settings
from redfire_core.domain.identifiers import printable_ascii_pattern
from redfire_core.events import iso
from redfire_core.services import strategy_instances as service
from redfire_core.services.market_data import market_data_store
from redfire_core.strategies import catalog

router = APIRouter(prefix="/v1/strategies/instances", tags=["strategies"])
catalog_router = APIRouter(prefix="/v1/strategies", tags=["strategies"])
INSTANCES = "/v1/strategies/instances"  # what its cursors are bound to
ParamValue = bool | int | float | str


@cache
def instance_store() -> StrategyInstanceStore:
    return StrategyInstanceStore()


@cache
def bar_store() -> MarketDataStore:
    return market_data_store()


class StartInstance(BaseModel):
    """A strategy (bundled or a plug-in) with its parameters, on a symbol and interval."""

    model_config = ConfigDict(extra="forbid")

    strategy: str = Field(pattern=printable_ascii_pattern(64))
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=32)
    symbol: str = Field(pattern=printable_ascii_pattern(32))
    interval: str = Field(min_length=1, max_length=8)


class InstanceView(BaseModel):
    id: str
    strategy: str
    params: dict[str, Any]
    symbol: str
    interval: str
    status: str = Field(description="running | stopped | error (the strategy raised)")
    created_at: str
    stopped_at: str | None
    last_bar_start: str | None = Field(description="start of the last bar it handled")
    state: dict[str, Any] = Field(description="the strategy's persisted state")
    last_error: dict[str, Any] | None = Field(
        None, description="{code, message, bar_time} of the error that stopped it"
    )


class StrategyDescription(BaseModel):
    name: str
    description: str
    distribution: str = Field(description="'redfire' for the bundled ones, else the plug-in's")
    version: str
    parameters: dict[str, dict[str, Any]] = Field(
        description="name -> {type, default, minimum, maximum} (JSON Schema keywords)"
    )


class RefusedPlugin(BaseModel):
    name: str
    distribution: str
    reason: str


class StrategyCatalog(BaseModel):
    items: list[StrategyDescription]
    next_cursor: str | None = None
    refused: list[RefusedPlugin] = Field(
        description="plug-ins not offered: named like a bundled strategy, or failing to load"
    )


class InstancePage(BaseModel):
    items: list[InstanceView]
    next_cursor: str | None


def instance_view(instance: StrategyInstance) -> InstanceView:
    return InstanceView(
        id=instance.id,
        strategy=instance.strategy,
        params=instance.params,
        symbol=instance.symbol,
        interval=instance.interval,
        status=instance.status,
        created_at=iso(instance.created_at),
        stopped_at=iso(instance.stopped_at) if instance.stopped_at else None,
        last_bar_start=iso(instance.last_bar_start) if instance.last_bar_start else None,
        state=instance.state,
        last_error=instance.last_error,
    )


def _not_found(instance_id: str) -> Problem:
    return Problem(404, "STRATEGY_INSTANCE_NOT_FOUND", f"no strategy instance {instance_id!r}")


@router.post("", status_code=201, response_model=InstanceView)
def start(
    body: StartInstance, response: Response, principal: Principal = Depends(require("trade"))
) -> InstanceView:
    """Start the strategy: it acts on bars that arrive from now on, with indicators warmed
    up from the stored history, and places orders through the normal order path."""
    instance = service.start_instance(
        instance_store(),
        trading_store(),
        bar_store(),
        principal.account_id,
        strategy=body.strategy,
        params=body.params,
        symbol=body.symbol,
        interval=body.interval,
        now=datetime.now(UTC),
        quotas=get_settings().quotas(),
    )
    response.headers["Location"] = f"/v1/strategies/instances/{instance.id}"
    return instance_view(instance)


@router.get("", response_model=InstancePage)
def list_instances(
    limit: Limit = 100, cursor: Cursor = None, principal: Principal = Depends(require("read"))
) -> InstancePage:
    """The account's instances, newest first."""
    position = unseal(cursor, INSTANCES, principal.account_id)
    with cursor_checked():
        page = service.list_instances(instance_store(), principal.account_id, limit, position)
    next_cursor = seal(page.next_cursor, INSTANCES, principal.account_id)
    return InstancePage(items=[instance_view(i) for i in page.items], next_cursor=next_cursor)


@router.get("/{instance_id}", response_model=InstanceView)
def get_instance(instance_id: str, principal: Principal = Depends(require("read"))) -> InstanceView:
    instance = service.get_instance(instance_store(), principal.account_id, instance_id[:64])
    if instance is None:
        raise _not_found(instance_id)
    return instance_view(instance)


@router.post("/{instance_id}/stop", response_model=InstanceView)
def stop(instance_id: str, principal: Principal = Depends(require("trade"))) -> InstanceView:
    """Stop the instance (idempotent). Orders it placed are left as they are."""
    instance = service.stop_instance(
        instance_store(), principal.account_id, instance_id[:64], datetime.now(UTC)
    )
    if instance is None:
        raise _not_found(instance_id)
    return instance_view(instance)


@catalog_router.get("", response_model=StrategyCatalog)
def list_strategies(principal: Principal = Depends(require("read"))) -> StrategyCatalog:
    """The strategies this stage can run (bundled and plug-ins) with their parameters."""
    items, refused = catalog()
    return StrategyCatalog(
        items=[StrategyDescription(**item) for item in items],
        refused=[RefusedPlugin(**entry) for entry in refused],
    )

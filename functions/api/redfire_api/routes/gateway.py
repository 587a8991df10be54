"""The account's gateway: paper, Alpaca or a ccxt exchange (docs/trading.md)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import cache
from typing import Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from redfire_api.deps import audit_log, trading_store
from redfire_api.problems import Problem
from redfire_api.security import require
from redfire_core.adapters.venue_queues import SqsVenueSender, VenueSender
from redfire_core.adapters.venue_secrets import VenueSecrets, masked
from redfire_core.auth import Principal
from redfire_core.config import get_settings
from redfire_core.domain.positions import Account
from redfire_core.services.venue_accounts import (
    CONNECTING,
    ERROR,
    PAPER,
    GatewaySetting,
    set_gateway,
)
from redfire_core.venues import VenueMode

router = APIRouter(prefix="/v1/account/gateway", tags=["account"])
VENUE_CREDENTIALS_INVALID = "VENUE_CREDENTIALS_INVALID"


@cache
def venue_secrets() -> VenueSecrets:
    return VenueSecrets()


@cache
def venue_sender() -> VenueSender:
    return SqsVenueSender()


class GatewayChange(BaseModel):
    """Where the account's orders go; ``key_id`` and ``secret`` for a venue (stored in
    Secrets Manager only, never echoed)."""

    model_config = ConfigDict(extra="forbid")

    gateway: str = Field(max_length=64, examples=["paper", "alpaca", "ccxt:binance"])
    mode: Literal["paper", "live"] = "paper"
    key_id: str | None = Field(default=None, max_length=256)
    secret: SecretStr | None = Field(default=None, max_length=1024)


class GatewayView(BaseModel):
    gateway: str
    mode: str
    status: str | None
    error: str | None
    key_id: str | None  # masked: the last 4 characters


@router.get("", response_model=GatewayView)
def get_gateway(principal: Principal = Depends(require("read"))) -> GatewayView:
    return _view(_account(principal.account_id))


@router.put(
    "",
    response_model=GatewayView,
    responses={202: {"description": "the venue is still checking the credentials"}},
)
def put_gateway(
    body: GatewayChange, response: Response, principal: Principal = Depends(require("admin"))
) -> GatewayView:
    """Route the account's orders (admin). A venue's credentials are checked with a
    read-only call: 200 ``connected``, 422 ``VENUE_CREDENTIALS_INVALID`` with the venue's
    message, or 202 ``connecting`` when the check takes longer than 5 s."""
    setting = GatewaySetting(
        gateway=body.gateway,
        mode=VenueMode(body.mode),
        key_id=body.key_id,
        secret=body.secret.get_secret_value() if body.secret else None,
    )
    account = set_gateway(
        trading_store(),
        venue_secrets(),
        venue_sender(),
        audit_log(),
        principal.account_id,
        setting,
        actor=principal.subject,
        now=datetime.now(UTC),
    )
    if account.gateway == PAPER:
        return _view(account)
    account = _wait_for_check(principal.account_id, get_settings().gateway_connect_wait_seconds)
    if account.gateway_status == ERROR:
        raise Problem(422, VENUE_CREDENTIALS_INVALID, account.gateway_error or "refused")
    if account.gateway_status == CONNECTING:
        response.status_code = 202
    return _view(account)


def _wait_for_check(account_id: str, seconds: float) -> Account:
    """Re-read the book until the venue function has checked the credentials (50 ms, then
    every 250 ms), for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    pause = 0.05
    while True:
        account = _account(account_id)
        if account.gateway_status != CONNECTING or time.monotonic() + pause > deadline:
            return account
        time.sleep(pause)
        pause = 0.25


def _account(account_id: str) -> Account:
    account = trading_store().get_account(account_id)
    if account is None:
        raise Problem(404, "ACCOUNT_NOT_FOUND", "the account does not exist")
    return account


def _view(account: Account) -> GatewayView:
    key_id = None
    if account.gateway != PAPER:
        credentials = venue_secrets().get(account.id)
        key_id = masked(credentials.key_id) if credentials else None
    return GatewayView(
        gateway=account.gateway,
        mode=account.gateway_mode,
        status=account.gateway_status,
        error=account.gateway_error,
        key_id=key_id,
    )

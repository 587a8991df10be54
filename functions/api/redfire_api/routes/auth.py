"""Exchanging an API key for a 30-minute bearer token (the one unauthenticated write).

Throttled per source address and per (key id, address) before any hashing, so guesses
cannot buy scrypt work faster than the limits allow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from redfire_api.deps import api_keys
from redfire_api.security import signing_secret, throttle_token_exchange, unauthorized
from redfire_core.config import get_settings
from redfire_core.domain.errors import DomainError
from redfire_core.services.keys import exchange

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_id: str = Field(min_length=1, max_length=64)
    secret: str = Field(min_length=1, max_length=128)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


@router.post("/token", response_model=TokenResponse)
def token(body: TokenRequest, request: Request) -> TokenResponse:
    throttle_token_exchange(request, body.key_id)
    settings = get_settings()
    try:
        access_token = exchange(
            api_keys(),
            signing_secret(),
            settings,
            key_id=body.key_id,
            secret=body.secret,
            now=datetime.now(UTC),
        )
    except DomainError:
        raise unauthorized() from None
    return TokenResponse(access_token=access_token, expires_in=settings.token_ttl_seconds)

"""API keys of the caller's account: create (secret shown once), list, revoke.

Account keys are the admin's to create and revoke, operator keys an operator's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from redfire_api.deps import api_keys, audit_log
from redfire_api.problems import Problem
from redfire_api.security import require_any
from redfire_core.auth import Principal
from redfire_core.domain.errors import DomainError
from redfire_core.domain.keys import ApiKey
from redfire_core.events import iso
from redfire_core.services.keys import create_key, revoke_key

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])
Scope = Annotated[str, Field(max_length=16)]


class CreateKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    scopes: list[Scope] = Field(min_length=1, max_length=4)


class KeyView(BaseModel):
    key_id: str
    name: str
    scopes: list[str]
    created_at: str
    created_by: str
    revoked_at: str | None


class CreatedKey(KeyView):
    secret: str | None = Field(
        description="shown once; only a salted hash is stored, so an idempotent replay of "
        "this answer (same Idempotency-Key) carries null"
    )


class KeyPage(BaseModel):
    items: list[KeyView]
    next_cursor: str | None


def key_view(key: ApiKey) -> KeyView:
    return KeyView(
        key_id=key.key_id,
        name=key.name,
        scopes=sorted(key.scopes),
        created_at=iso(key.created_at),
        created_by=key.created_by,
        revoked_at=iso(key.revoked_at) if key.revoked_at else None,
    )


@router.post("", status_code=201, response_model=CreatedKey)
def create(
    body: CreateKey, principal: Principal = Depends(require_any("admin", "operator"))
) -> CreatedKey:
    try:
        key, secret = create_key(
            api_keys(),
            audit_log(),
            principal,
            name=body.name,
            scopes=set(body.scopes),
            now=datetime.now(UTC),
        )
    except DomainError as error:
        raise _forbidden_as_403(error) from None
    return CreatedKey(**key_view(key).model_dump(), secret=secret)


@router.get("", response_model=KeyPage)
def list_keys(principal: Principal = Depends(require_any("admin", "operator"))) -> KeyPage:
    keys = api_keys().list_for(principal.account_id)
    return KeyPage(items=[key_view(k) for k in keys], next_cursor=None)


@router.delete("/{key_id}", response_model=KeyView)
def revoke(
    key_id: str, principal: Principal = Depends(require_any("admin", "operator"))
) -> KeyView:
    try:
        key = revoke_key(api_keys(), audit_log(), principal, key_id[:64], now=datetime.now(UTC))
    except DomainError as error:
        raise _forbidden_as_403(error) from None
    return key_view(key)


def _forbidden_as_403(error: DomainError) -> Exception:
    """The domain's FORBIDDEN is a role too small (403); other codes map as usual."""
    if error.code == "FORBIDDEN":
        return Problem(403, "FORBIDDEN", error.message)
    return error

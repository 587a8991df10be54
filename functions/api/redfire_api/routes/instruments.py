"""Instruments: anyone may read them; only operators create or change them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from redfire_api.deps import audit_log, trading_store
from redfire_api.paging import Cursor, Limit, offset_page
from redfire_api.problems import Problem, invalid
from redfire_api.security import require, require_any
from redfire_core.auth import Principal
from redfire_core.calendars import calendar_names
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.money import decimal_pattern
from redfire_core.services.instruments import (
    create_instrument,
    instrument_cache,
    update_instrument,
)

router = APIRouter(prefix="/v1/instruments", tags=["instruments"])
LIST = "/v1/instruments"  # what its cursors are bound to (GraphQL's instruments share them)


def _positive(text: str) -> str:
    if Decimal(text) <= 0:
        raise ValueError("must be greater than zero")
    return text


# A step or a minimum: a positive decimal string ("0.01", "1").
PositiveDecimal = Annotated[str, Field(pattern=decimal_pattern(16, 12)), AfterValidator(_positive)]
Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,31}$")]


def _known_calendar(name: str) -> str:
    if name not in calendar_names():
        raise ValueError(f"unknown calendar; known: {', '.join(calendar_names())}")
    return name


# "24/7", "weekdays" or an exchange whose session table ships with the code ("XNYS").
Calendar = Annotated[
    str,
    AfterValidator(_known_calendar),
    WithJsonSchema({"type": "string", "enum": list(calendar_names())}),
]
DECIMAL_FIELDS = ("tick_size", "lot_size", "min_quantity")


class InstrumentView(BaseModel):
    symbol: str
    asset_class: str
    currency: str
    tick_size: str
    lot_size: str
    min_quantity: str
    price_precision: int
    tradable: bool
    calendar: Calendar


class InstrumentPage(BaseModel):
    items: list[InstrumentView]
    next_cursor: str | None


class NewInstrument(BaseModel):
    """An instrument; tick size, lot size and minimum quantity are decimal strings."""

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol
    asset_class: str = Field(min_length=1, max_length=32)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tick_size: PositiveDecimal
    lot_size: PositiveDecimal
    min_quantity: PositiveDecimal
    price_precision: int = Field(ge=0, le=12)
    tradable: bool = True
    calendar: Calendar = "weekdays"


class InstrumentChanges(BaseModel):
    """Any of an instrument's fields but its symbol; a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid")

    asset_class: str | None = Field(None, min_length=1, max_length=32)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    tick_size: PositiveDecimal | None = None
    lot_size: PositiveDecimal | None = None
    min_quantity: PositiveDecimal | None = None
    price_precision: int | None = Field(None, ge=0, le=12)
    tradable: bool | None = None
    calendar: Calendar | None = None

    @model_validator(mode="after")
    def no_nulls(self) -> InstrumentChanges:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{nulls[0]} cannot be null")
        return self


def instrument_view(instrument: Instrument) -> InstrumentView:
    return InstrumentView(
        symbol=instrument.symbol,
        asset_class=instrument.asset_class,
        currency=instrument.currency,
        tick_size=format(instrument.tick_size, "f"),
        lot_size=format(instrument.lot_size, "f"),
        min_quantity=format(instrument.min_quantity, "f"),
        price_precision=instrument.price_precision,
        tradable=instrument.tradable,
        calendar=instrument.calendar,
    )


@router.get("", response_model=InstrumentPage)
def list_instruments(
    limit: Limit = 100,
    cursor: Cursor = None,
    principal: Principal = Depends(require_any("read", "operator")),
) -> InstrumentPage:
    """Every instrument, by symbol."""
    items, next_cursor = offset_page(
        trading_store().list_instruments(), limit, cursor, LIST, principal.account_id
    )
    return InstrumentPage(items=[instrument_view(i) for i in items], next_cursor=next_cursor)


@router.get("/{symbol}", response_model=InstrumentView)
def get_instrument(
    symbol: str, principal: Principal = Depends(require_any("read", "operator"))
) -> InstrumentView:
    instrument = trading_store().get_instrument(symbol[:32])
    if instrument is None:
        raise _not_found(symbol)
    return instrument_view(instrument)


@router.post("", status_code=201, response_model=InstrumentView)
def add_instrument(
    body: NewInstrument,
    response: Response,
    principal: Principal = Depends(require("operator")),
) -> InstrumentView:
    fields = body.model_dump()
    for name in DECIMAL_FIELDS:
        fields[name] = Decimal(fields[name])
    store = trading_store()
    created = create_instrument(
        store, audit_log(), Instrument(**fields), actor=principal.subject, now=datetime.now(UTC)
    )
    instrument_cache(store).forget(created.symbol)  # a cached miss would hide it
    response.headers["Location"] = f"/v1/instruments/{created.symbol}"
    return instrument_view(created)


@router.patch("/{symbol}", response_model=InstrumentView)
def change_instrument(
    symbol: str,
    body: InstrumentChanges,
    principal: Principal = Depends(require("operator")),
) -> InstrumentView:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if not changes:
        raise invalid("body", "name at least one field to change")
    for name in DECIMAL_FIELDS:
        if name in changes:
            changes[name] = Decimal(changes[name])
    store = trading_store()
    updated = update_instrument(
        store, audit_log(), symbol[:32], changes, actor=principal.subject, now=datetime.now(UTC)
    )
    if updated is None:
        raise _not_found(symbol)
    instrument_cache(store).forget(updated.symbol)
    return instrument_view(updated)


def _not_found(symbol: str) -> Problem:
    return Problem(404, "INSTRUMENT_NOT_FOUND", f"no instrument {symbol!r}")

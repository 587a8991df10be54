"""Market data: bars at any interval, latest quotes, gaps, and pushing bars (operators)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from redfire_api.deps import trading_store
from redfire_api.paging import bad_cursor, seal, unseal
from redfire_api.problems import Problem, invalid
from redfire_api.security import require, require_any
from redfire_core.adapters.market_data import IngestJob, MarketDataRecords, MarketDataStore
from redfire_core.adapters.paging import decode_cursor, encode_cursor
from redfire_core.auth import Principal
from redfire_core.config import get_settings
from redfire_core.domain.bars import INTERVALS, Bar, bar_document
from redfire_core.domain.instruments import Instrument
from redfire_core.events import iso, new_id, parse_iso
from redfire_core.resources import MARKETDATA_UPLOADS
from redfire_core.services.market_data import gaps, market_data_store, push_document, read_page

router = APIRouter(tags=["market data"])
BARS = "/v1/bars"  # what its cursors are bound to (GraphQL's bars share them)

MAX_PUSHED_BARS = 10_000
Symbol = Annotated[str, Query(min_length=1, max_length=32)]
Interval = Annotated[str, Query(description="1m, 5m, 15m, 1h, 1d or 1w")]


@cache
def store() -> MarketDataStore:
    return market_data_store()


@cache
def records() -> MarketDataRecords:
    return MarketDataRecords()


@cache
def _s3() -> Any:
    import boto3  # lazy: boto3 (S3) only for uploads

    return boto3.client("s3")


class BarView(BaseModel):
    timestamp: str
    open: str
    high: str
    low: str
    close: str
    volume: str


def bar_view(bar: Bar) -> BarView:
    """A stored bar as ``GET /v1/bars`` shows it (the CSV rows are the same document)."""
    return BarView(**bar_document(bar))


class BarPage(BaseModel):
    items: list[BarView]
    next_cursor: str | None


class PushedBars(BaseModel):
    """Bars to store: ``timestamp`` the ISO 8601 UTC start, decimals as strings."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(min_length=1, max_length=32)
    interval: str
    bars: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_PUSHED_BARS)


class IngestAccepted(BaseModel):
    id: str
    status: str


class RejectedBar(BaseModel):
    bar: dict[str, Any]
    reason: str


class IngestReport(BaseModel):
    id: str
    status: str
    source: str
    symbol: str | None
    interval: str | None
    written: int
    unchanged: int
    quarantined: int = Field(description="bad rows set aside, each with its reason")
    rejected: int = Field(description="the same count as quarantined (its earlier name)")
    rejections: list[RejectedBar] = Field(description="quarantined rows, the first 1,000")
    error: str | None
    created_at: str
    updated_at: str


class Quote(BaseModel):
    symbol: str
    price: str
    timestamp: str


class QuotePage(BaseModel):
    items: list[Quote]


class GapView(BaseModel):
    start: str
    end: str


class GapPage(BaseModel):
    items: list[GapView]


def _instrument(symbol: str) -> Instrument:
    instrument = trading_store().get_instrument(symbol)
    if instrument is None:
        raise invalid("symbol", f"unknown symbol {symbol!r}", "MARKETDATA_SYMBOL_UNKNOWN")
    return instrument


def _interval(interval: str) -> str:
    if interval not in INTERVALS:
        raise invalid(
            "interval",
            f"interval must be one of {', '.join(INTERVALS)}",
            "MARKETDATA_INTERVAL_UNKNOWN",
        )
    return interval


def parse_moment(name: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, "not an ISO 8601 timestamp") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _range(start: str, end: str) -> tuple[datetime, datetime]:
    first, last = parse_moment("start", start), parse_moment("end", end)
    if first >= last:
        raise invalid("start", "start must be before end", "MARKETDATA_RANGE_INVALID")
    return first, last


@router.get("/v1/bars", response_model=BarPage)
def list_bars(
    request: Request,
    symbol: Symbol,
    interval: Interval,
    start: str,
    end: str,
    cursor: str | None = Query(None, max_length=1024),
    principal: Principal = Depends(require_any("read", "operator")),
) -> Any:
    """Bars oldest first, resampled from the finest stored interval; CSV on ``Accept: text/csv``."""
    _instrument(symbol)
    first, last = _range(start, end)
    after = None
    position = unseal(cursor, BARS, principal.account_id)
    if position:
        try:
            key = decode_cursor(position) or {}
            after = parse_iso(str(key["t"]))
        except (ValueError, KeyError):
            raise bad_cursor() from None
        if not first <= after < last:  # issued for another range of the same list
            raise bad_cursor()
    bars, next_start = read_page(store(), symbol, _interval(interval), first, last, after)
    items = [bar_document(b) for b in bars]
    next_position = encode_cursor({"t": iso(next_start)}) if next_start else None
    next_cursor = seal(next_position, BARS, principal.account_id)
    if "text/csv" in request.headers.get("accept", ""):
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=["timestamp", "open", "high", "low", "close", "volume"]
        )
        writer.writeheader()
        writer.writerows(items)
        headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
        return Response(out.getvalue(), media_type="text/csv", headers=headers)
    return BarPage(items=[bar_view(b) for b in bars], next_cursor=next_cursor)


@router.get("/v1/quotes/latest", response_model=QuotePage)
def latest_quotes(
    symbols: str = Query(min_length=1, max_length=2000, description="comma-separated"),
    principal: Principal = Depends(require_any("read", "operator")),
) -> QuotePage:
    wanted = [s.strip() for s in symbols.split(",") if s.strip()]
    if not wanted or len(wanted) > 100:
        raise invalid("symbols", "name between 1 and 100 symbols")
    found = records().latest_prices(wanted)
    return QuotePage(
        items=[
            Quote(symbol=s, price=format(found[s][0], "f"), timestamp=iso(found[s][1]))
            for s in wanted
            if s in found
        ]
    )


@router.get("/v1/marketdata/gaps", response_model=GapPage)
def list_gaps(
    symbol: Symbol,
    interval: Interval,
    start: str,
    end: str,
    principal: Principal = Depends(require_any("read", "operator")),
) -> GapPage:
    """Ranges the instrument's calendar expects bars in that the store does not hold."""
    instrument = _instrument(symbol)
    first, last = _range(start, end)
    found = gaps(store(), records(), symbol, _interval(interval), instrument.calendar, first, last)
    return GapPage(items=[GapView(start=iso(g.start), end=iso(g.end)) for g in found])


@router.post("/v1/marketdata/bars", status_code=202, response_model=IngestAccepted)
def push_bars(
    body: PushedBars,
    response: Response,
    principal: Principal = Depends(require("operator")),
) -> IngestAccepted:
    """Store the body in S3 and answer at once; the ingest function does the work."""

    _instrument(body.symbol)
    _interval(body.interval)
    job_id = new_id()
    job = IngestJob(id=job_id, status="queued", source="push", symbol=body.symbol)
    job.interval = body.interval
    records().save_job(job, datetime.now(UTC))
    _s3().put_object(
        Bucket=get_settings().bucket_name(MARKETDATA_UPLOADS),
        Key=f"ingest/push/{job_id}.json",
        Body=push_document(body.symbol, body.interval, body.bars),
        ContentType="application/json",
    )
    response.headers["Location"] = f"/v1/marketdata/ingests/{job_id}"
    return IngestAccepted(id=job_id, status="queued")


@router.get("/v1/marketdata/ingests/{job_id}", response_model=IngestReport)
def get_ingest(job_id: str, principal: Principal = Depends(require("operator"))) -> IngestReport:
    job = records().get_job(job_id[:64]) if job_id.isalnum() else None
    if job is None:
        raise Problem(404, "INGEST_NOT_FOUND", f"no ingest {job_id!r}")
    return IngestReport(**job.__dict__, quarantined=job.rejected)

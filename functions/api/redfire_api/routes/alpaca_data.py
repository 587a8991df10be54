"""Alpaca's Market Data API bars (`/v2/stocks/bars`, `/v1beta3/crypto/us/bars`) over the
same market data store as `/v1/bars`, so alpaca-py's historical data clients work.

RedFire stores OHLCV only, no trades: `vw` is the bar's typical price ((h + l + c) / 3)
and `n` (trade count) is 0 (docs/alpaca.md)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query

from redfire_api.alpaca_shapes import redfire_symbol
from redfire_api.paging import seal, unseal
from redfire_api.problems import invalid
from redfire_api.routes.alpaca import moment
from redfire_api.routes.marketdata import store
from redfire_api.security import require_any
from redfire_core.auth import Principal
from redfire_core.domain.bars import INTERVALS, Bar
from redfire_core.events import iso
from redfire_core.services.market_data import read_page

router = APIRouter(tags=["alpaca"])
STOCKS, CRYPTO = "/v2/stocks/bars", "/v1beta3/crypto/us/bars"
# Alpaca's timeframe (amount + unit, as alpaca-py writes it) -> a RedFire interval.
TIMEFRAMES = {
    ("1", "Min"): "1m",
    ("5", "Min"): "5m",
    ("15", "Min"): "15m",
    ("1", "Hour"): "1h",
    ("1", "Day"): "1d",
    ("1", "Week"): "1w",
}
TIMEFRAME = re.compile(r"^(\d+)(Min|T|Hour|H|Day|D|Week|W)$")
UNITS = {"T": "Min", "H": "Hour", "D": "Day", "W": "Week"}
THREE = Decimal(3)


def interval_of(timeframe: str) -> str:
    match = TIMEFRAME.match(timeframe)
    amount, unit = match.groups() if match else ("", "")
    interval = TIMEFRAMES.get((amount, UNITS.get(unit, unit)))
    if interval is None:
        supported = ", ".join(f"{a}{u}" for a, u in TIMEFRAMES)
        raise invalid("timeframe", f"timeframe must be one of {supported}")
    return interval


def bar_shape(bar: Bar) -> dict[str, Any]:
    typical = (bar.high + bar.low + bar.close) / THREE
    return {
        "t": iso(bar.start),
        "o": float(bar.open),
        "h": float(bar.high),
        "l": float(bar.low),
        "c": float(bar.close),
        "v": float(bar.volume),
        "n": 0,
        "vw": float(round(typical, 8)),
    }


def _encode(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode(position: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(position + "=" * (-len(position) % 4)))
    except ValueError:
        raise invalid("page_token", "not a page token this API issued") from None
    return value if isinstance(value, dict) else {}


def bars_response(
    route: str,
    principal: Principal,
    symbols: str,
    timeframe: str,
    start: str | None,
    end: str | None,
    limit: int,
    page_token: str | None,
    sort: str,
) -> dict[str, Any]:
    """Alpaca's multi-symbol page: up to ``limit`` bars in all, symbol after symbol."""
    interval = interval_of(timeframe)
    now = datetime.now(UTC)
    first = moment(start, "start") or now.replace(hour=0, minute=0, second=0, microsecond=0)
    last = moment(end, "end") or now
    names = [s.strip() for s in symbols.split(",") if s.strip()]
    if not names:
        raise invalid("symbols", "name at least one symbol")
    position = unseal(page_token, route, principal.account_id)
    where = _decode(position) if position else {}
    index, left = int(where.get("i", 0)), limit
    after = datetime.fromisoformat(where["t"]) if where.get("t") else None
    bars: dict[str, list[dict[str, Any]]] = {}
    while index < len(names) and left > 0:
        name = names[index]
        page, next_start = read_page(store(), redfire_symbol(name), interval, first, last, after)
        taken = page[:left]
        bars.setdefault(name, []).extend(bar_shape(b) for b in taken)
        left -= len(taken)
        if len(taken) < len(page):  # cut by the limit: resume one interval after the last
            after = taken[-1].start + INTERVALS[interval]
        elif next_start is not None:
            after = next_start
        else:
            index, after = index + 1, None
    bars = {name: items for name, items in bars.items() if items}
    next_position = {"i": index, "t": iso(after) if after else None}
    more = index < len(names)
    if sort == "desc":
        bars = {name: list(reversed(items)) for name, items in bars.items()}
    token = seal(_encode(next_position), route, principal.account_id) if more else None
    return {"bars": bars, "next_page_token": token}


def _route(route: str) -> Any:
    def bars(
        symbols: str = Query(max_length=4096),
        timeframe: str = Query(max_length=16),
        start: str | None = Query(None, max_length=64),
        end: str | None = Query(None, max_length=64),
        limit: int = Query(1000, ge=1, le=10000),
        page_token: str | None = Query(None, max_length=2048),
        sort: str = Query("asc", pattern="^(asc|desc)$"),
        adjustment: str | None = Query(None, max_length=16),
        feed: str | None = Query(None, max_length=16),
        principal: Principal = Depends(require_any("read", "operator")),
    ) -> dict[str, Any]:
        return bars_response(
            route, principal, symbols, timeframe, start, end, limit, page_token, sort
        )

    return bars


router.add_api_route(STOCKS, _route(STOCKS), methods=["GET"], name="alpaca_stock_bars")
router.add_api_route(CRYPTO, _route(CRYPTO), methods=["GET"], name="alpaca_crypto_bars")

"""Alpaca's Trading API v2 over RedFire's services, so an Alpaca bot runs by changing its
base URL (docs/alpaca.md). A translation layer only: the same services, store, risk rules,
scopes, audit and limits as `/v1`; errors in Alpaca's dialect (``problems.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from redfire_api.alpaca_shapes import (
    account_shape,
    alpaca_symbol,
    asset_shape,
    asset_uuid,
    calendar_shape,
    fill_activity,
    order_shape,
    position_shape,
    redfire_symbol,
)
from redfire_api.deps import correlation_id, trading_store
from redfire_api.prefer import MAX_WAIT_SECONDS
from redfire_api.problems import invalid
from redfire_api.security import require
from redfire_api.valuation import open_positions
from redfire_core.adapters.trading_store import OrderFilter, TradingStore
from redfire_core.alpaca_dialect import alpaca_error, ulid_of, uuid_of
from redfire_core.auth import Principal
from redfire_core.calendars import calendar_named
from redfire_core.config import get_settings
from redfire_core.domain.calendars import is_open
from redfire_core.domain.errors import DomainError
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import FINAL_STATUSES, OPEN_STATUSES, Order, OrderStatus
from redfire_core.domain.positions import Account
from redfire_core.services.awaiting import await_decision
from redfire_core.services.instruments import instrument_cache
from redfire_core.services.managing import cancel_all, cancel_order, replace_order
from redfire_core.services.placing import place_order

router = APIRouter(prefix="/v2", tags=["alpaca"])
CLOCK_CALENDAR = "XNYS"  # Alpaca's clock and calendar are the US equity market's
MAX_LIST = 500
# How long closing everything waits for its cancels to finish before it places the closing
# orders (well inside the API function's 29 s): an order still pending cancel can fill, so
# the risk rules (self-trade) still count it.
CANCEL_WAIT_SECONDS = 10

# A number as Alpaca's clients send it: a JSON number or a decimal string.
Number = Annotated[str | float | int, Field(union_mode="left_to_right")]


def _decimal(value: Number | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid(field, "must be a number") from None
    if not number.is_finite():
        raise invalid(field, "must be a finite number")
    return format(number.normalize(), "f")  # 3.0 from a JSON number is "3"


class AlpacaOrderRequest(BaseModel):
    """Alpaca's order request (alpaca-py's OrderRequest.to_request_fields())."""

    model_config = ConfigDict(extra="ignore")  # alpaca-py sends fields RedFire has no use for

    symbol: str = Field(min_length=1, max_length=32)
    qty: Number | None = None
    notional: Number | None = None
    side: str = Field(max_length=16)
    type: str = Field(max_length=16)
    time_in_force: str = Field(max_length=8)
    limit_price: Number | None = None
    stop_price: Number | None = None
    trail_price: Number | None = None
    trail_percent: Number | None = None
    extended_hours: bool | None = None
    client_order_id: str | None = Field(None, max_length=128)
    order_class: str | None = Field(None, max_length=16)
    take_profit: dict[str, Any] | None = None
    stop_loss: dict[str, Any] | None = None


class AlpacaReplaceRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    qty: Number | None = None
    time_in_force: str | None = Field(None, max_length=8)
    limit_price: Number | None = None
    stop_price: Number | None = None
    trail: Number | None = None
    client_order_id: str | None = Field(None, max_length=128)


def _instrument(store: TradingStore, symbol: str) -> Instrument | None:
    return instrument_cache(store).get(symbol)


def _order(store: TradingStore, order: Order, *, nested: bool = False) -> dict[str, Any]:
    """The order in Alpaca's shape; ``nested``: a parent's legs inside it."""
    legs = None
    if nested and order.leg_ids:
        found = [store.get_order(order.account_id, leg_id) for leg_id in order.leg_ids]
        legs = [leg for leg in found if leg is not None]
    return order_shape(order, _instrument(store, order.symbol), legs)


def _get_order(store: TradingStore, account_id: str, order_id: str) -> Order:
    order = store.get_order(account_id, ulid_of(order_id))
    if order is None:
        raise DomainError("ORDER_NOT_FOUND", "order not found")
    return order


def _account(store: TradingStore, account_id: str) -> Account:
    account = store.get_account(account_id)
    if account is None:
        raise DomainError("ACCOUNT_NOT_FOUND", "account not found")
    return account


@router.get("/account")
def get_account(principal: Principal = Depends(require("read"))) -> dict[str, Any]:
    store = trading_store()
    account = _account(store, principal.account_id)
    marked = open_positions(store, account.id)
    long = sum((m.market_value for m in marked if m.market_value > 0), Decimal(0))
    short = sum((m.market_value for m in marked if m.market_value < 0), Decimal(0))
    equity = account.cash + long + short
    gross = long - short
    return account_shape(
        account,
        equity=equity,
        buying_power=account.buying_power(equity, gross),
        long=long,
        short=short,
    )


@router.post("/orders")
def submit_order(
    body: AlpacaOrderRequest,
    request: Request,
    principal: Principal = Depends(require("trade")),
) -> dict[str, Any]:
    """Place an order and answer once the pre-trade decision is made (at most the bound):
    `new` when accepted, 403 when denied, `pending_new` when still undecided."""
    if (body.qty is None) == (body.notional is None):
        raise invalid("qty", "give qty or notional")
    fields: dict[str, Any] = {
        "symbol": redfire_symbol(body.symbol),
        "side": body.side,
        "type": body.type,
        "quantity": _decimal(body.qty, "qty"),
        "notional": _decimal(body.notional, "notional"),
        "order_class": body.order_class or None,
        "take_profit": _leg(body.take_profit, "take_profit"),
        "stop_loss": _leg(body.stop_loss, "stop_loss"),
        "limit_price": _decimal(body.limit_price, "limit_price"),
        "stop_price": _decimal(body.stop_price, "stop_price"),
        "trail_price": _decimal(body.trail_price, "trail_price"),
        "trail_percent": _decimal(body.trail_percent, "trail_percent"),
        "time_in_force": body.time_in_force,
        "client_order_id": body.client_order_id,
    }
    store = trading_store()
    placed = place_order(
        store,
        principal.account_id,
        {name: value for name, value in fields.items() if value is not None},
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )
    order = await_decision(store, placed.order, get_settings().alpaca_decision_wait_seconds)
    _raise_denial(order)
    return _order(store, order, nested=True)


LEG_PRICES = ("limit_price", "stop_price")


def _leg(leg: dict[str, Any] | None, field: str) -> dict[str, Any] | None:
    """A take_profit or stop_loss of numbers or strings, as decimal strings."""
    if leg is None:
        return None
    unknown = set(leg) - set(LEG_PRICES)
    if unknown:
        raise invalid(field, f"{field} takes no {min(unknown)}")
    prices = {name: _decimal(leg.get(name), f"{field}.{name}") for name in LEG_PRICES}
    return {name: value for name, value in prices.items() if value is not None}


def _raise_denial(order: Order) -> None:
    """A denied order is Alpaca's 403 (or whatever its first reason maps to)."""
    if order.status is OrderStatus.DENIED and order.reject_reason:
        reason = order.reject_reason
        raise DomainError(str(reason["code"]), str(reason["message"]))


def _statuses(status: str) -> frozenset[OrderStatus] | None:
    return {"open": OPEN_STATUSES, "closed": FINAL_STATUSES, "all": None}[status]


def moment(text: str | None, field: str) -> datetime | None:
    """An RFC 3339 timestamp (or a date) of a query parameter, UTC when it names no zone."""
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(field, "must be an RFC 3339 timestamp or a date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("/orders")
def list_orders(
    status: Literal["open", "closed", "all"] = "open",
    limit: int = Query(50, ge=1, le=MAX_LIST),
    after: str | None = Query(None, max_length=64),
    until: str | None = Query(None, max_length=64),
    direction: Literal["asc", "desc"] = "desc",
    nested: bool = False,
    side: Literal["buy", "sell"] | None = None,
    symbols: str | None = Query(None, max_length=4096),
    principal: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    """Alpaca's filters: `after` and `until` are exclusive bounds on the submission time."""
    store = trading_store()
    wanted = {redfire_symbol(s.strip()) for s in symbols.split(",")} if symbols else None
    start, end = moment(after, "after"), moment(until, "until")
    where = OrderFilter(status=_statuses(status), created_from=start, created_to=end)
    found: list[Order] = []
    cursor: str | None = None
    while True:  # newest first; every match of the window, then Alpaca's direction and limit
        page = store.list_orders(principal.account_id, MAX_LIST, cursor, where)
        found += [
            o
            for o in page.items
            if (wanted is None or o.symbol in wanted)
            and (side is None or o.side.value == side)
            and (start is None or o.created_at > start)
            and (end is None or o.created_at < end)
        ]
        cursor = page.next_cursor
        if cursor is None or (direction == "desc" and len(found) >= limit):
            break
    return _listed(store, found, direction, limit, nested=nested)


def _listed(
    store: TradingStore, found: list[Order], direction: str, limit: int, *, nested: bool
) -> list[dict[str, Any]]:
    """Alpaca's direction and limit; ``nested``: legs inside their parents, not beside."""
    if nested:
        found = [o for o in found if o.parent_order_id is None]
    ordered = found if direction == "desc" else list(reversed(found))
    return [_order(store, o, nested=nested) for o in ordered[:limit]]


@router.get("/orders:by_client_order_id")
def get_order_by_client_order_id(
    client_order_id: str = Query(max_length=128), principal: Principal = Depends(require("read"))
) -> dict[str, Any]:
    store = trading_store()
    claim = store.find_client_order(principal.account_id, client_order_id)
    order = store.get_order(principal.account_id, claim[0]) if claim else None
    if order is None:  # an order placed without one shows its own id as client_order_id
        order = store.get_order(principal.account_id, client_order_id[:64])
    if order is None:
        raise DomainError("ORDER_NOT_FOUND", "order not found")
    return _order(store, order)


@router.get("/orders/{order_id}")
def get_order(
    order_id: str, nested: bool = False, principal: Principal = Depends(require("read"))
) -> dict[str, Any]:
    store = trading_store()
    return _order(store, _get_order(store, principal.account_id, order_id), nested=nested)


@router.delete("/orders/{order_id}", status_code=204)
def cancel(
    order_id: str, request: Request, principal: Principal = Depends(require("trade"))
) -> Response:
    store = trading_store()
    cancel_order(
        store,
        principal.account_id,
        _get_order(store, principal.account_id, order_id).id,  # Alpaca's 404 first
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )
    return Response(status_code=204)


@router.delete("/orders", status_code=207)
def cancel_orders(
    request: Request, principal: Principal = Depends(require("trade"))
) -> JSONResponse:
    store = trading_store()
    pending = cancel_all(
        store, principal.account_id, correlation_id=correlation_id(request), now=datetime.now(UTC)
    )
    return JSONResponse(
        [{"id": uuid_of(o.id), "status": 200, "body": _order(store, o)} for o in pending],
        status_code=207,
    )


@router.patch("/orders/{order_id}")
def replace(
    order_id: str,
    body: AlpacaReplaceRequest,
    request: Request,
    principal: Principal = Depends(require("trade")),
) -> dict[str, Any]:
    changes = {
        "quantity": _decimal(body.qty, "qty"),
        "time_in_force": body.time_in_force,
        "limit_price": _decimal(body.limit_price, "limit_price"),
        "stop_price": _decimal(body.stop_price, "stop_price"),
        "trail_price": _decimal(body.trail, "trail"),
        "client_order_id": body.client_order_id,
    }
    store = trading_store()
    new = replace_order(
        store,
        principal.account_id,
        _get_order(store, principal.account_id, order_id).id,  # Alpaca's 404 first
        {name: value for name, value in changes.items() if value is not None},
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
    )
    return _order(store, new)


@router.get("/positions")
def list_positions(principal: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    store = trading_store()
    return [
        position_shape(
            m.position.symbol,
            m.position.quantity,
            m.position.cost_basis,
            m.price,
            _instrument(store, m.position.symbol),
        )
        for m in open_positions(store, principal.account_id)
    ]


def _held(store: TradingStore, account_id: str, symbol_or_asset_id: str) -> Any:
    for marked in open_positions(store, account_id):
        symbol = marked.position.symbol
        if symbol_or_asset_id in (symbol, symbol.replace("-", "/"), asset_uuid(symbol)):
            return marked
    raise DomainError("POSITION_NOT_FOUND", "position does not exist")


@router.get("/positions/{symbol_or_asset_id:path}")
def get_position(
    symbol_or_asset_id: str, principal: Principal = Depends(require("read"))
) -> dict[str, Any]:
    store = trading_store()
    m = _held(store, principal.account_id, symbol_or_asset_id)
    p = m.position
    return position_shape(p.symbol, p.quantity, p.cost_basis, m.price, _instrument(store, p.symbol))


def _closing_quantity(
    quantity: Decimal, lot: Decimal, qty: str | None, percentage: str | None
) -> Decimal:
    held = abs(quantity)
    if qty is not None and percentage is not None:
        raise invalid("qty", "give qty or percentage, not both")
    if qty is not None:
        wanted = Decimal(_decimal(qty, "qty") or "0")
        if not 0 < wanted <= held:
            raise invalid("qty", f"qty must be above 0 and at most the position's {held}")
        return wanted
    if percentage is not None:
        share = Decimal(_decimal(percentage, "percentage") or "0")
        if not 0 < share <= 100:
            raise invalid("percentage", "percentage must be above 0 and at most 100")
        return (held * share / 100 / lot).to_integral_value(ROUND_DOWN) * lot
    return held


def _close(
    store: TradingStore,
    principal: Principal,
    symbol_or_asset_id: str,
    request: Request,
    qty: str | None = None,
    percentage: str | None = None,
) -> Order:
    marked = _held(store, principal.account_id, symbol_or_asset_id)
    position = marked.position
    instrument = _instrument(store, position.symbol)
    lot = instrument.lot_size if instrument else Decimal(1)
    quantity = _closing_quantity(position.quantity, lot, qty, percentage)
    if quantity <= 0:
        raise invalid("percentage", "that share of the position is less than one lot")
    body = {
        "symbol": position.symbol,
        "side": "sell" if position.quantity > 0 else "buy",
        "type": "market",
        "quantity": format(quantity, "f"),
        "time_in_force": "day",
    }
    placed = place_order(
        store,
        principal.account_id,
        body,
        correlation_id=correlation_id(request),
        now=datetime.now(UTC),
        closes_position=quantity == abs(position.quantity),
    )
    return await_decision(store, placed.order, MAX_WAIT_SECONDS)


@router.delete("/positions/{symbol_or_asset_id:path}")
def close_position(
    symbol_or_asset_id: str,
    request: Request,
    qty: str | None = Query(None, max_length=40),
    percentage: str | None = Query(None, max_length=40),
    principal: Principal = Depends(require("trade")),
) -> dict[str, Any]:
    store = trading_store()
    order = _close(store, principal, symbol_or_asset_id, request, qty, percentage)
    _raise_denial(order)
    return _order(store, order)


@router.delete("/positions", status_code=207)
def close_all_positions(
    request: Request,
    cancel_orders: bool = False,
    principal: Principal = Depends(require("trade")),
) -> JSONResponse:
    store = trading_store()
    if cancel_orders:  # canceled before the closing orders, as Alpaca does: no self-trade
        pending = cancel_all(
            store,
            principal.account_id,
            correlation_id=correlation_id(request),
            now=datetime.now(UTC),
        )
        for order in pending:
            await_decision(store, order, CANCEL_WAIT_SECONDS, pending=OrderStatus.PENDING_CANCEL)
        for order in store.open_orders_of(principal.account_id):  # replaces finish too
            if order.status is OrderStatus.PENDING_REPLACE:
                await_decision(
                    store, order, CANCEL_WAIT_SECONDS, pending=OrderStatus.PENDING_REPLACE
                )
    answers: list[dict[str, Any]] = []
    for marked in open_positions(store, principal.account_id):
        symbol = marked.position.symbol
        shown = alpaca_symbol(symbol, _instrument(store, symbol))
        try:
            order = _close(store, principal, symbol, request)
            _raise_denial(order)
        except DomainError as error:
            refusal = alpaca_error(error.code, 422)
            body = {"code": refusal.code, "message": error.message}
            answers.append({"symbol": shown, "status": refusal.status, "body": body})
            continue
        answers.append(
            {
                "symbol": shown,
                "order_id": uuid_of(order.id),
                "status": 200,
                "body": _order(store, order),
            }
        )
    return JSONResponse(answers, status_code=207)


@router.get("/assets")
def list_assets(
    status: Literal["active", "inactive"] | None = None,
    asset_class: Literal["us_equity", "crypto", "us_option"] | None = None,
    principal: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    shapes = [asset_shape(i) for i in trading_store().list_instruments()]
    return [
        s
        for s in shapes
        if (status is None or s["status"] == status)
        and (asset_class is None or s["class"] == asset_class)
    ]


@router.get("/assets/{symbol_or_asset_id:path}")
def get_asset(
    symbol_or_asset_id: str, principal: Principal = Depends(require("read"))
) -> dict[str, Any]:
    for shape in (asset_shape(i) for i in trading_store().list_instruments()):
        if symbol_or_asset_id in (shape["symbol"], shape["id"], redfire_symbol(shape["symbol"])):
            return shape
    raise DomainError("INSTRUMENT_NOT_FOUND", "asset not found")


@router.get("/clock")
def clock(principal: Principal = Depends(require("read"))) -> dict[str, Any]:
    calendar = calendar_named(CLOCK_CALENDAR)
    now = datetime.now(UTC)
    session = calendar.next_session(now)
    open_now = is_open(calendar, now)
    following = calendar.next_session(session.close) if open_now else session
    return {
        "timestamp": now.isoformat(),
        "is_open": open_now,
        "next_open": following.open.isoformat(),
        "next_close": session.close.isoformat(),
    }


@router.get("/calendar")
def trading_calendar(
    start: date | None = None,
    end: date | None = None,
    principal: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    calendar = calendar_named(CLOCK_CALENDAR)
    today = datetime.now(UTC).date()
    first = start or today
    last = end or first + timedelta(days=30)
    if last < first:
        raise invalid("end", "end is before start")
    return [calendar_shape(s) for s in calendar.sessions(first, last)]


@router.get("/account/activities")
@router.get("/account/activities/{activity_type}")
def account_activities(
    activity_type: str | None = None,
    direction: Literal["asc", "desc"] = "desc",
    after: str | None = Query(None, max_length=64),
    until: str | None = Query(None, max_length=64),
    page_size: int = Query(100, ge=1, le=100),
    page_token: str | None = Query(None, max_length=128),
    principal: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    """Fills (`FILL`), each with its order's cumulative and remaining quantity after it.
    RedFire's other cash movements are at `/v1/account/activities`."""
    if activity_type not in (None, "FILL"):
        return []
    store = trading_store()
    start, end = moment(after, "after"), moment(until, "until")
    fills = []
    cursor: str | None = None
    while True:
        page = store.list_trades(principal.account_id, MAX_LIST, cursor)
        fills += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    orders: dict[str, Order | None] = {}
    cumulative: dict[str, Decimal] = {}
    chosen = []
    for fill in sorted(fills, key=lambda f: (f.executed_at, f.trade_id)):
        if fill.order_id not in orders:
            orders[fill.order_id] = store.get_order(principal.account_id, fill.order_id)
        cumulative[fill.order_id] = cumulative.get(fill.order_id, Decimal(0)) + fill.quantity
        if (start is None or fill.executed_at > start) and (end is None or fill.executed_at < end):
            activity = fill_activity(
                principal.account_id, fill, orders[fill.order_id], cumulative[fill.order_id]
            )
            chosen.append(activity)
    if direction == "desc":
        chosen.reverse()
    if page_token:
        ids = [a["id"] for a in chosen]
        chosen = chosen[ids.index(page_token) + 1 :] if page_token in ids else []
    return chosen[:page_size]

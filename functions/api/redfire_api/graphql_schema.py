"""The GraphQL schema (Strawberry). Imported on the first ``POST /graphql`` only.

Resolvers call the same services, stores and views as the REST routes; the REST
request models validate mutation inputs, so a rule exists once. Strawberry's
conventions: camelCase fields, upper-case enum values, decimals as strings.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, cast

import strawberry
from graphql import GraphQLError
from pydantic import ValidationError
from strawberry.scalars import JSON
from strawberry.types import Info

from redfire_api.deps import trading_store
from redfire_api.paging import MAX_PAGE, cursor_checked, offset_page, seal, unseal
from redfire_api.problems import Problem, domain_status
from redfire_api.routes import instruments as instrument_routes
from redfire_api.routes import marketdata
from redfire_api.routes import orders as order_routes
from redfire_api.routes import positions as position_routes
from redfire_api.routes import trades as trade_routes
from redfire_api.routes.account import _account, account_view
from redfire_api.routes.backtests import LIST, store
from redfire_api.routes.instruments import instrument_view
from redfire_api.routes.marketdata import _moment
from redfire_api.routes.orders import PlaceOrder, ReplaceOrder, _statuses
from redfire_api.routes.positions import position_detail
from redfire_api.valuation import open_positions
from redfire_core.adapters.trading_store import OrderFilter
from redfire_core.auth import Principal
from redfire_core.domain.bars import INTERVALS
from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import OrderStatus as DomainOrderStatus
from redfire_core.domain.orders import OrderType as DomainOrderType
from redfire_core.domain.orders import Side as DomainSide
from redfire_core.domain.orders import TimeInForce as DomainTimeInForce
from redfire_core.events import FillView, OrderView
from redfire_core.services.managing import cancel_order, replace_order
from redfire_core.services.market_data import PAGE_BARS
from redfire_core.services.placing import place_order
from redfire_core.views import fill_view, order_view


def _mirrored(name: str, domain: type[enum.Enum]) -> type[enum.Enum]:
    """The domain enum's members in a new enum named for GraphQL (the domain's stays as it is).
    The cast: typeshed types the functional ``Enum(name, members)`` call as a member."""
    return cast("type[enum.Enum]", enum.Enum(name, {m.name: m.value for m in domain}))


OrderSide = strawberry.enum(_mirrored("OrderSide", DomainSide))
OrderType = strawberry.enum(_mirrored("OrderType", DomainOrderType))
TimeInForce = strawberry.enum(_mirrored("TimeInForce", DomainTimeInForce))
OrderStatus = strawberry.enum(_mirrored("OrderStatus", DomainOrderStatus))


def _known(cls: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """The REST view's fields this GraphQL type declares (a view may grow new ones)."""
    declared = cls.__dataclass_fields__
    return {name: value for name, value in fields.items() if name in declared}


@strawberry.type
class Order:
    id: strawberry.ID
    client_order_id: str | None
    status: OrderStatus  # type: ignore[valid-type]
    symbol: str
    side: OrderSide  # type: ignore[valid-type]
    type: OrderType  # type: ignore[valid-type]
    quantity: str
    limit_price: str | None
    stop_price: str | None
    trail_price: str | None
    trail_percent: str | None
    time_in_force: TimeInForce  # type: ignore[valid-type]
    filled_quantity: str
    average_fill_price: str | None
    commission: str
    reject_reason: JSON | None
    reject_reasons: JSON | None
    replaces: str | None
    replaced_by: str | None
    expires_at: str | None
    created_at: str
    updated_at: str
    sequence: int | None = None  # the account's order number
    order_class: str = "simple"  # simple, bracket, oco or oto
    parent_order_id: str | None = None  # a leg: its group's parent
    legs: list[Order] | None = None  # a parent of an order class: its legs
    notional: str | None = None  # a notional order's amount

    @classmethod
    def of(cls, view: OrderView) -> Order:
        fields = _known(cls, view.model_dump())
        fields.update(
            status=OrderStatus(view.status),
            side=OrderSide(view.side),
            type=OrderType(view.type),
            time_in_force=TimeInForce(view.time_in_force),
            legs=None if view.legs is None else [cls.of(leg) for leg in view.legs],
        )
        return cls(**fields)


@strawberry.type
class OrderPage:
    items: list[Order]
    next_cursor: str | None


@strawberry.type
class Trade:
    trade_id: strawberry.ID
    order_id: str
    symbol: str
    side: OrderSide  # type: ignore[valid-type]
    quantity: str
    price: str
    commission: str
    executed_at: str

    @classmethod
    def of(cls, view: FillView) -> Trade:
        return cls(**{**_known(cls, view.model_dump()), "side": OrderSide(view.side)})


@strawberry.type
class TradePage:
    items: list[Trade]
    next_cursor: str | None


@strawberry.type
class Position:
    symbol: str
    quantity: str
    average_cost: str
    cost_basis: str
    realized_pnl: str
    market_price: str
    market_value: str
    unrealized_pnl: str


@strawberry.type
class PositionPage:
    items: list[Position]
    next_cursor: str | None


@strawberry.type
class Account:
    id: strawberry.ID
    currency: str
    cash: str
    reserved: str
    equity: str
    buying_power: str
    realized_pnl: str
    unrealized_pnl: str
    commissions: str
    margin_enabled: bool
    leverage: str
    created_at: str


@strawberry.type
class Instrument:
    symbol: str
    asset_class: str
    currency: str
    tick_size: str
    lot_size: str
    min_quantity: str
    price_precision: int
    tradable: bool
    calendar: str


@strawberry.type
class InstrumentPage:
    items: list[Instrument]
    next_cursor: str | None


@strawberry.type
class Bar:
    timestamp: str
    open: str
    high: str
    low: str
    close: str
    volume: str


@strawberry.type
class BarPage:
    items: list[Bar]
    next_cursor: str | None


@strawberry.type
class Backtest:
    """A backtest as ``GET /v1/backtests/{id}`` shows it; statistics as JSON."""

    id: strawberry.ID
    status: str
    strategy: str
    params: JSON
    symbol: str
    interval: str
    start: str
    end: str
    cash: str
    commission: str
    slippage_bps: str
    apply_risk_limits: bool
    risk_limits: JSON | None
    reproducibility_hash: str | None
    statistics: JSON | None
    error: JSON | None
    reused_from: str | None
    created_at: str
    completed_at: str | None


@strawberry.type
class BacktestPage:
    items: list[Backtest]
    next_cursor: str | None


@strawberry.input
class PlaceOrderInput:
    """The REST body of ``POST /v1/orders``; quantities and prices are decimal strings."""

    symbol: str
    side: OrderSide  # type: ignore[valid-type]
    type: OrderType  # type: ignore[valid-type]
    quantity: str
    limit_price: str | None = None
    stop_price: str | None = None
    trail_price: str | None = None
    trail_percent: str | None = None
    time_in_force: TimeInForce = TimeInForce.DAY  # type: ignore[valid-type, attr-defined]
    client_order_id: str | None = None


@strawberry.input
class ReplaceOrderInput:
    """The REST body of ``PATCH /v1/orders/{id}``."""

    quantity: str | None = None
    limit_price: str | None = None
    stop_price: str | None = None
    trail_price: str | None = None
    trail_percent: str | None = None
    time_in_force: TimeInForce | None = None  # type: ignore[valid-type]
    client_order_id: str | None = None


class ApiError(GraphQLError):
    """An error with REST's stable code in ``extensions.code`` (and ``status``)."""

    def __init__(
        self, code: str, message: str, status: int, errors: list[dict[str, Any]] | None = None
    ) -> None:
        extensions: dict[str, Any] = {"code": code, "status": status}
        if errors:
            extensions["errors"] = errors
        super().__init__(message, extensions=extensions)


def _principal(info: Info, scope: str) -> Principal:
    principal: Principal = info.context["principal"]
    if not principal.has_scope(scope):
        raise ApiError("FORBIDDEN", f"this action needs the {scope!r} scope", 403)
    return principal


def _body(value: Any) -> dict[str, Any]:
    """An input as the REST body: snake_case names, enum values in lowercase."""
    body = {}
    for name, item in vars(value).items():
        if item is None:
            continue
        body[name] = item.value if isinstance(item, enum.Enum) else item
    return body


def _validated(model: type[PlaceOrder] | type[ReplaceOrder], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"]) or "input",
                "code": "ORDER_INVALID",
                "message": e["msg"],
            }
            for e in error.errors()
        ]
        raise ApiError("ORDER_INVALID", "the request is not valid", 422, errors) from None


def _page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise ApiError("REQUEST_INVALID", f"first must be between 1 and {MAX_PAGE}", 422)
    return first


@strawberry.type
class Query:
    @strawberry.field(description="The caller's account, valued at the latest prices.")
    def account(self, info: Info) -> Account:
        principal = _principal(info, "read")
        store = trading_store()
        view = account_view(store, _account(store, principal.account_id))
        return Account(**_known(Account, view.model_dump()))

    @strawberry.field(description="One of the caller's orders; null when there is none.")
    def order(self, info: Info, id: strawberry.ID) -> Order | None:
        principal = _principal(info, "read")
        store = trading_store()
        order = store.get_order(principal.account_id, str(id)[:64])
        return Order.of(order_routes.with_legs(store, order)) if order else None

    @strawberry.field(description="The caller's orders, newest first.")
    def orders(
        self,
        info: Info,
        status: list[OrderStatus] | None = None,  # type: ignore[valid-type]
        symbol: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> OrderPage:
        principal = _principal(info, "read")
        # OrderStatus is built at run time (_mirrored), so mypy cannot see its members.
        statuses = ",".join(s.value for s in status) if status else None  # type: ignore[attr-defined]
        where = OrderFilter(status=_statuses(statuses), symbol=symbol)
        position = unseal(after, order_routes.LIST, principal.account_id)
        store = trading_store()
        with cursor_checked():
            page = store.list_orders(principal.account_id, _page_size(first), position, where)
        return OrderPage(
            items=[Order.of(order_routes.with_legs(store, o)) for o in page.items],
            next_cursor=seal(page.next_cursor, order_routes.LIST, principal.account_id),
        )

    @strawberry.field(description="The caller's fills, oldest first.")
    def trades(
        self,
        info: Info,
        symbol: str | None = None,
        order_id: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> TradePage:
        principal = _principal(info, "read")
        position = unseal(after, trade_routes.LIST, principal.account_id)
        with cursor_checked():
            page = trading_store().list_trades(
                principal.account_id, _page_size(first), position, symbol=symbol, order_id=order_id
            )
        return TradePage(
            items=[Trade.of(fill_view(f)) for f in page.items],
            next_cursor=seal(page.next_cursor, trade_routes.LIST, principal.account_id),
        )

    @strawberry.field(description="Positions that are not flat, by symbol.")
    def positions(self, info: Info, first: int = 100, after: str | None = None) -> PositionPage:
        principal = _principal(info, "read")
        items, next_cursor = offset_page(
            open_positions(trading_store(), principal.account_id),
            _page_size(first),
            after,
            position_routes.LIST,
            principal.account_id,
        )
        return PositionPage(
            items=[Position(**_known(Position, position_detail(m).model_dump())) for m in items],
            next_cursor=next_cursor,
        )

    @strawberry.field(description="Tradable instruments, by symbol.")
    def instruments(self, info: Info, first: int = 100, after: str | None = None) -> InstrumentPage:
        principal = _principal(info, "read")
        items, next_cursor = offset_page(
            trading_store().list_instruments(),
            _page_size(first),
            after,
            instrument_routes.LIST,
            principal.account_id,
        )
        return InstrumentPage(
            items=[
                Instrument(**_known(Instrument, instrument_view(i).model_dump())) for i in items
            ],
            next_cursor=next_cursor,
        )

    @strawberry.field(description="One of the caller's backtests; null when there is none.")
    def backtest(self, info: Info, id: strawberry.ID) -> Backtest | None:
        principal = _principal(info, "read")
        found = store().get_backtest(principal.account_id, str(id)[:64])
        return Backtest(**found[0].model_dump()) if found else None

    @strawberry.field(description="The caller's backtests, newest first.")
    def backtests(self, info: Info, first: int = 50, after: str | None = None) -> BacktestPage:
        principal = _principal(info, "read")
        position = unseal(after, LIST, principal.account_id)
        with cursor_checked():
            items, next_position = store().list_backtests(
                principal.account_id, _page_size(first), position
            )
        return BacktestPage(
            items=[Backtest(**view.model_dump()) for view in items],
            next_cursor=seal(next_position, LIST, principal.account_id),
        )

    @strawberry.field(description="Bars oldest first (as GET /v1/bars).")
    def bars(
        self, info: Info, symbol: str, interval: str, start: str, end: str, after: str | None = None
    ) -> BarPage:
        _principal(info, "read")
        page = marketdata.list_bars(
            _NoCsv(),  # type: ignore[arg-type]
            symbol=symbol,
            interval=interval,
            start=start,
            end=end,
            cursor=after,
            principal=info.context["principal"],
        )
        return BarPage(
            items=[Bar(**_known(Bar, b.model_dump())) for b in page.items],
            next_cursor=page.next_cursor,
        )


class _NoCsv:
    """What the bars route reads of a request: an Accept header that is not CSV."""

    headers: dict[str, str] = {"accept": "application/json"}


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Place an order (as POST /v1/orders).")
    def place_order(self, info: Info, input: PlaceOrderInput) -> Order:
        principal = _principal(info, "trade")
        body = _validated(PlaceOrder, _body(input))
        placed = place_order(
            trading_store(),
            principal.account_id,
            body.model_dump(exclude_none=True),
            correlation_id=info.context["correlation_id"],
            now=datetime.now(UTC),
        )
        return Order.of(order_view(placed.order))

    @strawberry.mutation(description="Ask to cancel an order (as DELETE /v1/orders/{id}).")
    def cancel_order(self, info: Info, id: strawberry.ID) -> Order:
        principal = _principal(info, "trade")
        order = cancel_order(
            trading_store(),
            principal.account_id,
            str(id)[:64],
            correlation_id=info.context["correlation_id"],
            now=datetime.now(UTC),
        )
        return Order.of(order_view(order))

    @strawberry.mutation(description="Replace an open order (as PATCH /v1/orders/{id}).")
    def replace_order(self, info: Info, id: strawberry.ID, input: ReplaceOrderInput) -> Order:
        principal = _principal(info, "trade")
        changes = _validated(ReplaceOrder, _body(input)).model_dump(exclude_none=True)
        if not changes:
            raise ApiError("ORDER_INVALID", "name at least one field to change", 422)
        new = replace_order(
            trading_store(),
            principal.account_id,
            str(id)[:64],
            changes,
            correlation_id=info.context["correlation_id"],
            now=datetime.now(UTC),
        )
        return Order.of(order_view(new))


def bars_page_bound(arguments: dict[str, Any]) -> int:
    """How many bars a ``bars`` page can hold for these arguments (for the cost limit): the
    bars in [start, end), at most a page; a full page when they do not parse (the resolver
    then refuses them)."""

    step = INTERVALS.get(str(arguments.get("interval")))
    try:
        start, end = _moment("start", arguments["start"]), _moment("end", arguments["end"])
    except (Problem, KeyError, TypeError, AttributeError):
        return PAGE_BARS
    if step is None or end <= start:
        return PAGE_BARS if step is None else 1
    return min(PAGE_BARS, -(-(end - start) // step))


# Fields whose page size is not a ``first`` argument: name -> its bound from the arguments.
PAGE_BOUNDS = {"bars": bars_page_bound}


def error_extensions(error: Exception) -> dict[str, Any] | None:
    """REST's code and status for a failure raised by a resolver."""

    if isinstance(error, DomainError):
        return {"code": error.code, "status": domain_status(error.code)}
    if isinstance(error, Problem):
        extensions: dict[str, Any] = {"code": error.code, "status": error.status}
        if error.errors:
            extensions["errors"] = error.errors
        return extensions
    return None


schema = strawberry.Schema(query=Query, mutation=Mutation)

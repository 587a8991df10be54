"""The GraphQL schema (Strawberry). Imported on the first ``POST /graphql`` only.

Resolvers call the same services, stores and views as the REST routes; the REST
request models validate mutation inputs, so a rule exists once. Strawberry's
conventions: camelCase fields, upper-case enum values, decimals as strings.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from types import UnionType
from typing import Any, Literal, Union, cast, get_args, get_origin

import strawberry
from graphql import GraphQLError
from pydantic import BaseModel, ValidationError
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
from redfire_api.routes.account import AccountView, account_or_404, account_view
from redfire_api.routes.backtests import LIST, store
from redfire_api.routes.instruments import InstrumentView, instrument_view
from redfire_api.routes.marketdata import BarView, parse_moment
from redfire_api.routes.orders import PlaceOrder, ReplaceOrder, parse_statuses
from redfire_api.routes.positions import PositionDetail, position_detail
from redfire_api.valuation import open_positions
from redfire_core.adapters.trading_store import OrderFilter
from redfire_core.auth import Principal
from redfire_core.domain.bars import INTERVALS
from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import OrderStatus as DomainOrderStatus
from redfire_core.domain.orders import OrderType as DomainOrderType
from redfire_core.domain.orders import Side as DomainSide
from redfire_core.domain.orders import TimeInForce as DomainTimeInForce
from redfire_core.events import BacktestView, FillView, OrderView
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


def _graphql(annotation: Any) -> Any:
    """The GraphQL type of a view field: strings, numbers and booleans as they are (decimals
    are strings in the views), one of several strings a String, any dict or list JSON."""
    if annotation in (str, int, bool):
        return annotation
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin in (UnionType, Union):
        present = [a for a in arguments if a is not type(None)]
        (inner,) = present  # a view's union is "X | None"
        return _graphql(inner) | None
    if origin is Literal and all(isinstance(a, str) for a in arguments):
        return str
    if annotation is Any or origin in (dict, list) or annotation in (dict, list):
        return JSON
    raise TypeError(f"no GraphQL type for a view field of type {annotation!r}")


def derived(
    view: type[BaseModel],
    name: str,
    types: dict[str, Any] | None = None,
    exclude: tuple[str, ...] = (),
) -> Any:
    """The Strawberry type of a REST view model: its fields in its order (``exclude`` left out),
    typed by ``_graphql`` unless ``types`` names one (IDs, enums), so a field exists once."""
    types = types or {}
    annotations = {
        field: types.get(field, _graphql(info.annotation))
        for field, info in view.model_fields.items()
        if field not in exclude
    }
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    namespace.update(dict.fromkeys(annotations, None))  # defaults: any field may be absent
    return strawberry.type(type(name, (), namespace))


def _of(cls: Any, view: BaseModel) -> Any:
    """The GraphQL object of a REST view: its fields, enum values as the GraphQL enums."""
    values = {}
    for field in cls.__dataclass_fields__:
        value = getattr(view, field)
        kind = cls.__annotations__[field]
        values[field] = (
            kind(value) if isinstance(kind, type) and issubclass(kind, enum.Enum) else value
        )
    return cls(**values)


Order = derived(
    OrderView,
    "Order",
    {
        "id": strawberry.ID,
        "status": OrderStatus,
        "side": OrderSide,
        "type": OrderType,
        "time_in_force": TimeInForce,
    },
)
Trade = derived(FillView, "Trade", {"trade_id": strawberry.ID, "side": OrderSide})
Position = derived(PositionDetail, "Position")
Account = derived(AccountView, "Account", {"id": strawberry.ID}, exclude=("execution",))
Instrument = derived(InstrumentView, "Instrument")
Bar = derived(BarView, "Bar")
Backtest = derived(BacktestView, "Backtest", {"id": strawberry.ID})  # statistics as JSON


@strawberry.type
class OrderPage:
    items: list[Order]  # type: ignore[valid-type]
    next_cursor: str | None


@strawberry.type
class TradePage:
    items: list[Trade]  # type: ignore[valid-type]
    next_cursor: str | None


@strawberry.type
class PositionPage:
    items: list[Position]  # type: ignore[valid-type]
    next_cursor: str | None


@strawberry.type
class InstrumentPage:
    items: list[Instrument]  # type: ignore[valid-type]
    next_cursor: str | None


@strawberry.type
class BarPage:
    items: list[Bar]  # type: ignore[valid-type]
    next_cursor: str | None


@strawberry.type
class BacktestPage:
    items: list[Backtest]  # type: ignore[valid-type]
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
    def account(self, info: Info) -> Account:  # type: ignore[valid-type]
        principal = _principal(info, "read")
        store = trading_store()
        view = account_view(store, account_or_404(store, principal.account_id))
        return _of(Account, view)  # type: ignore[no-any-return]

    @strawberry.field(description="One of the caller's orders; null when there is none.")
    def order(self, info: Info, id: strawberry.ID) -> Order | None:  # type: ignore[valid-type]
        principal = _principal(info, "read")
        order = trading_store().get_order(principal.account_id, str(id)[:64])
        return _of(Order, order_view(order)) if order else None

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
        where = OrderFilter(status=parse_statuses(statuses), symbol=symbol)
        position = unseal(after, order_routes.LIST, principal.account_id)
        store = trading_store()
        with cursor_checked():
            page = store.list_orders(principal.account_id, _page_size(first), position, where)
        return OrderPage(
            items=[_of(Order, order_view(o)) for o in page.items],
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
            items=[_of(Trade, fill_view(f)) for f in page.items],
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
            items=[_of(Position, position_detail(m)) for m in items],
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
            items=[_of(Instrument, instrument_view(i)) for i in items],
            next_cursor=next_cursor,
        )

    @strawberry.field(description="One of the caller's backtests; null when there is none.")
    def backtest(self, info: Info, id: strawberry.ID) -> Backtest | None:  # type: ignore[valid-type]
        principal = _principal(info, "read")
        found = store().get_backtest(principal.account_id, str(id)[:64])
        return _of(Backtest, found[0]) if found else None

    @strawberry.field(description="The caller's backtests, newest first.")
    def backtests(self, info: Info, first: int = 50, after: str | None = None) -> BacktestPage:
        principal = _principal(info, "read")
        position = unseal(after, LIST, principal.account_id)
        with cursor_checked():
            items, next_position = store().list_backtests(
                principal.account_id, _page_size(first), position
            )
        return BacktestPage(
            items=[_of(Backtest, view) for view in items],
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
            items=[_of(Bar, b) for b in page.items],
            next_cursor=page.next_cursor,
        )


class _NoCsv:
    """What the bars route reads of a request: an Accept header that is not CSV."""

    headers: dict[str, str] = {"accept": "application/json"}


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Place an order (as POST /v1/orders).")
    def place_order(self, info: Info, input: PlaceOrderInput) -> Order:  # type: ignore[valid-type]
        principal = _principal(info, "trade")
        body = _validated(PlaceOrder, _body(input))
        placed = place_order(
            trading_store(),
            principal.account_id,
            body.model_dump(exclude_none=True),
            correlation_id=info.context["correlation_id"],
            now=datetime.now(UTC),
        )
        return _of(Order, order_view(placed.order))  # type: ignore[no-any-return]

    @strawberry.mutation(description="Ask to cancel an order (as DELETE /v1/orders/{id}).")
    def cancel_order(self, info: Info, id: strawberry.ID) -> Order:  # type: ignore[valid-type]
        principal = _principal(info, "trade")
        order = cancel_order(
            trading_store(),
            principal.account_id,
            str(id)[:64],
            correlation_id=info.context["correlation_id"],
            now=datetime.now(UTC),
        )
        return _of(Order, order_view(order))  # type: ignore[no-any-return]

    @strawberry.mutation(description="Replace an open order (as PATCH /v1/orders/{id}).")
    def replace_order(self, info: Info, id: strawberry.ID, input: ReplaceOrderInput) -> Order:  # type: ignore[valid-type]
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
        return _of(Order, order_view(new))  # type: ignore[no-any-return]


def bars_page_bound(arguments: dict[str, Any]) -> int:
    """How many bars a ``bars`` page can hold for these arguments (for the cost limit): the
    bars in [start, end), at most a page; a full page when they do not parse (the resolver
    then refuses them)."""

    step = INTERVALS.get(str(arguments.get("interval")))
    try:
        start, end = (
            parse_moment("start", arguments["start"]),
            parse_moment("end", arguments["end"]),
        )
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

"""AlpacaGateway: the venue port (``redfire_core.venues.VenueGateway``) on alpaca-py.

Every call goes through alpaca-py's ``TradingClient`` (its auth headers, base URL and
response models). Three things are set on it that its constructor does not offer:

- no retries: alpaca-py retries 429 and 504 itself, sleeping 3 s each time, and its
  constructor treats 0 attempts as "the default" (3). The intake service owns retries
  and lookups after an unknown outcome, so the adapter makes exactly one request;
- a timeout on every request (alpaca-py sets none, and Lambda would wait to its end);
- quantities and prices sent as strings: alpaca-py's request models hold floats (and a
  replace's ``qty`` is an int), so the order bodies are built here from the ``Decimal``s.

Fills are Alpaca's account activities of type ``FILL`` (alpaca-py 0.44 has no call for
them): one ``VenueFill`` per execution, its activity id the execution id.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, TypeVar

import requests
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, AssetStatus, PositionSide, QueryOrderStatus
from alpaca.trading.enums import OrderStatus as AlpacaStatus
from alpaca.trading.models import Asset, Position, TradeAccount, TradeActivity
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.requests import GetOrdersRequest

from redfire_core.alpaca_dialect import NOT_UNIQUE
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import Order
from redfire_core.venues import (
    VenueAuthError,
    VenueBalances,
    VenueCredentials,
    VenueError,
    VenueFill,
    VenueMode,
    VenueNotFound,
    VenueOrder,
    VenuePosition,
    VenueRateLimited,
    VenueRejected,
    VenueStatus,
    VenueUnavailable,
)

T = TypeVar("T")
V = VenueStatus
DEFAULT_TIMEOUT = 10.0  # seconds per request; a Lambda invocation outlives a few of them
ACTIVITIES_PAGE = 100  # Alpaca's largest page of account activities
ORDERS_PAGE = 500  # Alpaca's largest page of orders
# A penny is a valid price at every price level (sub-penny, $0.0001, only below $1, which
# needs a price the asset record does not carry), so it is the equity tick.
EQUITY_TICK = Decimal("0.01")
FRACTIONAL_LOT = Decimal("0.000000001")  # Alpaca takes quantities to 9 decimal places
CRYPTO_QUOTES = ("USDT", "USDC", "USD", "BTC")

# Alpaca's order status -> the venue port's. Working states are NEW (or PARTIALLY_FILLED
# once something filled, see _status); a replaced order receives no more fills, so it is
# over (CANCELED) and its replacement is the live one.
STATUS: dict[AlpacaStatus, VenueStatus] = {
    AlpacaStatus.PENDING_NEW: V.PENDING,
    AlpacaStatus.ACCEPTED: V.PENDING,
    AlpacaStatus.ACCEPTED_FOR_BIDDING: V.PENDING,
    AlpacaStatus.PENDING_REVIEW: V.PENDING,
    AlpacaStatus.NEW: V.NEW,
    AlpacaStatus.HELD: V.NEW,
    AlpacaStatus.SUSPENDED: V.NEW,
    AlpacaStatus.STOPPED: V.NEW,
    AlpacaStatus.CALCULATED: V.NEW,
    AlpacaStatus.DONE_FOR_DAY: V.NEW,
    AlpacaStatus.PENDING_CANCEL: V.NEW,
    AlpacaStatus.PENDING_REPLACE: V.NEW,
    AlpacaStatus.PARTIALLY_FILLED: V.PARTIALLY_FILLED,
    AlpacaStatus.FILLED: V.FILLED,
    AlpacaStatus.CANCELED: V.CANCELED,
    AlpacaStatus.REPLACED: V.CANCELED,
    AlpacaStatus.EXPIRED: V.EXPIRED,
    AlpacaStatus.REJECTED: V.REJECTED,
}


class _TimedSession(requests.Session):
    """A requests session with a default timeout (alpaca-py passes none)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


class AlpacaGateway:
    """One account's connection to Alpaca (paper or live, or ``base_url`` when set)."""

    def __init__(self, credentials: VenueCredentials, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._client = TradingClient(
            credentials.key_id,
            credentials.secret,
            paper=credentials.mode is VenueMode.PAPER,
            url_override=credentials.base_url,
        )
        # See the module docstring: one request per call, each with a timeout.
        self._client._retry = 0
        self._client._retry_codes = []
        self._client._session = _TimedSession(timeout)

    # -- the port ---------------------------------------------------------------------

    def check(self) -> VenueBalances:
        account = self._account()
        if account.account_blocked or account.trading_blocked:
            raise VenueAuthError(f"the Alpaca account {account.account_number} cannot trade")
        return self._balances(account)

    def submit(self, order: Order, instrument: Instrument) -> VenueOrder:
        return self._place(lambda: self._client.post("/orders", order_body(order)), order.id)

    def find(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        # Alpaca looks an order up by client order id alone: ``symbol`` is not needed
        return self._venue_orders([self._order(client_order_id)])[0]

    def cancel(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        current = self._order(client_order_id)
        if STATUS[current.status].is_final:
            return self._venue_orders([current])[0]
        # A 422 says it is no longer cancelable (it filled meanwhile): the order says how.
        with suppress(VenueRejected):
            _call(lambda: self._client.cancel_order_by_id(current.id))
        return self.find(client_order_id)

    def replace(self, client_order_id: str, order: Order, instrument: Instrument) -> VenueOrder:
        current = self._order(client_order_id)
        if current.status is AlpacaStatus.REPLACED:
            # An earlier attempt got through (its answer was lost): its replacement has the
            # new id. Otherwise another replace won.
            try:
                return self.find(order.id)
            except VenueNotFound:
                raise VenueRejected(f"already replaced by {current.replaced_by}") from None
        path = f"/orders/{current.id}"
        return self._place(lambda: self._client.patch(path, replace_body(order)), order.id)

    def open_orders(self) -> Sequence[VenueOrder]:
        return self._venue_orders(self._open_orders())

    def balances(self) -> VenueBalances:
        return self._balances(self._account())

    def instrument(self, symbol: str) -> Instrument | None:
        # "BTCUSD" rather than "BTC/USD": alpaca-py puts the symbol in the path unescaped.
        lookup = alpaca_symbol(symbol).replace("/", "")
        try:
            asset = _expect(_call(lambda: self._client.get_asset(lookup)), Asset)
        except VenueNotFound:
            return None
        return instrument_of(asset, symbol)

    # -- placing and reading ----------------------------------------------------------

    def _place(self, request: Callable[[], Any], client_order_id: str) -> VenueOrder:
        """A submit or replace. Alpaca's 422 for a client order id it already holds means an
        earlier attempt got through (its answer was lost): that order is the result."""
        try:
            raw = request()
        except APIError as error:
            if _is_duplicate(error):
                return self.find(client_order_id)
            raise _venue_error(error, placing=True) from error
        except requests.RequestException as error:
            raise _unavailable(error) from error
        return self._venue_orders([AlpacaOrder(**_expect(raw, dict))])[0]

    def _order(self, client_order_id: str) -> AlpacaOrder:
        return _expect(
            _call(lambda: self._client.get_order_by_client_id(client_order_id)), AlpacaOrder
        )

    def _account(self) -> TradeAccount:
        return _expect(_call(self._client.get_account), TradeAccount)

    def _balances(self, account: TradeAccount) -> VenueBalances:
        positions = _call(self._client.get_all_positions)
        return VenueBalances(
            cash=_decimal(account.cash),
            currency=account.currency or "USD",
            positions=tuple(position_of(_expect(p, Position)) for p in _items(positions)),
        )

    def _open_orders(self) -> list[AlpacaOrder]:
        """Every open order, newest first, paging back by submission time (500 a page)."""
        seen: dict[str, AlpacaOrder] = {}
        until: datetime | None = None
        while True:
            query = GetOrdersRequest(
                status=QueryOrderStatus.OPEN,
                limit=ORDERS_PAGE,
                direction=Sort.DESC,
                until=until,
                nested=False,
            )
            answer = _call(partial(self._client.get_orders, query))
            page = [_expect(o, AlpacaOrder) for o in _items(answer)]
            new = [o for o in page if str(o.id) not in seen]
            seen.update((str(o.id), o) for o in new)
            if len(page) < ORDERS_PAGE or not new:
                return list(seen.values())
            until = page[-1].submitted_at

    def _venue_orders(self, orders: Sequence[AlpacaOrder]) -> list[VenueOrder]:
        fills = self._fills(orders)
        return [venue_order(o, tuple(fills.get(str(o.id), ()))) for o in orders]

    def _fills(self, orders: Sequence[AlpacaOrder]) -> dict[str, list[VenueFill]]:
        """The FILL activities of ``orders`` (those that filled anything), in one pass.

        Activities cannot be asked for by order, so this pages forward from the earliest
        order's submission and stops once each order's fills add up to its filled quantity.
        """
        wanted = {str(o.id): _decimal(o.filled_qty) for o in orders}
        wanted = {order_id: qty for order_id, qty in wanted.items() if qty > 0}
        if not wanted:
            return {}
        since = min(o.submitted_at for o in orders if str(o.id) in wanted) - timedelta(seconds=1)
        params: dict[str, Any] = {
            "after": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "direction": "asc",
            "page_size": ACTIVITIES_PAGE,
        }
        found: dict[str, dict[str, VenueFill]] = {}
        while True:
            page = _items(_call(lambda: self._client.get("/account/activities/FILL", params)))
            for raw in page:
                order_id = str(raw.get("order_id"))
                if order_id in wanted:
                    fill = fill_of(raw)
                    found.setdefault(order_id, {})[fill.execution_id] = fill
            complete = all(
                sum((f.quantity for f in found.get(order_id, {}).values()), Decimal(0)) >= qty
                for order_id, qty in wanted.items()
            )
            if len(page) < ACTIVITIES_PAGE or complete:
                break
            params["page_token"] = page[-1]["id"]
        return {
            order_id: sorted(by_id.values(), key=lambda f: (f.at, f.execution_id))
            for order_id, by_id in found.items()
        }


# -- Alpaca's shapes <-> the port's ---------------------------------------------------


def alpaca_symbol(symbol: str) -> str:
    """RedFire's ``BTC-USD`` is Alpaca's ``BTC/USD``; equities keep their symbol."""
    return symbol.replace("-", "/")


def redfire_symbol(symbol: str, asset_class: AssetClass | None = None) -> str:
    """Alpaca's ``BTC/USD`` (orders) or ``BTCUSD`` (positions) is RedFire's ``BTC-USD``."""
    if "/" in symbol:
        return symbol.replace("/", "-")
    if asset_class is AssetClass.CRYPTO:
        for quote in CRYPTO_QUOTES:
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return f"{symbol[: -len(quote)]}-{quote}"
    return symbol


def order_body(order: Order) -> dict[str, str]:
    """``POST /v2/orders`` for ``order``: its id is the client order id, numbers are strings."""
    body = {
        "symbol": alpaca_symbol(order.symbol),
        "qty": _text(order.quantity),
        "side": order.side.value,
        "type": order.type.value,
        "time_in_force": order.time_in_force.value,
        "client_order_id": order.id,
    }
    for field in ("limit_price", "stop_price", "trail_price", "trail_percent"):
        value: Decimal | None = getattr(order, field)
        if value is not None:
            body[field] = _text(value)
    return body


def replace_body(order: Order) -> dict[str, str]:
    """``PATCH /v2/orders/{id}``: the replacement's terms, under its own client order id."""
    body = {
        "qty": _text(order.quantity),
        "time_in_force": order.time_in_force.value,
        "client_order_id": order.id,
    }
    for field in ("limit_price", "stop_price"):
        value: Decimal | None = getattr(order, field)
        if value is not None:
            body[field] = _text(value)
    trail = order.trail_price if order.trail_price is not None else order.trail_percent
    if trail is not None:
        body["trail"] = _text(trail)
    return body


def venue_order(order: AlpacaOrder, fills: tuple[VenueFill, ...] = ()) -> VenueOrder:
    filled = _decimal(order.filled_qty)
    status = _status(order, filled)
    reason = None
    if order.status is AlpacaStatus.REPLACED:
        reason = f"replaced by {order.replaced_by}"
    elif status is V.REJECTED:
        reason = "rejected by Alpaca"  # an order rejected after acceptance carries no message
    return VenueOrder(
        client_order_id=order.client_order_id,
        venue_order_id=str(order.id),
        status=status,
        filled_quantity=filled,
        average_price=_decimal(order.filled_avg_price) if filled > 0 else None,
        reason=reason,
        fills=fills,
        updated_at=order.updated_at,
    )


def _status(order: AlpacaOrder, filled: Decimal) -> VenueStatus:
    status = STATUS[order.status]
    if order.status is AlpacaStatus.CALCULATED and 0 < filled == _decimal(order.qty):
        return V.FILLED  # done for the day and settling: it filled whole
    if status in (V.NEW, V.PENDING) and filled > 0:
        return V.PARTIALLY_FILLED
    return status


def fill_of(raw: dict[str, Any]) -> VenueFill:
    """One FILL activity. Checked against alpaca-py's model; the numbers are read from the
    JSON strings (the model holds floats)."""
    activity = TradeActivity(**raw)
    return VenueFill(
        execution_id=activity.id,
        quantity=_decimal(raw["qty"]),
        price=_decimal(raw["price"]),
        at=activity.transaction_time,
    )


def position_of(position: Position) -> VenuePosition:
    quantity = abs(_decimal(position.qty))
    return VenuePosition(
        symbol=redfire_symbol(position.symbol, position.asset_class),
        quantity=-quantity if position.side is PositionSide.SHORT else quantity,
        average_price=_decimal(position.avg_entry_price),
    )


def instrument_of(asset: Asset, symbol: str) -> Instrument | None:
    """RedFire's instrument for an Alpaca asset; None for what RedFire does not trade."""
    if asset.asset_class is AssetClass.US_EQUITY:
        asset_class, currency, calendar = "equity", "USD", "XNYS"
    elif asset.asset_class is AssetClass.CRYPTO:
        quote = redfire_symbol(asset.symbol, asset.asset_class).rpartition("-")[2]
        asset_class, currency, calendar = "crypto", quote or "USD", "24/7"
    else:
        return None
    tick = _decimal(asset.price_increment) if asset.price_increment else EQUITY_TICK
    if asset.fractionable:
        lot = _decimal(asset.min_trade_increment) if asset.min_trade_increment else FRACTIONAL_LOT
    else:
        lot = Decimal(1)
    minimum = _decimal(asset.min_order_size) if asset.min_order_size else lot
    exponent = tick.normalize().as_tuple().exponent
    return Instrument(
        symbol=symbol,
        asset_class=asset_class,
        currency=currency,
        tick_size=tick,
        lot_size=lot,
        min_quantity=minimum,
        price_precision=max(0, -exponent) if isinstance(exponent, int) else 0,
        tradable=asset.tradable and asset.status is AssetStatus.ACTIVE,
        calendar=calendar,
    )


# -- errors -----------------------------------------------------------------------------


def _call(request: Callable[[], T]) -> T:
    """One alpaca-py call, its failures in the port's words (reads, cancels)."""
    try:
        return request()
    except APIError as error:
        raise _venue_error(error) from error
    except requests.RequestException as error:
        raise _unavailable(error) from error


def _venue_error(error: APIError, *, placing: bool = False) -> VenueError:
    """Alpaca's answer as a ``VenueError``. ``placing``: a submit or replace, where a 403
    carrying Alpaca's code is the order refused ("insufficient buying power"); a bad or
    revoked key is a 401, or a bare 403 ``{"message": "forbidden."}``."""
    status = error.status_code
    body = _body(error)
    message = str(body.get("message") or str(error)[:200] or f"HTTP {status}")
    if status == 401 or (status == 403 and not (placing and "code" in body)):
        return VenueAuthError(message)
    if status == 403:
        return VenueRejected(message)
    if status == 404:
        return VenueNotFound(message)
    if status == 429:
        return VenueRateLimited(message, _retry_after(error.response))
    if status is None or status >= 500:
        return VenueUnavailable(message)
    if status in (400, 409, 422):
        return VenueRejected(message)
    return VenueError(message)


def _unavailable(error: requests.RequestException) -> VenueUnavailable:
    # Timeout, refused or dropped connection: whether Alpaca acted is unknown.
    return VenueUnavailable(f"Alpaca did not answer ({type(error).__name__})")


def _is_duplicate(error: APIError) -> bool:
    """Alpaca's 422 for a client order id it already holds (40010001 is also its code for
    other invalid requests, so the message decides)."""
    body = _body(error)
    message = str(body.get("message", ""))
    return (
        error.status_code == NOT_UNIQUE.status
        and body.get("code") == NOT_UNIQUE.code
        and "client_order_id" in message
        and "unique" in message
    )


def _body(error: APIError) -> dict[str, Any]:
    try:
        body = json.loads(str(error))
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: requests.Response | None) -> float | None:
    """``Retry-After`` (seconds or a date), else Alpaca's ``X-RateLimit-Reset`` (epoch s)."""
    if response is None:
        return None
    header = response.headers.get("Retry-After")
    if header:
        if header.strip().isdigit():
            return float(header)
        try:
            return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    reset = response.headers.get("X-RateLimit-Reset")
    if reset and reset.strip().isdigit():
        return max(0.0, float(reset) - time.time())
    return None


# -- small conversions ------------------------------------------------------------------


def _decimal(value: object) -> Decimal:
    """A venue number as a Decimal: from its JSON string (or, for alpaca-py's float fields,
    from the float's shortest repr, which is the literal the venue sent)."""
    if value is None or value == "":
        return Decimal(0)
    return Decimal(str(value))


def _text(value: Decimal) -> str:
    return format(value, "f")


def _items(result: object) -> list[Any]:
    if not isinstance(result, list):
        raise VenueUnavailable(f"Alpaca answered {type(result).__name__}, not a list")
    return result


def _expect(value: object, kind: type[T]) -> T:
    if not isinstance(value, kind):
        raise VenueUnavailable(f"Alpaca answered {type(value).__name__}, not {kind.__name__}")
    return value

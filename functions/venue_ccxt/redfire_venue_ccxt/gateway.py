"""RedFire's venue port on ccxt: crypto exchanges' spot markets (tested with Binance).

RedFire's order id is the exchange's client order id (``clientOrderId``, ``newClientOrderId``
on Binance), so an order whose submit timed out is found again by that id. Numbers cross
the boundary as strings: quantities and prices leave as the exchange's own precision
strings (and are refused, never rounded, when they do not fit it), and ccxt's returned
floats are read through ``str`` into ``Decimal``. The adapter never retries: the intake
service does, with backoff, so ccxt's own rate limiter is off.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ccxt
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE

from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import Order, OrderType, TimeInForce
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
ZERO = Decimal(0)

# Spot markets only: no futures or margin market lists, no currency list (a wallet call
# the sandbox lacks), and one unfiltered open-orders call for reconciliation.
_EXCHANGE_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "warnOnFetchOpenOrdersWithoutSymbol": False,
    },
}
# The currency an account's cash is counted in, per exchange (a constructor argument
# overrides it).
_QUOTE_CURRENCY: dict[str, str] = {"binance": "USDT"}

# Binance codes whose meaning ccxt blurs: after one successful private call ccxt reports
# -2015 (key revoked or lacking permission) as DDoSProtection, and -2010 texts such as
# "This symbol is not permitted for this account." as PermissionDenied. RedFire needs
# an auth failure to stop the account's gateway and an order refusal to end the order.
_AUTH_CODES = frozenset({-1002, -1022, -2014, -2015})
_ORDER_REJECTED_CODES = frozenset({-2010})
_CLOCK_CODES = frozenset({-1021})

_TIME_IN_FORCE = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}

_STATUS = {
    "closed": VenueStatus.FILLED,
    "canceled": VenueStatus.CANCELED,
    "expired": VenueStatus.EXPIRED,
    "rejected": VenueStatus.REJECTED,
}
_QUERY = re.compile(r"\?\S*")


def to_venue_symbol(symbol: str) -> str:
    """RedFire's ``BTC-USDT`` as ccxt's unified spot symbol ``BTC/USDT``."""
    base, dash, quote = symbol.rpartition("-")
    if not dash or not base or not quote:
        raise VenueRejected(f"{symbol!r} is not a BASE-QUOTE crypto symbol")
    return f"{base}/{quote}"


def to_redfire_symbol(market_symbol: str) -> str:
    """ccxt's ``BTC/USDT`` as RedFire's ``BTC-USDT``."""
    base, _, quote = market_symbol.partition("/")
    return f"{base}-{quote.split(':')[0]}"


class CcxtGateway:
    """One account's connection to one ccxt exchange (``credentials.exchange``)."""

    def __init__(
        self,
        credentials: VenueCredentials,
        *,
        timeout_ms: int = 10_000,
        quote_currency: str | None = None,
    ) -> None:
        exchange_id = (credentials.exchange or "").lower()
        if exchange_id not in ccxt.exchanges:
            raise VenueError(f"ccxt has no exchange {credentials.exchange!r}")
        # ccxt logs each request's headers (the API key among them) at debug level.
        logging.getLogger("ccxt").setLevel(logging.INFO)
        exchange_class = getattr(ccxt, exchange_id)
        self._exchange: Any = exchange_class(
            {
                "apiKey": credentials.key_id,
                "secret": credentials.secret,
                "enableRateLimit": False,
                "timeout": timeout_ms,
                "options": _EXCHANGE_OPTIONS.get(exchange_id, {}),
            }
        )
        # Kept so a failure's venue error code can be read (see _venue_error).
        self._exchange.enableLastJsonResponse = True
        self._exchange.enableLastResponseHeaders = True
        self._last_status: int | None = None
        answered = self._exchange.on_rest_response

        def record_status(code: Any, *rest: Any) -> Any:
            self._last_status = int(code)
            return answered(code, *rest)

        # A 5xx means the outcome is unknown whatever code its body carries (Binance's docs).
        self._exchange.on_rest_response = record_status
        if credentials.mode is VenueMode.PAPER:
            try:
                self._exchange.set_sandbox_mode(True)
            except ccxt.NotSupported as error:
                raise VenueError(
                    f"{exchange_id} has no sandbox in ccxt: paper mode needs one"
                ) from error
        if credentials.base_url:
            self._exchange.urls["api"] = _pointed_at(
                self._exchange.urls["api"], credentials.base_url
            )
        self.exchange_id = exchange_id
        self.quote_currency = quote_currency or _QUOTE_CURRENCY.get(exchange_id, "USDT")
        self._markets: dict[str, Any] | None = None
        # The market of each order this instance has seen: Binance looks orders up per symbol.
        self._symbol_of: dict[str, str] = {}

    def __repr__(self) -> str:  # never print the credentials ccxt holds
        return f"CcxtGateway(exchange={self.exchange_id!r})"

    # --- the port -------------------------------------------------------------------

    def check(self) -> VenueBalances:
        """The balances: a signed read-only call that fails on wrong or revoked keys."""
        return self.balances()

    def submit(self, order: Order, instrument: Instrument) -> VenueOrder:
        """Send ``order`` with its id as the client order id. ``instrument`` is RedFire's;
        the exchange's own precision decides what it accepts, checked here exactly."""
        market_symbol = to_venue_symbol(order.symbol)
        self._market(market_symbol)
        ccxt_type, price, params = self._order_shape(order, market_symbol)
        amount = self._exact(
            self._exchange.amount_to_precision, market_symbol, order.quantity, "quantity"
        )
        params["clientOrderId"] = order.id
        raw = self._call(
            self._exchange.create_order,
            market_symbol,
            ccxt_type,
            order.side.value,
            amount,
            price,
            params,
        )
        self._symbol_of[order.id] = market_symbol
        venue_order_id = str(raw.get("id"))
        # Binance's FULL response lists the fills the submit made (without their time).
        fills = _fills(raw.get("trades") or (), venue_order_id, _moment(raw.get("timestamp")))
        return self._venue_order(raw, order.id, fills)

    def find(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """The order with this client order id, with its fills; ``VenueNotFound`` if none.
        ``symbol`` (RedFire's) names its market: Binance looks orders up per symbol."""
        market_symbol = self._market_of(client_order_id, symbol)
        raw = self._call(
            self._exchange.fetch_order, None, market_symbol, {"clientOrderId": client_order_id}
        )
        self._symbol_of[client_order_id] = market_symbol
        return self._with_fills(raw, client_order_id, market_symbol)

    def cancel(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """Ask to cancel; the order as the venue has it after the request (a fill that won
        the race shows as ``filled``)."""
        market_symbol = self._market_of(client_order_id, symbol)
        try:
            raw = self._call(
                self._exchange.cancel_order,
                None,
                market_symbol,
                {"clientOrderId": client_order_id},
            )
        except VenueNotFound:
            # Binance answers -2011 "Unknown order sent." for an order that is no longer
            # open too (filled or closed first): its record tells which.
            return self.find(client_order_id, to_redfire_symbol(market_symbol))
        return self._with_fills(raw, client_order_id, market_symbol)

    def replace(self, client_order_id: str, order: Order, instrument: Instrument) -> VenueOrder:
        """Cancel the open order, then submit ``order`` (its own id as the new client order
        id): one code path for every exchange, where Binance's cancelReplace is spot-only."""
        canceled = self.cancel(client_order_id, order.symbol)
        if canceled.status is not VenueStatus.CANCELED:
            if canceled.status.is_final:
                raise VenueRejected(
                    f"order {client_order_id} is {canceled.status} at {self.exchange_id}: "
                    "nothing left to replace"
                )
            raise VenueUnavailable(
                f"{self.exchange_id} has not confirmed the cancel of {client_order_id}"
            )
        return self.submit(order, instrument)

    def open_orders(self) -> Sequence[VenueOrder]:
        """Every open order of the account, across its markets (one call, no fills)."""
        raws = self._call(self._exchange.fetch_open_orders)
        orders = []
        for raw in raws:
            client_order_id = raw.get("clientOrderId")
            if client_order_id is None:
                continue  # placed without a client order id: not RedFire's
            self._symbol_of[client_order_id] = raw["symbol"]
            orders.append(self._venue_order(raw, client_order_id, ()))
        return orders

    def balances(self) -> VenueBalances:
        """Cash (free + held) in the quote currency, and every other non-zero holding the
        exchange lists against it as a position."""
        raw = self._call(self._exchange.fetch_balance)
        markets = self._markets_by_symbol()
        free, used = raw.get("free") or {}, raw.get("used") or {}
        cash = ZERO
        positions = []
        for asset in sorted(set(free) | set(used)):
            held = (_decimal(free.get(asset)) or ZERO) + (_decimal(used.get(asset)) or ZERO)
            if asset == self.quote_currency:
                cash = held
            elif held != 0 and f"{asset}/{self.quote_currency}" in markets:
                positions.append(VenuePosition(f"{asset}-{self.quote_currency}", held))
        return VenueBalances(cash=cash, currency=self.quote_currency, positions=tuple(positions))

    def instrument(self, symbol: str) -> Instrument | None:
        """The exchange's tick and lot for ``symbol`` from ccxt's market precision."""
        try:
            market_symbol = to_venue_symbol(symbol)
        except VenueRejected:
            return None
        market = self._markets_by_symbol().get(market_symbol)
        if market is None or not market.get("spot"):
            return None
        tick = self._step(market["precision"].get("price"))
        lot = self._step(market["precision"].get("amount"))
        if tick is None or lot is None:
            return None
        minimum = _decimal(market["limits"]["amount"].get("min")) or ZERO
        return Instrument(
            symbol=symbol,
            asset_class="crypto",
            currency=str(market["quote"]),
            tick_size=tick,
            lot_size=lot,
            min_quantity=max(minimum, lot),
            price_precision=max(0, -int(tick.normalize().as_tuple().exponent)),
            tradable=market.get("active") is not False,
            calendar="24/7",
        )

    # --- helpers ----------------------------------------------------------------------

    def _order_shape(
        self, order: Order, market_symbol: str
    ) -> tuple[str, str | None, dict[str, Any]]:
        """ccxt's type, price and params for RedFire's order type and time in force."""
        if order.type is OrderType.TRAILING_STOP:
            raise VenueRejected(f"{self.exchange_id} orders through RedFire cannot trail")
        params: dict[str, Any] = {}
        if order.type in (OrderType.STOP, OrderType.STOP_LIMIT):
            if not self._exchange.has.get("createTriggerOrder"):
                raise VenueRejected(f"{self.exchange_id} takes no stop orders through ccxt")
            assert order.stop_price is not None  # OrderRequest.parse requires it
            params["triggerPrice"] = self._exact(
                self._exchange.price_to_precision, market_symbol, order.stop_price, "stop_price"
            )
        if order.type in (OrderType.MARKET, OrderType.STOP):
            return "market", None, params  # a market order takes no time in force
        tif = _TIME_IN_FORCE.get(order.time_in_force)
        if tif is None:
            raise VenueRejected(
                f"{self.exchange_id} spot has no {order.time_in_force} orders: use gtc, ioc or fok"
            )
        params["timeInForce"] = tif
        assert order.limit_price is not None  # OrderRequest.parse requires it
        price = self._exact(
            self._exchange.price_to_precision, market_symbol, order.limit_price, "limit_price"
        )
        return "limit", price, params

    def _exact(
        self,
        to_precision: Callable[[str, str], str],
        market_symbol: str,
        value: Decimal,
        field: str,
    ) -> str:
        """``value`` as the exchange's precision string, refused if that would change it."""
        try:
            text = to_precision(market_symbol, str(value))
        except ccxt.BaseError as error:
            raise VenueRejected(f"{field} {value}: {error}") from error
        if Decimal(text) != value:
            raise VenueRejected(
                f"{field} {value} does not fit {self.exchange_id}'s precision for "
                f"{market_symbol} (nearest {text})"
            )
        return text

    def _with_fills(
        self, raw: Mapping[str, Any], client_order_id: str, market_symbol: str
    ) -> VenueOrder:
        """The order with its executions (fetchMyTrades of its market, by its order id)."""
        venue_order_id = str(raw.get("id"))
        fills: tuple[VenueFill, ...] = ()
        if (_decimal(raw.get("filled")) or ZERO) > 0:
            trades = self._call(
                self._exchange.fetch_my_trades,
                market_symbol,
                None,
                None,
                {"orderId": venue_order_id},
            )
            fills = _fills(trades, venue_order_id, None)
        return self._venue_order(raw, client_order_id, fills)

    def _venue_order(
        self, raw: Mapping[str, Any], client_order_id: str, fills: tuple[VenueFill, ...]
    ) -> VenueOrder:
        filled = _decimal(raw.get("filled")) or ZERO
        status = _STATUS.get(str(raw.get("status")))
        if status is None:  # open, or canceling: still working
            status = VenueStatus.PARTIALLY_FILLED if filled > 0 else VenueStatus.NEW
        updated = raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp")
        return VenueOrder(
            client_order_id=client_order_id,
            venue_order_id=str(raw.get("id")),
            status=status,
            filled_quantity=filled,
            average_price=_decimal(raw.get("average")) if filled > 0 else None,
            reason=_info_message(raw) if status is VenueStatus.REJECTED else None,
            fills=fills,
            updated_at=_moment(updated or raw.get("timestamp")),
        )

    def _market_of(self, client_order_id: str, symbol: str | None) -> str:
        if symbol is not None:
            return to_venue_symbol(symbol)
        known = self._symbol_of.get(client_order_id)
        if known is not None:
            return known
        for order in self.open_orders():  # an open order is found across markets
            if order.client_order_id == client_order_id:
                return self._symbol_of[client_order_id]
        raise VenueError(
            f"{self.exchange_id} looks orders up per market: give the symbol of {client_order_id}"
        )

    def _market(self, market_symbol: str) -> Mapping[str, Any]:
        market = self._markets_by_symbol().get(market_symbol)
        if market is None or not market.get("spot"):
            raise VenueRejected(f"{self.exchange_id} lists no spot market {market_symbol}")
        return market  # type: ignore[no-any-return]

    def _markets_by_symbol(self) -> dict[str, Any]:
        """The exchange's markets, loaded once per gateway."""
        if self._markets is None:
            self._markets = self._call(self._exchange.load_markets)
        return self._markets

    def _step(self, precision: Any) -> Decimal | None:
        """A precision as a step: a tick size already, or a number of decimals."""
        value = _decimal(precision)
        if value is None or value <= 0:
            return None
        if self._exchange.precisionMode == TICK_SIZE:
            return value
        if self._exchange.precisionMode == DECIMAL_PLACES:
            return Decimal(1).scaleb(-int(value))
        return None  # significant digits: no fixed step

    def _call(self, operation: Callable[..., T], *args: Any) -> T:
        """One ccxt call, its failure mapped to the port's errors."""
        self._exchange.last_json_response = None
        self._exchange.last_response_headers = None
        self._last_status = None
        try:
            return operation(*args)
        except ccxt.BaseError as error:
            raise self._venue_error(error) from error

    def _venue_error(self, error: Exception) -> VenueError:
        body = self._exchange.last_json_response
        code = _int(body.get("code")) if isinstance(body, dict) else None
        message = _venue_message(body) or _QUERY.sub("", str(error))
        if self._last_status is not None and self._last_status >= 500:
            return VenueUnavailable(message)
        if code in _AUTH_CODES:
            return VenueAuthError(message)
        if code in _CLOCK_CODES or isinstance(error, ccxt.InvalidNonce):
            self._resync_clock()
            return VenueUnavailable(message)
        if code in _ORDER_REJECTED_CODES:
            return VenueRejected(message)
        if isinstance(error, ccxt.OrderNotFound):
            return VenueNotFound(message)
        if isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
            return VenueRateLimited(message, self._retry_after())
        if isinstance(error, ccxt.AuthenticationError):  # PermissionDenied too
            return VenueAuthError(message)
        if isinstance(
            error,
            ccxt.InvalidOrder
            | ccxt.InsufficientFunds
            | ccxt.BadRequest
            | ccxt.NotSupported
            | ccxt.OperationRejected,
        ):
            return VenueRejected(message)
        # Timeouts, network errors, 5xx and anything unclassified: the outcome is unknown,
        # so the intake looks the order up before it sends it again.
        return VenueUnavailable(message)

    def _retry_after(self) -> float | None:
        headers = self._exchange.last_response_headers
        value = headers.get("Retry-After") if headers is not None else None
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def _resync_clock(self) -> None:
        """After -1021 (our clock off the exchange's): measure the difference so the next
        signed call's timestamp fits its receive window."""
        self._exchange.options["adjustForTimeDifference"] = True
        try:
            self._exchange.load_time_difference()
        except ccxt.BaseError:
            # The call that failed is reported as unavailable anyway; the next one retries.
            return


def _pointed_at(urls: Any, base_url: str) -> Any:
    """ccxt's API urls with their scheme and host replaced by ``base_url`` (paths kept)."""
    if isinstance(urls, str):
        parts = urlsplit(urls)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return base_url.rstrip("/") + path
    if isinstance(urls, dict):
        return {name: _pointed_at(url, base_url) for name, url in urls.items()}
    return urls


def _fills(
    trades: Iterable[Mapping[str, Any]], venue_order_id: str, fallback: datetime | None
) -> tuple[VenueFill, ...]:
    """The order's executions, each once (by trade id), oldest first."""
    fills: dict[str, VenueFill] = {}
    for trade in trades:
        trade_id = trade.get("id")
        order_id = trade.get("order")
        if trade_id is None or (order_id is not None and str(order_id) != venue_order_id):
            continue
        execution_id = str(trade_id)
        at = _moment(trade.get("timestamp")) or fallback
        quantity, price = _decimal(trade.get("amount")), _decimal(trade.get("price"))
        if execution_id in fills or at is None or quantity is None or price is None:
            continue
        fee = trade.get("fee") or {}
        fills[execution_id] = VenueFill(
            execution_id=execution_id,
            quantity=quantity,
            price=price,
            at=at,
            fee=_decimal(fee.get("cost")) or ZERO,
            fee_currency=fee.get("currency"),
        )
    return tuple(sorted(fills.values(), key=lambda f: (f.at, len(f.execution_id), f.execution_id)))


def _decimal(value: Any) -> Decimal | None:
    """ccxt's number (a float, or a string) as a Decimal, through its shortest text."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _moment(milliseconds: Any) -> datetime | None:
    if milliseconds is None:
        return None
    ms = int(milliseconds)
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=(ms % 1000) * 1000)


def _venue_message(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("msg"), str):
        return str(body["msg"])
    return None


def _info_message(raw: Mapping[str, Any]) -> str | None:
    info = raw.get("info")
    return _venue_message(info) or (str(info.get("status")) if isinstance(info, dict) else None)

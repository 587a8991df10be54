"""A fake Binance spot REST API on 127.0.0.1, for the ccxt gateway's tests (issue 17).

Written from Binance's spot API documentation (general info, trading and account
endpoints, error codes) and from what ccxt's ``binance`` exchange sends and reads:
``/api/v3/time``, ``exchangeInfo``, ``account``, ``order`` (POST, GET and DELETE by
``origClientOrderId``), ``openOrders`` and ``myTrades``; HMAC-SHA256 signatures checked
with the key's secret; errors as Binance words them (``{"code": -2010, "msg": ...}``).

Scenarios are scripted from the test: ``next_submit`` (rest, time out or answer 5xx after
accepting), ``fill`` (partial fills between polls), ``cancel_loses_to_fill``,
``fail_next`` (429 with Retry-After, 5xx), ``duplicate_trades`` (each trade twice, newest
first), ``restart``, ``revoke`` and ``clock_offset_ms``. The book is simple on purpose: a
market order fills at the symbol's price, a marketable limit fills at that price, any
other order rests until the test fills it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

EIGHT = Decimal("1e-8")
ORDER_TYPES = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]
OPEN = ("NEW", "PARTIALLY_FILLED")


def text(value: Decimal) -> str:
    """Binance's number format: a string with eight decimals."""
    return f"{value.quantize(EIGHT):f}"


@dataclass(frozen=True)
class FakeMarket:
    symbol: str  # Binance's id, BTCUSDT
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    price: Decimal  # where market orders fill


DEFAULT_MARKETS = (
    FakeMarket(
        "BTCUSDT",
        "BTC",
        "USDT",
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal("0.00001"),
        Decimal("50000.00"),
    ),
    FakeMarket(
        "ETHUSDT",
        "ETH",
        "USDT",
        Decimal("0.01"),
        Decimal("0.0001"),
        Decimal("0.0001"),
        Decimal("3000.00"),
    ),
)


@dataclass
class FakeOrder:
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str | None
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time: int
    status: str = "NEW"
    executed: Decimal = Decimal(0)
    quote_executed: Decimal = Decimal(0)
    update_time: int = 0
    locked: Decimal = Decimal(0)  # funds held for the unfilled part
    account: Account | None = field(default=None, repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": text(self.price or Decimal(0)),
            "origQty": text(self.quantity),
            "executedQty": text(self.executed),
            "cummulativeQuoteQty": text(self.quote_executed),
            "status": self.status,
            "timeInForce": self.time_in_force or "GTC",
            "type": self.type,
            "side": self.side,
            "stopPrice": text(self.stop_price or Decimal(0)),
            "icebergQty": text(Decimal(0)),
            "time": self.time,
            "updateTime": self.update_time or self.time,
            "isWorking": self.type not in ("STOP_LOSS", "STOP_LOSS_LIMIT"),
            "workingTime": self.time,
            "origQuoteOrderQty": text(Decimal(0)),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }


@dataclass
class FakeTrade:
    trade_id: int
    order: FakeOrder
    price: Decimal
    quantity: Decimal
    commission: Decimal
    commission_asset: str
    time: int

    def as_json(self) -> dict[str, Any]:
        return {
            "symbol": self.order.symbol,
            "id": self.trade_id,
            "orderId": self.order.order_id,
            "orderListId": -1,
            "price": text(self.price),
            "qty": text(self.quantity),
            "quoteQty": text(self.price * self.quantity),
            "commission": text(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time,
            "isBuyer": self.order.side == "BUY",
            "isMaker": False,
            "isBestMatch": True,
        }


@dataclass
class Account:
    secret: str
    balances: dict[str, list[Decimal]]  # asset -> [free, locked]
    revoked: bool = False


class BinanceError(Exception):
    def __init__(
        self, status: int, code: int, msg: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers or {}


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to hold the answer (a submit that times out at the client)


class FakeBinanceVenue:
    """The venue's state and its HTTP server; use as a context manager."""

    def __init__(
        self,
        markets: tuple[FakeMarket, ...] = DEFAULT_MARKETS,
        commission_rate: Decimal = Decimal(0),
    ) -> None:
        self.markets = {market.symbol: market for market in markets}
        self.prices = {market.symbol: market.price for market in markets}
        self.commission_rate = commission_rate
        self.accounts: dict[str, Account] = {}
        self.orders: list[FakeOrder] = []
        self.trades: list[FakeTrade] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.clock_offset_ms = 0
        self.duplicate_trades = False
        self.cancel_loses_to_fill: set[str] = set()
        self._submits: deque[tuple[str, float]] = deque()
        self._failures: deque[BinanceError] = deque()
        self._ids = itertools.count(1000)
        self._trade_ids = itertools.count(5000)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> FakeBinanceVenue:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        venue = self

        class Handler(_Handler):
            fake = venue

        self._stopping.clear()
        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # cuts short any held answer
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.drop_connections()  # a restart cuts kept-alive connections too
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def restart(self) -> None:
        """The venue goes down and comes back on the same port with its book intact."""
        self.stop()
        self.start()

    # --- scripting ----------------------------------------------------------------------

    def add_account(self, key: str, secret: str, balances: dict[str, str]) -> None:
        with self._lock:
            self.accounts[key] = Account(
                secret, {asset: [Decimal(amount), Decimal(0)] for asset, amount in balances.items()}
            )

    def revoke(self, key: str) -> None:
        with self._lock:
            self.accounts[key].revoked = True

    def next_submit(self, behaviour: str, delay: float = 0.0) -> None:
        """The next POST /order: ``rest`` (never fills on arrival), ``timeout`` (accepted,
        answered after ``delay`` s) or ``server_error`` (accepted, answered 503)."""
        self._submits.append((behaviour, delay))

    def fail_next(
        self,
        status: int,
        code: int,
        msg: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        for _ in range(times):
            self._failures.append(BinanceError(status, code, msg, headers))

    def fill(self, client_order_id: str, quantity: str, price: str | None = None) -> None:
        """An execution of the open order with this client order id."""
        with self._lock:
            order = self._latest(client_order_id)
            assert order is not None and order.status in OPEN, f"{client_order_id} is not open"
            at = Decimal(price) if price is not None else self.prices[order.symbol]
            self._execute(order, Decimal(quantity), at)

    def order(self, client_order_id: str) -> FakeOrder | None:
        with self._lock:
            return self._latest(client_order_id)

    def balance(self, key: str, asset: str) -> tuple[Decimal, Decimal]:
        with self._lock:
            free, locked = self.accounts[key].balances.get(asset, [Decimal(0), Decimal(0)])
            return free, locked

    # --- the API --------------------------------------------------------------------------

    def now(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    def handle(
        self, method: str, path: str, query: str, body: str, headers: dict[str, str]
    ) -> Reply:
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        self.requests.append((method, path, params))
        try:
            if self._failures:
                raise self._failures.popleft()
            return self._route(method, path, query, body, headers, params)
        except BinanceError as error:
            return Reply(error.status, {"code": error.code, "msg": error.msg}, error.headers)

    def _route(
        self,
        method: str,
        path: str,
        query: str,
        body: str,
        headers: dict[str, str],
        params: dict[str, str],
    ) -> Reply:
        public = {
            ("GET", "/api/v3/ping"): lambda: {},
            ("GET", "/api/v3/time"): lambda: {"serverTime": self.now()},
            ("GET", "/api/v3/exchangeInfo"): self._exchange_info,
        }
        if (method, path) in public:
            return Reply(200, public[(method, path)]())
        signed = {
            ("GET", "/api/v3/account"): self._account,
            ("POST", "/api/v3/order"): self._new_order,
            ("GET", "/api/v3/order"): self._query_order,
            ("DELETE", "/api/v3/order"): self._cancel_order,
            ("GET", "/api/v3/openOrders"): self._open_orders,
            ("GET", "/api/v3/myTrades"): self._my_trades,
        }
        if (method, path) not in signed:
            return Reply(404, {"code": -1000, "msg": f"no route {method} {path}"})
        account = self._authenticate(query, body, headers, params)
        with self._lock:
            return signed[(method, path)](account, params)

    def _authenticate(
        self, query: str, body: str, headers: dict[str, str], params: dict[str, str]
    ) -> Account:
        key = headers.get("x-mbx-apikey")
        if not key:
            raise BinanceError(401, -2014, "API-key format invalid.")
        account = self.accounts.get(key)
        if account is None or account.revoked:
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        # The signature covers the query string followed by the body, without itself.
        total = "&".join(part for part in (query, body) if part)
        payload = "&".join(p for p in total.split("&") if not p.startswith("signature="))
        expected = hmac.new(account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, params.get("signature", "")):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        timestamp = int(params.get("timestamp", "0"))
        window = int(params.get("recvWindow", "5000"))
        server = self.now()
        if not (timestamp < server + 1000 and server - timestamp <= window):
            raise BinanceError(
                400, -1021, "Timestamp for this request is outside of the recvWindow."
            )
        return account

    def _exchange_info(self) -> dict[str, Any]:
        return {
            "timezone": "UTC",
            "serverTime": self.now(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                },
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            ],
            "exchangeFilters": [],
            "symbols": [self._symbol_info(market) for market in self.markets.values()],
        }

    @staticmethod
    def _symbol_info(market: FakeMarket) -> dict[str, Any]:
        return {
            "symbol": market.symbol,
            "status": "TRADING",
            "baseAsset": market.base,
            "baseAssetPrecision": 8,
            "quoteAsset": market.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ORDER_TYPES,
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": text(market.tick_size),
                    "maxPrice": "1000000.00000000",
                    "tickSize": text(market.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": text(market.min_qty),
                    "maxQty": "9000.00000000",
                    "stepSize": text(market.step_size),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": "5.00000000",
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }

    def _account(self, account: Account, params: dict[str, str]) -> Reply:
        return Reply(
            200,
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": self.now(),
                "accountType": "SPOT",
                "balances": [
                    {"asset": asset, "free": text(free), "locked": text(locked)}
                    for asset, (free, locked) in sorted(account.balances.items())
                ],
                "permissions": ["SPOT"],
                "uid": 354937868,
            },
        )

    def _market(self, params: dict[str, str]) -> FakeMarket:
        symbol = params.get("symbol")
        if not symbol:
            raise BinanceError(
                400,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            )
        market = self.markets.get(symbol)
        if market is None:
            raise BinanceError(400, -1121, "Invalid symbol.")
        return market

    def _new_order(self, account: Account, params: dict[str, str]) -> Reply:
        market = self._market(params)
        kind = params.get("type", "")
        if kind not in ORDER_TYPES:
            raise BinanceError(400, -1116, "Invalid orderType.")
        needs_price = kind in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER")
        needs_tif = kind in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
        needs_stop = kind in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
        for name, needed in (
            ("quantity", True),
            ("price", needs_price),
            ("timeInForce", needs_tif),
            ("stopPrice", needs_stop),
        ):
            if needed and not params.get(name):
                raise BinanceError(
                    400,
                    -1102,
                    f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
                )
        if not needs_tif and "timeInForce" in params:
            raise BinanceError(400, -1106, "Parameter 'timeInForce' sent when not required.")
        quantity = Decimal(params["quantity"])
        price = Decimal(params["price"]) if needs_price else None
        stop = Decimal(params["stopPrice"]) if needs_stop else None
        for value in (price, stop):
            if value is not None and value % market.tick_size != 0:
                raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")
        if quantity < market.min_qty or quantity % market.step_size != 0:
            raise BinanceError(400, -1013, "Filter failure: LOT_SIZE")
        client_order_id = params.get("newClientOrderId") or f"web_{next(self._ids)}"
        behaviour, delay = self._submits.popleft() if self._submits else ("", 0.0)
        if behaviour == "reject":
            raise BinanceError(400, -2010, "Order would immediately trigger.")
        if any(
            o.symbol == market.symbol and o.client_order_id == client_order_id and o.status in OPEN
            for o in self.orders
        ):
            raise BinanceError(400, -2010, "Duplicate order sent.")
        side = params.get("side", "")
        reference = price if price is not None else self.prices[market.symbol]
        asset, need = (
            (market.quote, quantity * reference) if side == "BUY" else (market.base, quantity)
        )
        free, locked = account.balances.setdefault(asset, [Decimal(0), Decimal(0)])
        if free < need:
            raise BinanceError(400, -2010, "Account has insufficient balance for requested action.")
        now = self.now()
        order = FakeOrder(
            market.symbol,
            next(self._ids),
            client_order_id,
            side,
            kind,
            params.get("timeInForce"),
            quantity,
            price,
            stop,
            now,
            locked=need,
            account=account,
        )
        account.balances[asset] = [free - need, locked + need]
        self.orders.append(order)
        fills: list[FakeTrade] = []
        if behaviour != "rest":
            fills = self._match(order)
        answer = order.as_json() | {
            "transactTime": now,
            "fills": [
                {
                    "price": text(t.price),
                    "qty": text(t.quantity),
                    "commission": text(t.commission),
                    "commissionAsset": t.commission_asset,
                    "tradeId": t.trade_id,
                }
                for t in fills
            ],
        }
        if behaviour == "server_error":
            return Reply(
                503,
                {
                    "code": -1008,
                    "msg": "Server is currently overloaded with other "
                    "requests. Please try again in a few minutes.",
                },
            )
        return Reply(200, answer, delay=delay if behaviour == "timeout" else 0.0)

    def _match(self, order: FakeOrder) -> list[FakeTrade]:
        """A market order, or a marketable limit, fills at the market's price; IOC and FOK
        limits that cannot fill expire; everything else rests."""
        price = self.prices[order.symbol]
        if order.type == "MARKET" or (
            order.type == "LIMIT"
            and order.price is not None
            and (price <= order.price if order.side == "BUY" else price >= order.price)
        ):
            return [self._execute(order, order.quantity, price)]
        if order.type == "LIMIT" and order.time_in_force in ("IOC", "FOK"):
            self._close(order, "EXPIRED")
        return []

    def _execute(self, order: FakeOrder, quantity: Decimal, price: Decimal) -> FakeTrade:
        assert quantity <= order.quantity - order.executed, "overfill"
        market = self.markets[order.symbol]
        account = order.account
        assert account is not None
        held = order.locked * quantity / (order.quantity - order.executed)
        order.locked -= held
        order.executed += quantity
        order.quote_executed += quantity * price
        order.update_time = self.now()
        order.status = "FILLED" if order.executed == order.quantity else "PARTIALLY_FILLED"
        balances = account.balances
        if order.side == "BUY":
            commission, fee_asset = quantity * self.commission_rate, market.base
            balances[market.quote][1] -= held
            balances[market.quote][0] += held - quantity * price
            balances.setdefault(market.base, [Decimal(0), Decimal(0)])[0] += quantity - commission
        else:
            commission, fee_asset = quantity * price * self.commission_rate, market.quote
            balances[market.base][1] -= held
            balances.setdefault(market.quote, [Decimal(0), Decimal(0)])[0] += (
                quantity * price - commission
            )
        trade = FakeTrade(
            next(self._trade_ids), order, price, quantity, commission, fee_asset, self.now()
        )
        self.trades.append(trade)
        return trade

    def _close(self, order: FakeOrder, status: str) -> None:
        market = self.markets[order.symbol]
        account = order.account
        assert account is not None
        asset = market.quote if order.side == "BUY" else market.base
        account.balances[asset][0] += order.locked
        account.balances[asset][1] -= order.locked
        order.locked = Decimal(0)
        order.status = status
        order.update_time = self.now()

    def _latest(self, client_order_id: str, symbol: str | None = None) -> FakeOrder | None:
        for order in reversed(self.orders):
            if order.client_order_id == client_order_id and symbol in (None, order.symbol):
                return order
        return None

    def _find(self, account: Account, params: dict[str, str], code: int, msg: str) -> FakeOrder:
        market = self._market(params)
        found: FakeOrder | None = None
        if params.get("origClientOrderId"):
            found = self._latest(params["origClientOrderId"], market.symbol)
        elif params.get("orderId"):
            found = next(
                (
                    o
                    for o in self.orders
                    if str(o.order_id) == params["orderId"] and o.symbol == market.symbol
                ),
                None,
            )
        else:
            raise BinanceError(
                400,
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        if found is None or found.account is not account:
            raise BinanceError(400, code, msg)
        return found

    def _query_order(self, account: Account, params: dict[str, str]) -> Reply:
        order = self._find(account, params, -2013, "Order does not exist.")
        return Reply(200, order.as_json())

    def _cancel_order(self, account: Account, params: dict[str, str]) -> Reply:
        order = self._find(account, params, -2011, "Unknown order sent.")
        if order.client_order_id in self.cancel_loses_to_fill and order.status in OPEN:
            self._execute(order, order.quantity - order.executed, self.prices[order.symbol])
        if order.status not in OPEN:
            raise BinanceError(400, -2011, "Unknown order sent.")
        self._close(order, "CANCELED")
        return Reply(
            200,
            order.as_json()
            | {
                "origClientOrderId": order.client_order_id,
                "clientOrderId": f"cancel_{next(self._ids)}",
                "transactTime": self.now(),
            },
        )

    def _open_orders(self, account: Account, params: dict[str, str]) -> Reply:
        symbol = params.get("symbol")
        return Reply(
            200,
            [
                o.as_json()
                for o in self.orders
                if o.status in OPEN and o.account is account and symbol in (None, o.symbol)
            ],
        )

    def _my_trades(self, account: Account, params: dict[str, str]) -> Reply:
        market = self._market(params)
        trades = [
            t.as_json()
            for t in self.trades
            if t.order.symbol == market.symbol
            and t.order.account is account
            and params.get("orderId") in (None, str(t.order.order_id))
        ]
        if self.duplicate_trades:
            trades = list(reversed(trades + trades))
        return Reply(200, trades)

    def open_orders(self) -> list[FakeOrder]:
        """The open orders, for assertions."""
        with self._lock:
            return [o for o in self.orders if o.status in OPEN]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.connections: set[socket.socket] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def drop_connections(self) -> None:
        for connection in list(self.connections):
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        self.connections.clear()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeBinanceVenue
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.fake.handle(method, parts.path, parts.query, body, headers)
        if reply.delay and self.fake._stopping.wait(reply.delay):
            return
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

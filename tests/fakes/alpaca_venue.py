"""A fake Alpaca Trading API v2 on 127.0.0.1, for the Alpaca gateway's tests.

Written from Alpaca's public API reference and alpaca-py's response models (every answer
validates against them: tests/integration/venues/test_alpaca_gateway.py checks it): the
account, orders (submit with a unique client order id, get by id and by client order id,
list, cancel, cancel all, replace), positions, assets and the ``FILL`` account activities,
with Alpaca's key headers and its ``{"code", "message"}`` errors.

Nothing fills by itself: a test fills orders (``fill``) or scripts them (``script``), and
injects faults (``fail_next``, ``stall_next``, ``drop_next``, ``revoke_key``, ``restart``).
State outlives ``restart`` (Alpaca keeps its orders); connections do not.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ACCOUNT_ID = "7c1a3d6e-0000-4000-8000-00000000a1fa"
ACTIVITIES = "/v2/account/activities/FILL"
OPEN = ("pending_new", "accepted", "new", "partially_filled", "pending_cancel", "pending_replace")

# Alpaca's errors (codes as in redfire_core.alpaca_dialect; messages as Alpaca words them).
UNAUTHORIZED = (401, {"code": 40110000, "message": "request is not authorized"})
FORBIDDEN_KEY = (403, {"message": "forbidden."})  # a key of the other environment


def _asset(symbol: str, asset_class: str, exchange: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpaca-asset:{symbol}")),
        "class": asset_class,
        "exchange": exchange,
        "symbol": symbol,
        "name": symbol,
        "status": "active",
        "tradable": True,
        "marginable": asset_class == "us_equity",
        "shortable": asset_class == "us_equity",
        "easy_to_borrow": asset_class == "us_equity",
        "fractionable": True,
        "attributes": [],
        **extra,
    }


DEFAULT_ASSETS: tuple[dict[str, Any], ...] = (
    _asset("AAPL", "us_equity", "NASDAQ", maintenance_margin_requirement=30),
    _asset("ZVZZT", "us_equity", "NASDAQ", fractionable=False),  # Nasdaq's test symbol
    _asset(
        "BTC/USD",
        "crypto",
        "CRYPTO",
        min_order_size="0.0001",
        min_trade_increment="0.000000001",
        price_increment="1",
    ),
    _asset("BTCPERP", "crypto_perp", "CRYPTO"),  # a class RedFire does not trade
    _asset("DELISTD", "us_equity", "NYSE", status="inactive", tradable=False),
)
DEFAULT_PRICES = {"AAPL": Decimal("190.00"), "ZVZZT": Decimal("10.00"), "BTC/USD": Decimal("60000")}


@dataclass
class Fault:
    """One scripted misbehaviour for the next request(s) matching ``method`` and ``path``."""

    method: str
    path: str  # a prefix of the request's path ("/v2/orders")
    status: int | None = None  # answer this instead of doing the request
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0  # seconds to wait...
    stall_after: bool = True  # ...after doing the request (True) or before (False)
    drop: bool = False  # close the connection without an answer (after doing the request)
    times: int = 1


@dataclass
class Script:
    """Fills for one order (by client order id), applied at a moment of the test's choice:
    all at ``submit``, one per read of the order (``poll``), or all when a cancel arrives
    (``cancel``: the fill wins the race)."""

    fills: list[tuple[Decimal, Decimal]]
    when: str = "submit"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


class FakeAlpacaVenue:
    """Alpaca's Trading API v2 for one account, on 127.0.0.1 (port 0 unless given)."""

    def __init__(
        self,
        *,
        key_id: str = "PKFAKEALPACA0001",
        secret: str = "fake-alpaca-secret",
        cash: Decimal = Decimal("100000"),
        assets: tuple[dict[str, Any], ...] = DEFAULT_ASSETS,
        prices: dict[str, Decimal] | None = None,
    ) -> None:
        self.key_id = key_id
        self.secret = secret
        self.cash = cash
        self.assets = {a["symbol"]: dict(a) for a in assets}
        self.prices = dict(DEFAULT_PRICES if prices is None else prices)
        self.orders: dict[str, dict[str, Any]] = {}  # by Alpaca's order id
        self.by_client_id: dict[str, str] = {}
        self.activities: list[dict[str, Any]] = []
        self.positions: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (qty, cost)
        self.faults: list[Fault] = []
        self.scripts: dict[str, Script] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) as received
        self.auth_failure: tuple[int, dict[str, Any]] | None = None
        self.reverse_activities = False  # answer each page newest first (out of order)
        self.repeat_activities = False  # list each activity twice (a duplicated update)
        self.trading_blocked = False
        self.lock = threading.RLock()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()

    # -- the server ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeAlpacaVenue:
        handler = type("Handler", (_Handler,), {"venue": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop answering and drop every open connection (keep-alive ones too)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        with self.lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def restart(self) -> None:
        """A venue restart: connections dropped, the same port, the orders kept."""
        self.stop()
        self.start()

    def __enter__(self) -> FakeAlpacaVenue:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        *,
        message: str = "internal server error",
        code: int | None = None,
        retry_after: str | None = None,
        times: int = 1,
    ) -> None:
        body: dict[str, Any] = {"message": message}
        if code is not None:
            body["code"] = code
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.faults.append(Fault(method, path, status, body, headers, times=times))

    def stall_next(self, method: str, path: str, seconds: float, *, after: bool = True) -> None:
        """Wait ``seconds`` before answering: ``after`` the request took effect (a submit
        the venue accepted whose answer comes too late), or before it takes effect."""
        self.faults.append(Fault(method, path, stall=seconds, stall_after=after))

    def drop_next(self, method: str, path: str) -> None:
        """Do the request, then close the connection without an answer."""
        self.faults.append(Fault(method, path, drop=True))

    def revoke_key(self, *, status: int = 401) -> None:
        """Every request is refused from now on (401, or Alpaca's bare 403 ``forbidden.``)."""
        self.auth_failure = UNAUTHORIZED if status == 401 else FORBIDDEN_KEY

    def script(self, client_order_id: str, fills: list[tuple[str, str]], when: str) -> None:
        self.scripts[client_order_id] = Script([(Decimal(q), Decimal(p)) for q, p in fills], when)

    def fill(self, client_order_id: str, qty: str, price: str) -> dict[str, Any]:
        """One execution of the order now; returns its FILL activity."""
        with self.lock:
            return self._execute(self._by_client(client_order_id), Decimal(qty), Decimal(price))

    def set_status(self, client_order_id: str, status: str) -> None:
        """Move an order to ``status`` (``expired``, ``rejected``, ``canceled`` ...)."""
        with self.lock:
            order = self._by_client(client_order_id)
            order["status"] = status
            order["updated_at"] = _now()
            stamp = {"expired": "expired_at", "rejected": "failed_at", "canceled": "canceled_at"}
            if status in stamp:
                order[stamp[status]] = order["updated_at"]

    def order(self, client_order_id: str) -> dict[str, Any]:
        with self.lock:
            return dict(self._by_client(client_order_id))

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p == path)

    # -- the API --------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """One request: (status, JSON body or None, extra headers)."""
        with self.lock:
            if method == "GET" and path == "/v2/account":
                return 200, self._account(), {}
            if method == "GET" and path == "/v2/positions":
                return 200, [self._position(s) for s in sorted(self.positions)], {}
            if method == "GET" and path.startswith("/v2/assets/"):
                return self._get_asset(path.removeprefix("/v2/assets/"))
            if method == "GET" and path in (ACTIVITIES, "/v2/account/activities"):
                return 200, self._activities(query), {}
            if path == "/v2/orders":
                if method == "POST":
                    return self._submit(body)
                if method == "GET":
                    return 200, self._list_orders(query), {}
                if method == "DELETE":
                    return 207, self._cancel_all(), {}
            if method == "GET" and path == "/v2/orders:by_client_order_id":
                order = self._find_client(query.get("client_order_id", ""))
                return (200, self._read(order), {}) if order else _not_found()
            if path.startswith("/v2/orders/"):
                order = self.orders.get(path.removeprefix("/v2/orders/"))
                if order is None:
                    return _not_found()
                if method == "GET":
                    return 200, self._read(order), {}
                if method == "DELETE":
                    return self._cancel(order)
                if method == "PATCH":
                    return self._replace(order, body)
            return 404, {"code": 40410000, "message": "endpoint not found"}, {}

    def _account(self) -> dict[str, Any]:
        long_value = sum(
            (q * self.prices.get(s, Decimal(0)) for s, (q, _) in self.positions.items() if q > 0),
            Decimal(0),
        )
        short_value = sum(
            (q * self.prices.get(s, Decimal(0)) for s, (q, _) in self.positions.items() if q < 0),
            Decimal(0),
        )
        equity = self.cash + long_value + short_value
        return {
            "id": ACCOUNT_ID,
            "account_number": "PA3FAKE00001",
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": "USD",
            "buying_power": _text(self.cash),
            "regt_buying_power": _text(self.cash),
            "non_marginable_buying_power": _text(self.cash),
            "cash": _text(self.cash),
            "accrued_fees": "0",
            "portfolio_value": _text(equity),
            "trading_blocked": self.trading_blocked,
            "transfers_blocked": False,
            "account_blocked": False,
            "created_at": "2026-01-02T14:30:00.000000Z",
            "trade_suspended_by_user": False,
            "multiplier": "1",
            "shorting_enabled": True,
            "equity": _text(equity),
            "last_equity": _text(equity),
            "long_market_value": _text(long_value),
            "short_market_value": _text(short_value),
            "initial_margin": "0",
            "maintenance_margin": "0",
            "last_maintenance_margin": "0",
            "sma": "0",
            "options_buying_power": _text(self.cash),
            "options_approved_level": 0,
            "options_trading_level": 0,
        }

    def _position(self, symbol: str) -> dict[str, Any]:
        qty, cost = self.positions[symbol]
        asset = self.assets[symbol]
        price = self.prices.get(symbol, Decimal(0))
        return {
            "asset_id": asset["id"],
            "symbol": symbol.replace("/", ""),  # Alpaca lists crypto positions as BTCUSD
            "exchange": asset["exchange"],
            "asset_class": asset["class"],
            "asset_marginable": asset["marginable"],
            "avg_entry_price": _text(cost / qty),
            "qty": _text(qty),
            "side": "long" if qty > 0 else "short",
            "market_value": _text(qty * price),
            "cost_basis": _text(cost),
            "unrealized_pl": _text(qty * price - cost),
            "current_price": _text(price),
            "qty_available": _text(qty),
        }

    def _get_asset(self, name: str) -> tuple[int, Any, dict[str, str]]:
        name = unquote(name)
        for symbol, asset in self.assets.items():
            if name in (symbol, symbol.replace("/", ""), asset["id"]):
                return 200, asset, {}
        return 404, {"code": 40410000, "message": "asset not found"}, {}

    def _submit(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        client_order_id = str(body.get("client_order_id") or uuid.uuid4())
        if client_order_id in self.by_client_id:
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}, {}
        asset = self._asset_for(str(body.get("symbol", "")))
        if asset is None:
            return 422, {"code": 40010001, "message": f"asset {body.get('symbol')} not found"}, {}
        try:
            qty = Decimal(str(body["qty"]))
        except (KeyError, ArithmeticError):
            return 422, {"code": 40010001, "message": "qty is required"}, {}
        if qty != qty.to_integral() and not asset["fractionable"]:
            return 422, {"code": 40010001, "message": "fractional orders are not allowed"}, {}
        kind = body.get("type")
        if kind in ("limit", "stop_limit") and body.get("limit_price") is None:
            return 422, {"code": 40010001, "message": "limit_price is required"}, {}
        if kind in ("stop", "stop_limit") and body.get("stop_price") is None:
            return 422, {"code": 40010001, "message": "stop_price is required"}, {}
        price = Decimal(str(body.get("limit_price") or self.prices.get(asset["symbol"], 0)))
        if body.get("side") == "buy" and qty * price > self.cash:
            return 403, {"code": 40310000, "message": "insufficient buying power"}, {}
        now = _now()
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": client_order_id,
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "filled_at": None,
            "expired_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": asset["id"],
            "symbol": asset["symbol"],
            "asset_class": asset["class"],
            "notional": None,
            "qty": _text(qty),
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "simple",
            "order_type": kind,
            "type": kind,
            "side": body.get("side"),
            "position_intent": "buy_to_open" if body.get("side") == "buy" else "sell_to_close",
            "time_in_force": body.get("time_in_force", "day"),
            "limit_price": _number(body.get("limit_price")),
            "stop_price": _number(body.get("stop_price")),
            "status": "new",
            "extended_hours": bool(body.get("extended_hours", False)),
            "legs": None,
            "trail_percent": _number(body.get("trail_percent")),
            "trail_price": _number(body.get("trail_price")),
            "hwm": None,
        }
        self.orders[order["id"]] = order
        self.by_client_id[client_order_id] = order["id"]
        self._run_script(order, "submit")
        return 200, dict(order), {}

    def _read(self, order: dict[str, Any]) -> dict[str, Any]:
        self._run_script(order, "poll", one=True)
        return dict(order)

    def _cancel(self, order: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        self._run_script(order, "cancel")
        if order["status"] not in OPEN:
            return 422, {"code": 42210000, "message": "order is not cancelable"}, {}
        order["status"] = "canceled"
        order["updated_at"] = order["canceled_at"] = _now()
        return 204, None, {}

    def _cancel_all(self) -> list[dict[str, Any]]:
        answers = []
        for order in list(self.orders.values()):
            if order["status"] in OPEN:
                status, _, _ = self._cancel(order)
                answers.append({"id": order["id"], "status": 200 if status == 204 else status})
        return answers

    def _replace(self, old: dict[str, Any], body: Any) -> tuple[int, Any, dict[str, str]]:
        if old["status"] not in ("new", "accepted", "partially_filled"):
            return 422, {"code": 42210000, "message": "order is not replaceable"}, {}
        client_order_id = str(body.get("client_order_id") or uuid.uuid4())
        if client_order_id in self.by_client_id:
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}, {}
        now = _now()
        new = dict(old)
        new.update(
            id=str(uuid.uuid4()),
            client_order_id=client_order_id,
            created_at=now,
            updated_at=now,
            submitted_at=now,
            replaces=old["id"],
            status="new",
            filled_qty="0",
            filled_avg_price=None,
        )
        for name in ("qty", "limit_price", "stop_price"):
            if body.get(name) is not None:
                new[name] = _number(body[name])
        if body.get("time_in_force"):
            new["time_in_force"] = body["time_in_force"]
        if body.get("trail") is not None:
            new["trail_price" if old["trail_price"] is not None else "trail_percent"] = _number(
                body["trail"]
            )
        old.update(status="replaced", replaced_by=new["id"], replaced_at=now, updated_at=now)
        self.orders[new["id"]] = new
        self.by_client_id[client_order_id] = new["id"]
        return 200, dict(new), {}

    def _list_orders(self, query: dict[str, str]) -> list[dict[str, Any]]:
        wanted = query.get("status", "open")
        orders = [
            o
            for o in self.orders.values()
            if wanted == "all" or (o["status"] in OPEN) == (wanted == "open")
        ]
        if "until" in query:
            orders = [o for o in orders if o["submitted_at"] <= _stamp(query["until"])]
        if "after" in query:
            orders = [o for o in orders if o["submitted_at"] > _stamp(query["after"])]
        orders.sort(key=lambda o: o["submitted_at"], reverse=query.get("direction") != "asc")
        return [dict(o) for o in orders[: min(int(query.get("limit", 50)), 500)]]

    def _activities(self, query: dict[str, str]) -> list[dict[str, Any]]:
        found = list(self.activities)  # kept in execution order
        if "after" in query:
            found = [a for a in found if a["transaction_time"] > _stamp(query["after"])]
        if query.get("direction", "desc") == "desc":
            found.reverse()
        token = query.get("page_token")
        if token:
            ids = [a["id"] for a in found]
            found = found[ids.index(token) + 1 :] if token in ids else []
        page = found[: min(int(query.get("page_size", 100)), 100)]
        if self.reverse_activities:
            page = list(reversed(page))
        if self.repeat_activities:
            page = [a for activity in page for a in (activity, activity)]
        return [dict(a) for a in page]

    # -- executions -----------------------------------------------------------------------

    def _run_script(self, order: dict[str, Any], moment: str, *, one: bool = False) -> None:
        script = self.scripts.get(order["client_order_id"])
        if script is None or script.when != moment:
            return
        while script.fills and order["status"] in OPEN:
            qty, price = script.fills.pop(0)
            self._execute(order, qty, price)
            if one:
                return

    def _execute(self, order: dict[str, Any], qty: Decimal, price: Decimal) -> dict[str, Any]:
        before = Decimal(order["filled_qty"])
        filled = before + qty
        total = Decimal(order["qty"])
        assert filled <= total, "a fill beyond the order's quantity"
        average = Decimal(order["filled_avg_price"] or 0)
        order["filled_avg_price"] = _text((average * before + price * qty) / filled)
        order["filled_qty"] = _text(filled)
        order["status"] = "filled" if filled == total else "partially_filled"
        now = _now()
        order["updated_at"] = now
        if filled == total:
            order["filled_at"] = now
        signed = qty if order["side"] == "buy" else -qty
        held, cost = self.positions.get(order["symbol"], (Decimal(0), Decimal(0)))
        held += signed
        cost += signed * price
        if held:
            self.positions[order["symbol"]] = (held, cost)
        else:
            self.positions.pop(order["symbol"], None)
        self.cash -= signed * price
        activity = {
            "id": f"{now[:4]}{now[5:7]}{now[8:10]}{now[11:13]}{now[14:16]}{now[17:19]}"
            f"{now[20:23]}::{uuid.uuid4()}",
            "account_id": ACCOUNT_ID,
            "activity_type": "FILL",
            "transaction_time": now,
            "type": "fill" if filled == total else "partial_fill",
            "price": _text(price),
            "qty": _text(qty),
            "side": order["side"],
            "symbol": order["symbol"],
            "leaves_qty": _text(total - filled),
            "order_id": order["id"],
            "cum_qty": _text(filled),
            "order_status": order["status"],
        }
        self.activities.append(activity)
        return dict(activity)

    def _by_client(self, client_order_id: str) -> dict[str, Any]:
        return self.orders[self.by_client_id[client_order_id]]

    def _find_client(self, client_order_id: str) -> dict[str, Any] | None:
        order_id = self.by_client_id.get(client_order_id)
        return None if order_id is None else self.orders[order_id]

    def _asset_for(self, symbol: str) -> dict[str, Any] | None:
        status, asset, _ = self._get_asset(symbol)
        return asset if status == 200 and asset["class"] in ("us_equity", "crypto") else None

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and path.startswith(fault.path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self.lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


def _not_found() -> tuple[int, Any, dict[str, str]]:
    return 404, {"code": 40410000, "message": "order not found"}, {}


def _number(value: Any) -> str | None:
    return None if value is None else _text(Decimal(str(value)))


def _stamp(value: str) -> str:
    """A query's time (``YYYY-MM-DD`` or RFC 3339) in the fake's stored format, to compare."""
    if len(value) == 10:
        return f"{value}T00:00:00.000000Z"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Handler(BaseHTTPRequestHandler):
    venue: FakeAlpacaVenue
    protocol_version = "HTTP/1.1"  # keep-alive, as Alpaca's servers (and requests' pool)

    def setup(self) -> None:
        super().setup()
        self.venue._track(self.connection, add=True)

    def finish(self) -> None:
        self.venue._track(self.connection, add=False)
        with suppress(OSError):  # the client gave up (timed out) or the venue restarted
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet tests

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        venue = self.venue
        url = urlsplit(self.path)
        path = url.path
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with venue.lock:
            venue.requests.append((method, path))
        if (
            self.headers.get("APCA-API-KEY-ID") != venue.key_id
            or self.headers.get("APCA-API-SECRET-KEY") != venue.secret
        ):
            self._answer(*UNAUTHORIZED, {})
            return
        if venue.auth_failure is not None:
            self._answer(*venue.auth_failure, {})
            return
        fault = venue._take_fault(method, path)
        if fault is not None and fault.status is not None:
            self._answer(fault.status, fault.body, fault.headers)
            return
        if fault is not None and fault.stall and not fault.stall_after:
            time.sleep(fault.stall)
        status, body, headers = venue.handle(method, path, query, json.loads(raw or b"null"))
        if fault is not None and fault.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.stall and fault.stall_after:
            time.sleep(fault.stall)
        self._answer(status, body, headers)

    def _answer(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client is gone

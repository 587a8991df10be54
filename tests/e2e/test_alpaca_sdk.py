"""An Alpaca bot unchanged but for its base URL: alpaca-py's TradingClient on the local cloud."""

from __future__ import annotations

import queue
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (
    OrderClass,
    OrderSide,
    OrderStatus,
    QueryOrderStatus,
    TimeInForce,
)
from alpaca.trading.models import Order, TradeUpdate
from alpaca.trading.requests import (
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
)
from alpaca.trading.stream import TradingStream

from tests.e2e.harness import LocalCloudProcess, bearer

pytestmark = pytest.mark.slow
ACCOUNT = "alpaca-bot"


@pytest.fixture(scope="module")
def client(local_cloud: LocalCloudProcess) -> TradingClient:
    opened = local_cloud.redfire("admin", "create-account", ACCOUNT, "--cash", "100000")
    assert opened.returncode == 0, opened.stderr
    key_id = re.search(r"key_id:\s+(\S+)", opened.stdout)
    secret = re.search(r"secret:\s+(\S+)", opened.stdout)
    assert key_id and secret
    return TradingClient(key_id[1], secret[1], url_override=local_cloud.api_url)


def wait_for(
    client: TradingClient, order: Order, status: OrderStatus, seconds: float = 10
) -> Order:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = client.get_order_by_id(order.id)
        assert isinstance(current, Order)
        if current.status == status:
            return current
        time.sleep(0.1)
    raise AssertionError(f"order {order.id} never reached {status}: {current.status}")


def test_account_and_clock_validate_against_alpaca_models(client: TradingClient) -> None:
    account = client.get_account()
    assert account.account_number == ACCOUNT  # type: ignore[union-attr]
    assert account.cash == "100000" and account.status == "ACTIVE"  # type: ignore[union-attr]
    clock = client.get_clock()
    assert clock.next_close > clock.timestamp or clock.is_open  # type: ignore[union-attr]
    days = client.get_calendar(GetCalendarRequest(start="2026-12-24", end="2026-12-28"))
    assert [(d.date.isoformat(), d.close.strftime("%H:%M")) for d in days] == [  # type: ignore[union-attr]
        ("2026-12-24", "13:00"),
        ("2026-12-28", "16:00"),
    ]


def test_a_market_order_is_new_at_once_and_fills(client: TradingClient) -> None:
    request = MarketOrderRequest(
        symbol="GOOG", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
    )
    order = client.submit_order(request)
    assert isinstance(order, Order) and isinstance(order.id, UUID)
    # Decided in the same call, unless the decision takes longer than the 2 s bound.
    assert order.status in (OrderStatus.NEW, OrderStatus.FILLED, OrderStatus.PENDING_NEW)
    assert order.client_order_id  # always set
    filled = wait_for(client, order, OrderStatus.FILLED)
    assert Decimal(str(filled.filled_qty)) == 2 and filled.filled_at is not None
    position = client.get_open_position("GOOG")
    assert Decimal(position.qty) == 2 and position.side == "long"  # type: ignore[union-attr]
    by_client_id = client.get_order_by_client_id(order.client_order_id)
    assert by_client_id.id == order.id  # type: ignore[union-attr]


def test_a_denial_is_an_api_error_403_with_alpacas_code(client: TradingClient) -> None:
    far = LimitOrderRequest(
        symbol="GOOG",
        qty=1,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.GTC,
        limit_price=100000,
    )
    with pytest.raises(APIError) as raised:
        client.submit_order(far)
    assert raised.value.status_code == 403
    assert raised.value.code == 40310000 and raised.value.message


def test_bad_input_and_unknown_ids_speak_alpacas_dialect(client: TradingClient) -> None:
    with pytest.raises(APIError) as raised:
        client.get_order_by_id("00000000-0000-0000-0000-000000000000")
    assert (raised.value.status_code, raised.value.code) == (404, 40410000)


def test_replace_then_cancel_all_and_close_all(client: TradingClient) -> None:
    bought = client.submit_order(
        MarketOrderRequest(symbol="GOOG", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    assert isinstance(bought, Order)
    price = Decimal(str(wait_for(client, bought, OrderStatus.FILLED).filled_avg_price))
    # A bid 2% under the market: inside the 5% price band, so it rests.
    bid = (price * Decimal("0.98")).quantize(Decimal("0.01"))
    resting = client.submit_order(
        LimitOrderRequest(
            symbol="GOOG",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=float(bid),
        )
    )
    assert isinstance(resting, Order)
    wait_for(client, resting, OrderStatus.NEW)
    new = client.replace_order_by_id(resting.id, ReplaceOrderRequest(qty=3))
    assert isinstance(new, Order) and new.replaces == resting.id and Decimal(str(new.qty)) == 3
    wait_for(client, new, OrderStatus.NEW)
    wait_for(client, resting, OrderStatus.REPLACED)
    opened = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))
    assert new.id in [o.id for o in opened]  # type: ignore[union-attr]

    closed = client.close_all_positions(cancel_orders=True)

    assert [answer.status for answer in closed] == [200], (
        [a.body for a in closed],
        [
            (o.type, o.qty, o.status, o.limit_price, o.replaces)
            for o in client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))  # type: ignore[union-attr]
        ],
    )
    assert wait_for(client, new, OrderStatus.CANCELED).canceled_at is not None
    deadline = time.monotonic() + 10
    while client.get_all_positions() and time.monotonic() < deadline:
        time.sleep(0.1)  # the closing market order fills after its decision
    assert client.get_all_positions() == [], [
        (o.side, o.qty, o.status, o.filled_qty)
        for o in client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))  # type: ignore[union-attr]
    ]


def test_numbers_go_out_as_strings(client: TradingClient, local_cloud: LocalCloudProcess) -> None:
    order = client.submit_order(
        MarketOrderRequest(symbol="GOOG", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    assert isinstance(order, Order)
    raw = httpx.get(
        f"{local_cloud.api_url}/v2/orders/{order.id}",
        headers={
            "APCA-API-KEY-ID": client._api_key or "",
            "APCA-API-SECRET-KEY": client._secret_key or "",
        },
    ).json()
    assert raw["qty"] == "1" and raw["status"] in ("pending_new", "new", "filled")


def test_historical_bars_through_alpacas_data_clients(
    client: TradingClient, local_cloud: LocalCloudProcess
) -> None:
    key, secret = client._api_key, client._secret_key
    stocks = StockHistoricalDataClient(key, secret, url_override=local_cloud.api_url)
    crypto = CryptoHistoricalDataClient(key, secret, url_override=local_cloud.api_url)
    since = datetime.now(UTC) - timedelta(hours=3)
    deadline = time.monotonic() + 30
    while True:  # the demo feed writes a minute bar per symbol every minute
        bars = stocks.get_stock_bars(
            StockBarsRequest(
                symbol_or_symbols=["GOOG", "MSFT"],
                timeframe=TimeFrame(1, TimeFrameUnit.Minute),
                start=since,
            )
        )
        if "GOOG" in bars.data or time.monotonic() > deadline:  # type: ignore[union-attr]
            break
        time.sleep(1)
    first = bars["GOOG"][0]  # type: ignore[index]
    assert first.symbol == "GOOG" and first.high >= first.low and first.vwap is not None
    coins = crypto.get_crypto_bars(
        CryptoBarsRequest(
            symbol_or_symbols="BTC/USD", timeframe=TimeFrame(1, TimeFrameUnit.Hour), start=since
        )
    )
    assert coins["BTC/USD"][0].close > 0  # type: ignore[index]


def test_a_bracket_whose_take_profit_fills_and_whose_stop_is_canceled(
    client: TradingClient, local_cloud: LocalCloudProcess
) -> None:
    # Given a bracket bought at the market, its exits 3% either side of the price
    latest = httpx.get(
        f"{local_cloud.api_url}/v1/quotes/latest?symbols=GOOG",
        headers=bearer(local_cloud.token),
    ).json()["items"][0]["price"]
    price = Decimal(latest)
    take = (price * Decimal("1.03")).quantize(Decimal("0.01"))
    stop = (price * Decimal("0.97")).quantize(Decimal("0.01"))
    order = client.submit_order(
        MarketOrderRequest(
            symbol="GOOG",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=float(take)),
            stop_loss=StopLossRequest(stop_price=float(stop)),
        )
    )
    assert isinstance(order, Order) and order.order_class == OrderClass.BRACKET
    assert order.legs is not None and len(order.legs) == 2
    take_leg, stop_leg = order.legs
    wait_for(client, order, OrderStatus.FILLED)
    wait_for(client, take_leg, OrderStatus.NEW)  # activated by the entry's fill
    wait_for(client, stop_leg, OrderStatus.NEW)
    nested = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, nested=True))
    parent = next(o for o in nested if o.id == order.id)  # type: ignore[union-attr]
    assert [leg.id for leg in parent.legs or []] == [take_leg.id, stop_leg.id]

    # When a bar trades through the take-profit (and not down to the stop)
    operator = local_cloud.redfire("token", "--role", "operator")
    assert operator.returncode == 0, operator.stderr
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    bar = {
        "timestamp": start.isoformat().replace("+00:00", "Z"),
        "open": str(price),
        "high": str(take + 1),
        "low": str(price),
        "close": str(take),
        "volume": "1000",
    }
    pushed = httpx.post(
        f"{local_cloud.api_url}/v1/marketdata/bars",
        json={"symbol": "GOOG", "interval": "1m", "bars": [bar]},
        headers=bearer(operator.stdout.strip()),
    )
    assert pushed.status_code == 202, pushed.text

    # Then the take-profit fills at its limit and the stop is canceled
    filled = wait_for(client, take_leg, OrderStatus.FILLED, seconds=60)  # through ingest
    assert Decimal(str(filled.filled_avg_price)) == take
    canceled = wait_for(client, stop_leg, OrderStatus.CANCELED)
    assert canceled.canceled_at is not None


def test_trading_stream_receives_new_and_fill(
    client: TradingClient, local_cloud: LocalCloudProcess
) -> None:
    # Given alpaca-py's TradingStream on REDFIRE_ALPACA_STREAM_URL, listening
    stream = TradingStream(
        client._api_key or "",
        client._secret_key or "",
        url_override=local_cloud.settings["REDFIRE_ALPACA_STREAM_URL"],
    )
    updates: queue.Queue[TradeUpdate] = queue.Queue()

    async def on_update(update: TradeUpdate) -> None:
        updates.put(update)

    stream.subscribe_trade_updates(on_update)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not stream._running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stream._running, "the stream never authenticated"
        time.sleep(1)  # the listen is answered after the client marks itself running

        # When an order is placed through TradingClient and fills
        order = client.submit_order(
            MarketOrderRequest(
                symbol="GOOG", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            )
        )
        assert isinstance(order, Order)

        # Then the stream brings its `new` and its `fill`, in Alpaca's models
        seen: dict[str, TradeUpdate] = {}
        deadline = time.monotonic() + 15
        while "fill" not in seen and time.monotonic() < deadline:
            try:
                update = updates.get(timeout=0.5)
            except queue.Empty:
                continue
            if update.order.id == order.id:
                seen[
                    str(update.event.value if hasattr(update.event, "value") else update.event)
                ] = update
        assert {"new", "fill"} <= set(seen), sorted(seen)
        fill = seen["fill"]
        assert fill.qty == 1 and fill.price and fill.execution_id is not None
        assert fill.position_qty is not None and fill.order.status == OrderStatus.FILLED
    finally:
        stream.stop()
        thread.join(10)

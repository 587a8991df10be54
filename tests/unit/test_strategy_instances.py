"""The live runner's pure parts: client order ids, sizing and order bodies, warm-up from
history, and reading the last bars (with the in-memory market data store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from redfire_core.domain.bars import Bar as StoredBar
from redfire_core.domain.instruments import DEMO_INSTRUMENTS
from redfire_core.domain.orders import ExecutionModel
from redfire_core.domain.positions import Account
from redfire_core.events import new_id
from redfire_core.services.strategy_instances import (
    LiveBroker,
    TradingContext,
    _warm_up,
    client_order_id,
    order_body,
    parse_client_order_id,
    recent_bars,
)
from redfire_core.strategies import StrategyOrder
from redfire_core.strategies.builtin import SmaCross
from tests.support.fake_market_data import InMemoryMarketDataStore

GOOG = DEMO_INSTRUMENTS[0]
T0 = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)


def context(cash: str = "10000", margin: bool = True, price: str = "100") -> TradingContext:
    account = Account(
        "a", "USD", Decimal(cash), T0, margin_enabled=margin, execution=ExecutionModel()
    )
    return TradingContext(account, Decimal(0), Decimal(cash), Decimal(cash), Decimal(price))


def stored(index: int, close: float, interval: str = "1m") -> StoredBar:
    price = Decimal(str(close))
    step = timedelta(minutes=1) if interval == "1m" else timedelta(days=1)
    return StoredBar("GOOG", interval, T0 + index * step, price, price, price, price, Decimal(1))


def test_a_client_order_id_fits_the_limit_and_parses_back() -> None:
    instance = new_id()

    text = client_order_id(instance, T0, 12)

    assert len(text) <= 64 and text.startswith("si-")
    assert parse_client_order_id(text) == (instance, 12)


def test_other_client_order_ids_are_not_an_instances() -> None:
    assert parse_client_order_id(None) is None
    assert parse_client_order_id("my-order-1") is None
    assert parse_client_order_id("si-x-y-z") is None


def test_all_equity_leaves_room_for_the_price_band_risk_reserves() -> None:
    order = StrategyOrder(1, 1, None)

    body, _ = order_body(order, GOOG, context("10000", price="100"))

    assert body is not None
    assert body["quantity"] == "95"  # 95 x 105 = 9,975 <= 10,000 < 96 x 105
    assert (body["side"], body["type"], body["time_in_force"]) == ("buy", "market", "gtc")


def test_a_limit_order_is_sized_at_its_price_and_rounded_to_the_tick() -> None:
    order = StrategyOrder(1, 1, None, limit=99.996)

    body, _ = order_body(order, GOOG, context("10000"))

    assert body is not None
    assert (body["type"], body["limit_price"], body["quantity"]) == ("limit", "100.00", "100")


def test_a_cash_account_does_not_send_an_all_equity_short() -> None:
    body, reason = order_body(StrategyOrder(1, -1, None), GOOG, context(margin=False))

    assert body is None and "cash account" in reason


def test_too_little_buying_power_for_one_unit_sends_nothing() -> None:
    body, reason = order_body(StrategyOrder(1, 1, None), GOOG, context("50"))

    assert body is None and "buying power" in reason


def test_a_closing_order_is_a_market_order_for_its_quantity() -> None:
    order = StrategyOrder(3, -1, 7.0, closes=True)

    body, _ = order_body(order, GOOG, context())

    assert body == {
        "symbol": "GOOG",
        "side": "sell",
        "type": "market",
        "quantity": "7",
        "time_in_force": "gtc",
    }


def test_the_strategy_acts_only_once_its_indicators_were_ready_before_the_bar() -> None:
    def warm(count: int) -> bool:
        strategy = SmaCross(LiveBroker(), {"fast": 2, "slow": 3})
        strategy.on_start()
        return _warm_up(strategy, [stored(i, 100 + i) for i in range(count)])

    assert [warm(n) for n in (2, 3, 4)] == [False, False, True]


def test_recent_bars_are_the_last_ones_before_the_end() -> None:
    bars = InMemoryMarketDataStore()
    bars.write_bars([stored(i, 100 + i) for i in range(300)])

    found = recent_bars(bars, "GOOG", "1m", T0 + timedelta(minutes=250), count=5)

    assert [b.start for b in found] == [T0 + timedelta(minutes=m) for m in range(245, 250)]


def test_recent_bars_look_further_back_over_a_gap() -> None:
    bars = InMemoryMarketDataStore()
    bars.write_bars([stored(i, 100) for i in range(3)] + [stored(i, 100) for i in range(400, 402)])

    found = recent_bars(bars, "GOOG", "1m", T0 + timedelta(minutes=402), count=4)

    assert [b.start.minute for b in found] == [31, 32, 10, 11]

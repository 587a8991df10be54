"""Sizes on the instrument's lot grid (fractional where the lot allows) in a backtest and
live alike: ``buy(size)`` rounds down to the grid, ``size_for_risk`` sizes a stop's risk on
it, all-equity orders fill whole lots; the position's average price and unrealized P&L."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import BacktestSettings, run_backtest
from redfire_core.domain.instruments import DEMO_INSTRUMENTS
from redfire_core.domain.orders import ExecutionModel
from redfire_core.domain.positions import Account
from redfire_core.services.strategy_instances import LiveBroker, TradingContext, order_body
from redfire_core.strategies import Bar, Strategy, StrategyFailed, StrategyOrder

START = datetime(2025, 1, 1, tzinfo=UTC)
BTC = DEMO_INSTRUMENTS[3]  # lot 0.0001


def _data(closes: list[float]) -> BarData:
    return BarData(
        [START + timedelta(days=i) for i in range(len(closes))],
        closes,
        [c + 1 for c in closes],
        [c - 1 for c in closes],
        closes,
        [1.0] * len(closes),
    )


class Sized(Strategy):
    """On the first bar, buys ``size`` units (-1: what risking 100 on a 7.0 stop allows);
    records its position's average price and P&L on every later bar."""

    name: ClassVar[str] = "sized_unit"
    parameters: ClassVar[dict[str, Any]] = {"size": -1.0}

    def on_bar(self, bar: Bar) -> None:
        if "marks" not in self.state:
            self.state["marks"] = []
            size = self.params["size"]
            self.buy(self.size_for_risk(100, 7.0) if size < 0 else size)
        else:
            p = self.position
            self.state["marks"].append((float(p), p.avg_price, p.unrealized_pnl))


def _filled(result: Any) -> list[float]:
    return [o.filled_quantity for o in result.orders if o.status == "filled"]


def test_a_backtest_sizes_for_risk_on_a_fractional_lot_grid() -> None:
    result = run_backtest(Sized, _data([100.0] * 3), {}, BacktestSettings(lot_size=0.001))
    assert _filled(result) == [14.285]  # 100 / 7 = 14.2857... rounded down to 0.001


def test_buy_rounds_down_to_the_lot_grid_in_decimal() -> None:
    # 0.3 in lots of 0.1 is 3 lots (floats alone make 2.9999... of it)
    result = run_backtest(Sized, _data([100.0] * 3), {"size": 0.3}, BacktestSettings(lot_size=0.1))
    assert _filled(result) == [0.3]
    whole = run_backtest(Sized, _data([100.0] * 3), {"size": 2.7})
    assert _filled(whole) == [2.0]  # whole units when the lot is one


def test_a_size_below_one_lot_is_refused_with_the_lot() -> None:
    with pytest.raises(StrategyFailed, match="below one lot"):
        run_backtest(Sized, _data([100.0] * 3), {"size": 0.5})


def test_all_equity_fills_whole_lots_of_a_fractional_instrument() -> None:
    class AllIn(Strategy):
        name: ClassVar[str] = "all_in_unit"

        def on_bar(self, bar: Bar) -> None:
            if not self.state:
                self.state["bought"] = True
                self.buy()

    settings = BacktestSettings(cash=10_000.0, lot_size=0.0001)
    result = run_backtest(AllIn, _data([95_000.0] * 3), {}, settings)
    assert _filled(result) == [0.1052]  # 10,000 / 95,000 = 0.10526... in lots of 0.0001


def test_the_position_tells_its_average_price_and_unrealized_pnl() -> None:
    closes = [100.0, 100.0, 100.0, 104.0, 98.0]
    result = run_backtest(Sized, _data(closes), {"size": 2.0})
    (entry,) = [o.fill_price for o in result.orders if o.status == "filled"]
    marks = _marks(result)
    assert {(size, avg) for size, avg, _ in marks} == {(2.0, entry)}
    # marked at each later close: 2 x (close - entry), the last ones at 104 and 98
    assert [pnl for _, _, pnl in marks][-2:] == [2 * (104 - entry), 2 * (98 - entry)]


def _marks(result: Any) -> list[tuple[float, float, float]]:
    return [tuple(m) for m in result.state["marks"] if m[0]]


def test_live_orders_size_on_the_instruments_lot_grid() -> None:
    account = Account("a", "USD", Decimal(10_000), START, execution=ExecutionModel())
    context = TradingContext(
        account, Decimal(0), Decimal(10_000), Decimal(10_000), Decimal(95_000), ZERO, BTC.lot_size
    )
    broker = LiveBroker()
    broker.attach(context, 0)
    strategy = Sized(broker, {"size": 0.12345})
    strategy.on_bar(Bar(0, START, 95_000.0, 95_000.0, 95_000.0, 95_000.0, 1.0))

    assert broker.lot_size == 0.0001
    body, _ = order_body(broker.submitted[0], BTC, context)
    assert body is not None and body["quantity"] == "0.1234"
    # all equity: whole lots of what the buying power pays for at the price band's top
    all_in, _ = order_body(StrategyOrder(2, 1, None), BTC, context)
    assert all_in is not None and all_in["quantity"] == "0.1002"


ZERO = Decimal(0)


def test_a_live_strategy_that_read_its_position_is_still_kept_between_bars() -> None:
    from redfire_core.strategies.snapshot import snapshot

    account = Account("a", "USD", Decimal(10_000), START, execution=ExecutionModel())
    context = TradingContext(
        account, Decimal(2), Decimal(10_000), Decimal(9_000), Decimal(110), Decimal(200)
    )
    broker = LiveBroker()
    broker.attach(context, 0)
    strategy = Sized(broker)
    strategy.seen = strategy.position  # a float: kept as one

    assert (strategy.position.avg_price, strategy.position.unrealized_pnl) == (100.0, 20.0)
    assert snapshot(strategy) == {"seen": 2.0}

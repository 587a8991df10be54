"""Stage caps cut limits and settings down, and a reservation covers what the order's fills
can cost at the prices risk judged it at (slippage, stops through the market, shorts,
commissions), with the commission minimum charged once per order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from redfire_core.domain.caps import DEFAULT_CAPS, parse_caps
from redfire_core.domain.orders import ExecutionModel, OrderType, Side
from redfire_core.domain.risk import LatestPrice, RiskLimits, reservation
from tests.unit.factories import T0, a_position, an_account, an_order

FRESH = LatestPrice("AAPL", Decimal("100.00"), T0 - timedelta(seconds=10))
TICK = Decimal("0.01")


def test_caps_cut_limits_and_settings_down_and_keep_whole_numbers_whole() -> None:
    caps = parse_caps({"max_active_orders": "20", "commission_per_unit": "0.5"})
    limits = caps.limits(RiskLimits(max_active_orders=10_000, max_order_qty=Decimal(5)))
    assert limits.max_active_orders == 20 and isinstance(limits.max_active_orders, int)
    assert limits.max_order_qty == 5  # below its cap: kept
    costly = ExecutionModel(commission_per_unit=Decimal(10**16), slippage_bps=Decimal(3))
    assert caps.execution(costly) == ExecutionModel(
        commission_per_unit=Decimal("0.5"), slippage_bps=Decimal(3)
    )


def test_a_cap_names_the_field_and_the_cap() -> None:
    caps = parse_caps({})
    cap = DEFAULT_CAPS["slippage_bps"]
    assert caps.violations({"slippage_bps": Decimal(101)}, "") == [
        {
            "field": "slippage_bps",
            "code": "EXECUTION_SETTING_ABOVE_CAP",
            "message": f"slippage_bps may be at most {cap} (the stage cap)",
            "cap": cap,
        }
    ]


def test_the_commission_minimum_is_paid_once_per_order() -> None:
    # Given a 5.00 minimum and an order filled in 10 parts of 0.10 by rate
    model = ExecutionModel(commission_rate=Decimal("0.001"), commission_minimum=Decimal(5))
    paid = filled = notional = Decimal(0)
    for _ in range(10):
        paid += model.fill_commission(
            Decimal(1), Decimal(100), filled_quantity=filled, filled_notional=notional, paid=paid
        )
        filled, notional = filled + 1, notional + 100

    # Then it pays the minimum once: what a single fill of the whole order would
    assert paid == model.commission(Decimal(10), Decimal(100)) == Decimal(5)


def test_a_market_buy_holds_the_slippage_its_fill_will_pay() -> None:
    # Given 100 bps of slippage, a zero price band and a market buy of 10 at 100
    account = an_account(execution=ExecutionModel(slippage_bps=Decimal(100)))
    order = an_order(type=OrderType.MARKET, limit_price=None, quantity="10")

    # Then it holds 10 x (101 + a tick for the rounding of the slipped price)
    held = reservation(order, FRESH, account, price_band_pct=Decimal(0), tick_size=TICK)
    assert held == Decimal("1010.10")


def test_a_buy_stop_already_through_the_market_holds_the_market_price() -> None:
    # A buy stop at 90 with the price at 100 triggers on the next bar, at about 100
    order = an_order(type=OrderType.STOP, limit_price=None, stop_price="90.00", quantity="10")
    assert reservation(order, FRESH, an_account()) == Decimal("1000.00")


def test_a_short_limited_below_the_market_holds_the_market_price() -> None:
    # A margin sell of 10 limited at 95 with the price at 100 fills at 100, marked at 100
    account = an_account(margin_enabled=True)
    order = an_order(side=Side.SELL, limit_price="95.00", quantity="10")
    assert reservation(order, FRESH, account, a_position()) == Decimal("1000.00")


@pytest.mark.parametrize("margin", [False, True])
def test_a_sell_of_a_held_position_holds_its_commission(margin: bool) -> None:
    # Given a 100.00 minimum commission and a sell of 1 held unit at 100
    execution = ExecutionModel(commission_per_unit=Decimal("0.01"), commission_minimum=Decimal(100))
    account = an_account(margin_enabled=margin, execution=execution)
    order = an_order(side=Side.SELL, limit_price="100.00", quantity="1")

    # Then it holds the 100.00 its proceeds would not cover
    assert reservation(order, FRESH, account, a_position("5", "90")) == Decimal("100.00000000")

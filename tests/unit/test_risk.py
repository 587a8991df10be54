"""Pre-trade risk: every rule the order breaks, in a stable order, in one pass."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from redfire_core.domain.orders import ExecutionModel, Order, OrderType, Side
from redfire_core.domain.positions import Position
from redfire_core.domain.risk import (
    Denial,
    LatestPrice,
    RiskContext,
    RiskLimits,
    check_order,
    reference_price,
    reservation,
)
from tests.unit.factories import T0, a_position, an_account, an_order

FRESH = LatestPrice("AAPL", Decimal("100.00"), T0 - timedelta(seconds=10))


def a_context(**changes: Any) -> RiskContext:
    """A cash account with 100,000, no position, a fresh price of 100 and generous limits."""
    context = RiskContext(
        account=an_account("100000"),
        position=a_position(),
        latest=FRESH,
        limits=RiskLimits(),
        now=T0,
    )
    return replace(context, **changes)


def codes(order: Order, context: RiskContext) -> list[str]:
    return [denial.code for denial in check_order(order, context)]


def test_an_order_within_every_limit_passes() -> None:
    # Given a modest limit buy and plenty of cash, then no rule objects
    assert check_order(an_order(quantity="10", limit_price="100.00"), a_context()) == []


def test_an_order_above_the_quantity_limit_is_denied() -> None:
    # Given a quantity limit of 10, when 11 are ordered
    denials = check_order(
        an_order(quantity="11"), a_context(limits=RiskLimits(max_order_qty=Decimal("10")))
    )

    # Then RISK_MAX_ORDER_QTY reports the limit and the actual quantity
    assert denials == [
        Denial("RISK_MAX_ORDER_QTY", "order quantity above the limit", "10", "11"),
    ]


def test_a_market_order_without_any_price_is_denied_as_stale() -> None:
    # Given no latest price, when a market order is checked
    denials = check_order(an_order(type=OrderType.MARKET, limit_price=None), a_context(latest=None))

    # Then RISK_STALE_PRICE says there is no price at all
    assert [(d.code, d.actual) for d in denials] == [("RISK_STALE_PRICE", "none")]


def test_a_market_order_with_a_price_older_than_the_limit_is_denied_as_stale() -> None:
    # Given a price 301 s old and a 300 s limit, when a market order is checked
    old = LatestPrice("AAPL", Decimal("100"), T0 - timedelta(seconds=301))
    denials = check_order(an_order(type=OrderType.MARKET, limit_price=None), a_context(latest=old))

    # Then RISK_STALE_PRICE reports the limit and the age in seconds
    stale = [d for d in denials if d.code == "RISK_STALE_PRICE"]
    assert [(d.limit, d.actual) for d in stale] == [("300", "301")]


def test_a_market_order_with_a_price_exactly_at_the_age_limit_is_not_stale() -> None:
    # Given a price exactly 300 s old, when a market order is checked, then it is fresh enough
    edge = LatestPrice("AAPL", Decimal("100"), T0 - timedelta(seconds=300))
    assert codes(an_order(type=OrderType.MARKET, limit_price=None), a_context(latest=edge)) == []


def test_a_limit_order_does_not_need_a_recent_price() -> None:
    # Given no latest price, when a limit order is checked, then staleness is not a reason
    assert codes(an_order(limit_price="100.00"), a_context(latest=None)) == []


def test_an_order_above_the_notional_limit_is_denied() -> None:
    # Given a 1,000 notional limit, when 11 at 100 are ordered
    denials = check_order(
        an_order(quantity="11", limit_price="100.00"),
        a_context(limits=RiskLimits(max_order_notional=Decimal("1000"))),
    )

    # Then RISK_MAX_NOTIONAL reports the limit and the notional
    assert [(d.code, d.limit, d.actual) for d in denials] == [
        ("RISK_MAX_NOTIONAL", "1000", "1100.00")
    ]


def test_a_market_order_is_valued_at_the_latest_price() -> None:
    # Given a latest price of 100 and a 1,000 notional limit, when 11 are bought at market
    denials = codes(
        an_order(type=OrderType.MARKET, limit_price=None, quantity="11"),
        a_context(limits=RiskLimits(max_order_notional=Decimal("1000"))),
    )

    # Then the notional of 1,100 breaks the limit
    assert denials == ["RISK_MAX_NOTIONAL"]


def test_the_reference_price_is_the_limit_then_the_stop_then_the_market() -> None:
    # Given orders with a limit, with only a stop, and with neither
    stop = an_order(type=OrderType.STOP, limit_price=None, stop_price="95.00")
    market = an_order(type=OrderType.MARKET, limit_price=None)

    # Then each is valued at its own price first
    assert reference_price(an_order(limit_price="99.00"), FRESH) == Decimal("99.00")
    assert reference_price(stop, FRESH) == Decimal("95.00")
    assert reference_price(market, FRESH) == Decimal("100.00")
    assert reference_price(market, None) is None


def test_a_cash_account_cannot_buy_more_than_its_cash() -> None:
    # Given 999.99 of cash, when 10 at 100 are bought
    denials = check_order(an_order(quantity="10"), a_context(account=an_account("999.99")))

    # Then RISK_BUYING_POWER reports the cash and the notional
    assert [(d.code, d.limit, d.actual) for d in denials] == [
        ("RISK_BUYING_POWER", "999.99", "1000.00")
    ]


def test_a_cash_account_can_spend_exactly_its_cash() -> None:
    # Given 1,000 of cash, when 10 at 100 are bought, then nothing objects
    assert codes(an_order(quantity="10"), a_context(account=an_account("1000"))) == []


def test_a_cash_account_cannot_sell_more_than_it_holds() -> None:
    # Given long 5, when 6 are sold
    denials = check_order(
        an_order(side=Side.SELL, quantity="6"), a_context(position=a_position("5", "90"))
    )

    # Then RISK_SHORT_NOT_ALLOWED reports the holding and the quantity
    assert [(d.code, d.limit, d.actual) for d in denials] == [("RISK_SHORT_NOT_ALLOWED", "5", "6")]


def test_a_cash_account_can_sell_what_it_holds() -> None:
    # Given long 5, when 5 are sold, then nothing objects
    order = an_order(side=Side.SELL, quantity="5")
    assert codes(order, a_context(position=a_position("5", "90"))) == []


def test_a_cash_account_that_is_short_cannot_sell_at_all() -> None:
    # Given a (legacy) short of 3, when 1 is sold, then the holding counts as zero
    denials = check_order(
        an_order(side=Side.SELL, quantity="1"), a_context(position=a_position("-3", "90"))
    )
    assert [(d.code, d.limit) for d in denials] == [("RISK_SHORT_NOT_ALLOWED", "0")]


def test_a_margin_account_may_sell_short() -> None:
    # Given a margin account with no position, when 5 are sold, then shorting is allowed
    context = a_context(account=an_account("100000", margin_enabled=True, leverage="2"))
    assert codes(an_order(side=Side.SELL, quantity="5"), context) == []


def test_a_margin_account_may_buy_up_to_its_equity_times_leverage() -> None:
    # Given 1,000 cash, long 10 valued at 100 and 2x leverage: equity 2,000 x 2 less the
    # 1,000 gross exposure of the position is 3,000 of buying power
    context = a_context(
        account=an_account("1000", margin_enabled=True, leverage="2"),
        position=Position("acct-1", "AAPL", Decimal("10"), Decimal("90")),
    )

    # Then 30 at 100 pass and 31 are denied for buying power
    assert codes(an_order(quantity="30"), context) == []
    denials = check_order(an_order(quantity="31"), context)
    assert [(d.code, d.limit, d.actual) for d in denials] == [
        ("RISK_BUYING_POWER", "3000.00", "3100.00")
    ]


def test_every_broken_rule_is_reported_in_one_pass_in_a_stable_order() -> None:
    # Given tight limits and little cash
    context = a_context(
        account=an_account("10"),
        limits=RiskLimits(max_order_qty=Decimal("5"), max_order_notional=Decimal("100")),
    )

    # When a limit buy of 6 at 100 is checked
    denials = codes(an_order(quantity="6", limit_price="100.00"), context)

    # Then quantity, notional and buying power are all reported, headline first
    assert denials == ["RISK_MAX_ORDER_QTY", "RISK_MAX_NOTIONAL", "RISK_BUYING_POWER"]


def test_a_market_sell_without_a_price_reports_staleness_and_shorting_together() -> None:
    # Given a cash account with no position and no price, when 1 is sold at market
    order = an_order(side=Side.SELL, type=OrderType.MARKET, limit_price=None, quantity="1")

    # Then both rules report
    assert codes(order, a_context(latest=None)) == ["RISK_STALE_PRICE", "RISK_SHORT_NOT_ALLOWED"]


def test_a_denial_serializes_with_its_limit_and_actual_value() -> None:
    # Given a denial, then its dict form is what an OrderDenied event carries
    denial = Denial("RISK_MAX_NOTIONAL", "order notional above the limit", "1000", "1100")
    assert denial.as_dict() == {
        "code": "RISK_MAX_NOTIONAL",
        "message": "order notional above the limit",
        "limit": "1000",
        "actual": "1100",
    }


def test_a_cash_account_cannot_spend_what_open_orders_already_hold() -> None:
    # Given 1,000 of cash of which 500 is held for an open order
    context = a_context(account=an_account("1000", reserved="500"))

    # When 6 at 100 are bought, then the 500 left is not enough
    denials = check_order(an_order(quantity="6"), context)
    assert [(d.code, d.limit, d.actual) for d in denials] == [
        ("RISK_BUYING_POWER", "500", "600.00")
    ]


def test_a_margin_account_cannot_spend_what_open_orders_already_hold() -> None:
    # Given 1,000 of cash at 2x leverage (2,000) with 1,500 held for open orders
    context = a_context(
        account=an_account("1000", margin_enabled=True, leverage="2", reserved="1500")
    )

    # When 6 at 100 are bought, then the 500 left is not enough
    denials = check_order(an_order(quantity="6"), context)
    assert [(d.code, d.limit, d.actual) for d in denials] == [
        ("RISK_BUYING_POWER", "500", "600.00")
    ]


def test_a_buy_limit_holds_its_quantity_at_its_limit_price() -> None:
    # Given a buy of 10 limited at 99.50 and a latest price of 100
    order = an_order(quantity="10", limit_price="99.50")

    # Then it holds 995.00, valued at its own limit
    assert reservation(order, FRESH, an_account()) == Decimal("995.00")


def test_a_buy_stop_holds_its_quantity_at_its_stop_price() -> None:
    # Given a buy stop of 10 at 101 and a latest price of 100
    order = an_order(type=OrderType.STOP, limit_price=None, stop_price="101.00", quantity="10")

    # Then it holds 1,010.00
    assert reservation(order, FRESH, an_account()) == Decimal("1010.00")


def test_a_buy_market_holds_the_latest_price_plus_the_five_percent_band() -> None:
    # Given a market buy of 10 and a latest price of 100
    order = an_order(type=OrderType.MARKET, limit_price=None, quantity="10")

    # Then it holds 10 x 105
    assert reservation(order, FRESH, an_account()) == Decimal("1050")


def test_a_buy_market_without_any_price_holds_nothing() -> None:
    # Given a market buy and no latest price, then there is nothing to value it at
    order = an_order(type=OrderType.MARKET, limit_price=None)
    assert reservation(order, None, an_account()) == 0


@pytest.mark.parametrize(
    ("order_type", "prices"),
    [
        (OrderType.LIMIT, {"limit_price": "99.50"}),
        (OrderType.MARKET, {"limit_price": None}),
        (OrderType.STOP, {"limit_price": None, "stop_price": "95.00"}),
    ],
)
def test_a_sell_holds_no_cash(order_type: OrderType, prices: dict[str, Any]) -> None:
    # Given a sell of any type, then it reserves nothing
    order = an_order(side=Side.SELL, type=order_type, **prices)
    assert reservation(order, FRESH, an_account()) == 0


def test_a_reservation_includes_the_commission_the_fill_will_pay() -> None:
    # Given 10 bps of commission with a 1.00 minimum, and a buy of 10 limited at 99.50
    account = an_account(
        execution=ExecutionModel(commission_rate=Decimal("0.001"), commission_minimum=Decimal("1"))
    )
    order = an_order(quantity="10", limit_price="99.50")

    # Then it holds 995.00 plus the 1.00 minimum (0.995 by rate)
    assert reservation(order, FRESH, account) == Decimal("996.00")


def test_a_partly_filled_order_holds_only_for_its_remainder() -> None:
    # Given a buy of 10 limited at 100 of which 4 are filled
    order = an_order(quantity="10", limit_price="100").fill(Decimal("4"), Decimal("100"), T0)

    # Then it holds 6 x 100
    assert reservation(order, FRESH, an_account()) == Decimal("600")

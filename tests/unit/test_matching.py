"""Paper matching against a bar: never a price the order could not have seen."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from redfire_core.domain.matching import PriceBar, match_against_bar
from redfire_core.domain.orders import OrderType, Side
from tests.unit.factories import T0, an_order

MINUTE = timedelta(minutes=1)
ACCEPTED_AT = T0 + timedelta(seconds=20)  # 14:30:20, inside the 14:30 bar


def a_bar(start: timedelta, open: str, high: str, low: str, close: str) -> PriceBar:
    """A one-minute bar starting ``start`` after 14:30:00."""
    begin = T0 + start
    return PriceBar(
        begin, begin + MINUTE, Decimal(open), Decimal(high), Decimal(low), Decimal(close)
    )


IN_PROGRESS = timedelta(0)  # 14:30-14:31: started before acceptance, ends after it
NEXT = MINUTE  # 14:31-14:32: starts after acceptance
BEFORE = -MINUTE  # 14:29-14:30: ended before acceptance


def test_a_bar_that_ended_before_acceptance_never_fills() -> None:
    # Given a buy limit at 100 and a bar that ended before the order was accepted
    bar = a_bar(BEFORE, "95", "96", "94", "95")

    # Then even a bar entirely below the limit does not fill it
    assert match_against_bar(an_order(limit_price="100"), bar, ACCEPTED_AT) is None


def test_a_bar_ending_exactly_at_acceptance_never_fills() -> None:
    # Given a bar that ends at the very moment the order was accepted, then it does not fill
    bar = a_bar(BEFORE, "95", "96", "94", "95")
    assert match_against_bar(an_order(limit_price="100"), bar, bar.end) is None


def test_a_buy_limit_in_a_bar_that_started_before_acceptance_fills_at_its_limit() -> None:
    # Given a buy limit at 100 accepted mid-bar, and that bar opened at 98 and traded to 97
    bar = a_bar(IN_PROGRESS, "98", "101", "97", "99")

    # Then it fills at 100, never at the better open it did not see
    assert match_against_bar(an_order(limit_price="100"), bar, ACCEPTED_AT) == Decimal("100")


def test_a_later_bar_gapping_below_a_buy_limit_fills_at_its_open() -> None:
    # Given a buy limit at 100 and the next bar opening at 97
    bar = a_bar(NEXT, "97", "98", "96", "97.5")

    # Then it fills at the open, the first price seen after acceptance
    assert match_against_bar(an_order(limit_price="100"), bar, ACCEPTED_AT) == Decimal("97")


def test_a_later_bar_trading_down_to_a_buy_limit_fills_at_the_limit() -> None:
    # Given a buy limit at 100 and the next bar opening at 102 and trading down to 99
    bar = a_bar(NEXT, "102", "103", "99", "101")

    # Then it fills at the limit
    assert match_against_bar(an_order(limit_price="100"), bar, ACCEPTED_AT) == Decimal("100")


def test_a_bar_that_stays_above_a_buy_limit_does_not_fill() -> None:
    # Given a buy limit at 100 and a bar whose low is 100.01, then no fill
    bar = a_bar(NEXT, "101", "102", "100.01", "101")
    assert match_against_bar(an_order(limit_price="100"), bar, ACCEPTED_AT) is None


def test_a_bar_whose_low_touches_a_buy_limit_exactly_fills() -> None:
    # Given a buy limit at 100 and a bar whose low is exactly 100, then it fills at 100
    bar = a_bar(NEXT, "101", "102", "100", "101")
    assert match_against_bar(an_order(limit_price="100"), bar, ACCEPTED_AT) == Decimal("100")


def test_a_sell_limit_in_a_bar_that_started_before_acceptance_fills_at_its_limit() -> None:
    # Given a sell limit at 100 accepted mid-bar, and that bar opened at 102
    bar = a_bar(IN_PROGRESS, "102", "103", "99", "101")
    order = an_order(side=Side.SELL, limit_price="100")

    # Then it fills at 100, not the better open
    assert match_against_bar(order, bar, ACCEPTED_AT) == Decimal("100")


def test_a_later_bar_gapping_above_a_sell_limit_fills_at_its_open() -> None:
    # Given a sell limit at 100 and the next bar opening at 103
    bar = a_bar(NEXT, "103", "104", "102", "103.5")
    order = an_order(side=Side.SELL, limit_price="100")

    # Then it fills at the open
    assert match_against_bar(order, bar, ACCEPTED_AT) == Decimal("103")


def test_a_later_bar_trading_up_to_a_sell_limit_fills_at_the_limit() -> None:
    # Given a sell limit at 100 and the next bar opening at 98 and trading up to 101
    bar = a_bar(NEXT, "98", "101", "97", "99")
    order = an_order(side=Side.SELL, limit_price="100")

    # Then it fills at the limit
    assert match_against_bar(order, bar, ACCEPTED_AT) == Decimal("100")


def test_a_bar_that_stays_below_a_sell_limit_does_not_fill() -> None:
    # Given a sell limit at 100 and a bar whose high is 99.99, then no fill
    bar = a_bar(NEXT, "99", "99.99", "98", "99")
    order = an_order(side=Side.SELL, limit_price="100")
    assert match_against_bar(order, bar, ACCEPTED_AT) is None


def test_a_market_order_fills_at_the_open_of_a_bar_starting_after_acceptance() -> None:
    # Given a market order and the next bar, then it fills at that bar's open
    bar = a_bar(NEXT, "101", "103", "100", "102")
    order = an_order(type=OrderType.MARKET, limit_price=None)
    assert match_against_bar(order, bar, ACCEPTED_AT) == Decimal("101")


def test_a_market_order_accepted_mid_bar_fills_at_that_bars_close() -> None:
    # Given a market order accepted during a bar, then it fills at the bar's close
    bar = a_bar(IN_PROGRESS, "101", "103", "100", "102")
    order = an_order(type=OrderType.MARKET, limit_price=None)
    assert match_against_bar(order, bar, ACCEPTED_AT) == Decimal("102")


def test_a_market_order_accepted_at_a_bar_start_fills_at_its_open() -> None:
    # Given a market order accepted exactly when a bar starts, then it fills at that open
    bar = a_bar(NEXT, "101", "103", "100", "102")
    order = an_order(type=OrderType.MARKET, limit_price=None)
    assert match_against_bar(order, bar, bar.start) == Decimal("101")

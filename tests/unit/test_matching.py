"""Paper matching: never a price the order could not have seen, and the paper costs.

The rules are the module docstring of ``redfire_core.domain.matching``: what a bar can
fill, at which price, how stops and trails trigger, what ioc/fok and day orders do,
and how slippage, commission and the volume cap apply.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from redfire_core.domain.bars import Bar
from redfire_core.domain.instruments import DEMO_INSTRUMENTS
from redfire_core.domain.matching import Decision, on_accept, on_bar, stop_level
from redfire_core.domain.money import is_multiple
from redfire_core.domain.orders import (
    ExecutionModel,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from tests.unit.factories import T0, an_order

AAPL = next(i for i in DEMO_INSTRUMENTS if i.symbol == "AAPL")  # tick 0.01, lot 1
BTC = next(i for i in DEMO_INSTRUMENTS if i.symbol == "BTC-USD")  # tick 0.01, lot 0.0001
FREE = ExecutionModel()  # no commission, no slippage, no volume cap
NOTHING = Decision()

MINUTE = timedelta(minutes=1)
ACCEPTED_AT = T0 + timedelta(seconds=20)  # 14:30:20, inside the 14:30 bar
IN_PROGRESS = timedelta(0)  # 14:30-14:31: started before acceptance, ends after it
NEXT = MINUTE  # 14:31-14:32: starts after acceptance
BEFORE = -MINUTE  # 14:29-14:30: ended before acceptance
END_OF_DAY = datetime(2026, 11, 26, tzinfo=UTC)  # when a day order placed at T0 expires


def a_bar(
    start: timedelta, open: str, high: str, low: str, close: str, volume: str = "1000"
) -> Bar:
    """A one-minute bar starting ``start`` after 14:30:00."""
    begin = T0 + start
    return Bar(
        "AAPL",
        "1m",
        begin,
        Decimal(open),
        Decimal(high),
        Decimal(low),
        Decimal(close),
        Decimal(volume),
    )


def one_minute(start: datetime, open: str, high: str, low: str, close: str) -> Bar:
    """A one-minute bar starting ``start``, no volume."""
    return Bar("AAPL", "1m", start, *(Decimal(x) for x in (open, high, low, close, "0")))


def working(
    *,
    time_in_force: TimeInForce = TimeInForce.GTC,
    accepted_at: datetime = ACCEPTED_AT,
    **order: Any,
) -> Order:
    """An order for 10 accepted at 14:30:20 (good till canceled unless said otherwise)."""
    return an_order(time_in_force=time_in_force, **order).accept(accepted_at)


def fills(quantity: str, price: str, **changes: Any) -> Decision:
    return Decision(Decimal(quantity), Decimal(price), changes)


def market(side: Side = Side.BUY, **order: Any) -> Order:
    return working(side=side, type=OrderType.MARKET, limit_price=None, **order)


def stop(side: Side, stop_price: str, **order: Any) -> Order:
    return working(side=side, type=OrderType.STOP, limit_price=None, stop_price=stop_price, **order)


def stop_limit(side: Side, stop_price: str, limit_price: str, **order: Any) -> Order:
    return working(
        side=side,
        type=OrderType.STOP_LIMIT,
        stop_price=stop_price,
        limit_price=limit_price,
        **order,
    )


def trailing(side: Side, *, anchor: str | None = "100", **trail: Any) -> Order:
    """A trailing stop whose anchor (best price since acceptance) is ``anchor``."""
    order = working(side=side, type=OrderType.TRAILING_STOP, limit_price=None, **trail)
    return replace(order, trail_reference=None if anchor is None else Decimal(anchor))


# --- which bars can fill an order --------------------------------------------------------


def test_a_bar_that_ended_before_acceptance_never_fills() -> None:
    # Given a buy limit at 100 and a bar that ended before the order was accepted
    bar = a_bar(BEFORE, "95", "96", "94", "95")

    # Then even a bar entirely below the limit does not fill it
    assert on_bar(working(limit_price="100"), bar, FREE, AAPL) == NOTHING


def test_a_bar_ending_exactly_at_acceptance_never_fills() -> None:
    # Given a bar that ends at the very moment the order was accepted
    bar = a_bar(BEFORE, "95", "96", "94", "95")
    order = working(limit_price="100", accepted_at=bar.end)

    # Then it does not fill
    assert on_bar(order, bar, FREE, AAPL) == NOTHING


def test_an_order_that_was_never_accepted_is_not_matched() -> None:
    # Given a submitted order (no acceptance yet) and a bar far through its limit
    bar = a_bar(NEXT, "90", "91", "89", "90")

    # Then the bar does nothing to it
    assert on_bar(an_order(limit_price="100"), bar, FREE, AAPL) == NOTHING


def test_a_final_order_is_not_matched() -> None:
    # Given an accepted order that has since been canceled
    order = working(limit_price="100").close(OrderStatus.CANCELED, ACCEPTED_AT)

    # When a bar trades through its limit, then nothing happens to it
    assert on_bar(order, a_bar(NEXT, "90", "91", "89", "90"), FREE, AAPL) == NOTHING


# --- limit orders ------------------------------------------------------------------------


def test_a_buy_limit_in_a_bar_that_started_before_acceptance_fills_at_its_limit() -> None:
    # Given a buy limit at 100 accepted mid-bar, and that bar opened at 98 and traded to 97
    bar = a_bar(IN_PROGRESS, "98", "101", "97", "99")

    # Then it fills at 100, never at the better open it did not see
    assert on_bar(working(limit_price="100"), bar, FREE, AAPL) == fills("10", "100")


def test_a_later_bar_gapping_below_a_buy_limit_fills_at_its_open() -> None:
    # Given a buy limit at 100 and the next bar opening at 97
    bar = a_bar(NEXT, "97", "98", "96", "97.5")

    # Then it fills at the open, the first price seen after acceptance
    assert on_bar(working(limit_price="100"), bar, FREE, AAPL) == fills("10", "97")


def test_a_bar_starting_at_the_moment_of_acceptance_counts_as_seen_from_its_open() -> None:
    # Given a buy limit at 100 accepted exactly when a bar opening at 97 starts
    bar = a_bar(NEXT, "97", "98", "96", "97.5")
    order = working(limit_price="100", accepted_at=bar.start)

    # Then it fills at that open
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "97")


def test_a_later_bar_trading_down_to_a_buy_limit_fills_at_the_limit() -> None:
    # Given a buy limit at 100 and the next bar opening at 102 and trading down to 99
    bar = a_bar(NEXT, "102", "103", "99", "101")

    # Then it fills at the limit
    assert on_bar(working(limit_price="100"), bar, FREE, AAPL) == fills("10", "100")


def test_a_bar_that_stays_above_a_buy_limit_does_not_fill() -> None:
    # Given a buy limit at 100 and a bar whose low is 100.01, then no fill
    bar = a_bar(NEXT, "101", "102", "100.01", "101")
    assert on_bar(working(limit_price="100"), bar, FREE, AAPL) == NOTHING


def test_a_bar_whose_low_touches_a_buy_limit_exactly_fills_at_the_limit() -> None:
    # Given a buy limit at 100 and a bar whose low is exactly 100, then it fills at 100
    bar = a_bar(NEXT, "101", "102", "100", "101")
    assert on_bar(working(limit_price="100"), bar, FREE, AAPL) == fills("10", "100")


def test_a_sell_limit_in_a_bar_that_started_before_acceptance_fills_at_its_limit() -> None:
    # Given a sell limit at 100 accepted mid-bar, and that bar opened at 102
    bar = a_bar(IN_PROGRESS, "102", "103", "99", "101")
    order = working(side=Side.SELL, limit_price="100")

    # Then it fills at 100, not the better open
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "100")


def test_a_later_bar_gapping_above_a_sell_limit_fills_at_its_open() -> None:
    # Given a sell limit at 100 and the next bar opening at 103
    bar = a_bar(NEXT, "103", "104", "102", "103.5")
    order = working(side=Side.SELL, limit_price="100")

    # Then it fills at the open
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "103")


def test_a_later_bar_trading_up_to_a_sell_limit_fills_at_the_limit() -> None:
    # Given a sell limit at 100 and the next bar opening at 98 and trading up to 101
    bar = a_bar(NEXT, "98", "101", "97", "99")
    order = working(side=Side.SELL, limit_price="100")

    # Then it fills at the limit
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "100")


def test_a_bar_that_stays_below_a_sell_limit_does_not_fill() -> None:
    # Given a sell limit at 100 and a bar whose high is 99.99, then no fill
    bar = a_bar(NEXT, "99", "99.99", "98", "99")
    order = working(side=Side.SELL, limit_price="100")
    assert on_bar(order, bar, FREE, AAPL) == NOTHING


def test_a_partially_filled_order_fills_only_its_remainder() -> None:
    # Given a buy limit for 10 of which 8 are filled
    order = working(limit_price="100").fill(Decimal("8"), Decimal("100"), ACCEPTED_AT)

    # When the next bar trades through the limit, then the remaining 2 fill
    bar = a_bar(NEXT, "99", "99.5", "98", "99")
    assert on_bar(order, bar, FREE, AAPL) == fills("2", "99")


# --- market orders -----------------------------------------------------------------------


def test_a_market_order_fills_at_once_at_the_latest_price() -> None:
    # Given a market buy for 10, when it is accepted while the latest price is 101.37
    decision = on_accept(market(), Decimal("101.37"), FREE, AAPL)

    # Then all of it fills at that price
    assert decision == fills("10", "101.37")


def test_a_market_order_accepted_without_a_price_rests() -> None:
    # Given a good-till-canceled market order accepted while no price exists, then it waits
    assert on_accept(market(), None, FREE, AAPL) == NOTHING


def test_a_resting_market_order_fills_at_the_open_of_a_bar_starting_after_acceptance() -> None:
    # Given a resting market buy and the next bar, then it fills at that bar's open
    bar = a_bar(NEXT, "101", "103", "100", "102")
    assert on_bar(market(), bar, FREE, AAPL) == fills("10", "101")


def test_a_resting_market_order_accepted_mid_bar_fills_at_that_bars_close() -> None:
    # Given a resting market buy accepted during a bar, then it fills at the bar's close
    bar = a_bar(IN_PROGRESS, "101", "103", "100", "102")
    assert on_bar(market(), bar, FREE, AAPL) == fills("10", "102")


def test_a_resting_market_order_accepted_at_a_bar_start_fills_at_its_open() -> None:
    # Given a market order accepted exactly when a bar starts, then it fills at that open
    bar = a_bar(NEXT, "101", "103", "100", "102")
    assert on_bar(market(accepted_at=bar.start), bar, FREE, AAPL) == fills("10", "101")


def test_a_resting_market_sell_fills_at_the_next_open_too() -> None:
    # Given a resting market sell and the next bar, then it fills at that bar's open
    bar = a_bar(NEXT, "101", "103", "100", "102")
    assert on_bar(market(Side.SELL), bar, FREE, AAPL) == fills("10", "101")


# --- stop orders -------------------------------------------------------------------------


def test_a_buy_stop_triggers_at_its_stop_when_a_bar_reaches_it() -> None:
    # Given a buy stop at 105 and the next bar opening at 103 and trading up to 106
    bar = a_bar(NEXT, "103", "106", "102", "105.5")

    # Then it triggers and fills at the stop
    assert on_bar(stop(Side.BUY, "105"), bar, FREE, AAPL) == fills("10", "105", triggered=True)


def test_a_later_bar_gapping_above_a_buy_stop_fills_at_its_open() -> None:
    # Given a buy stop at 105 and the next bar opening at 107
    bar = a_bar(NEXT, "107", "108", "106", "107.5")

    # Then it triggers at the open, the first price after the gap
    assert on_bar(stop(Side.BUY, "105"), bar, FREE, AAPL) == fills("10", "107", triggered=True)


def test_a_buy_stop_in_a_bar_that_started_before_acceptance_fills_at_its_stop() -> None:
    # Given a buy stop at 105 accepted mid-bar, and that bar opened at 107
    bar = a_bar(IN_PROGRESS, "107", "108", "104", "106")

    # Then it triggers at the stop: the order never saw the open
    assert on_bar(stop(Side.BUY, "105"), bar, FREE, AAPL) == fills("10", "105", triggered=True)


def test_a_bar_that_stays_below_a_buy_stop_does_not_trigger_it() -> None:
    # Given a buy stop at 105 and a bar whose high is 104.99, then nothing happens
    bar = a_bar(NEXT, "103", "104.99", "102", "104")
    assert on_bar(stop(Side.BUY, "105"), bar, FREE, AAPL) == NOTHING


def test_a_sell_stop_triggers_at_its_stop_when_a_bar_reaches_it() -> None:
    # Given a sell stop at 95 and the next bar opening at 97 and trading down to 94
    bar = a_bar(NEXT, "97", "98", "94", "94.5")

    # Then it triggers and fills at the stop
    assert on_bar(stop(Side.SELL, "95"), bar, FREE, AAPL) == fills("10", "95", triggered=True)


def test_a_later_bar_gapping_below_a_sell_stop_fills_at_its_open() -> None:
    # Given a sell stop at 95 and the next bar opening at 93
    bar = a_bar(NEXT, "93", "94", "92", "93.5")

    # Then it triggers at the open
    assert on_bar(stop(Side.SELL, "95"), bar, FREE, AAPL) == fills("10", "93", triggered=True)


def test_a_bar_that_stays_above_a_sell_stop_does_not_trigger_it() -> None:
    # Given a sell stop at 95 and a bar whose low is 95.01, then nothing happens
    bar = a_bar(NEXT, "96", "97", "95.01", "96")
    assert on_bar(stop(Side.SELL, "95"), bar, FREE, AAPL) == NOTHING


# --- stop-limit orders -------------------------------------------------------------------


def test_a_buy_stop_limit_triggers_and_fills_at_its_stop_within_its_limit() -> None:
    # Given a buy stop 105 limit 106 and a bar trading from 104 up to 106.5
    bar = a_bar(NEXT, "104", "106.5", "103.5", "106")

    # Then it triggers at 105, which is within the limit, and fills there
    order = stop_limit(Side.BUY, "105", "106")
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "105", triggered=True)


def test_a_buy_stop_limit_gapping_above_its_limit_fills_at_the_limit_when_reachable() -> None:
    # Given a buy stop 105 limit 106 and a bar opening at 107 that trades down to 105.5
    bar = a_bar(NEXT, "107", "108", "105.5", "106")

    # Then it triggers at the open but fills no higher than its limit
    order = stop_limit(Side.BUY, "105", "106")
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "106", triggered=True)


def test_a_buy_stop_limit_whose_limit_is_out_of_reach_stays_triggered() -> None:
    # Given a buy stop 105 limit 106 and a bar opening at 107 that never comes down to 106
    bar = a_bar(NEXT, "107", "109", "106.5", "108")

    # Then it triggers without filling: it is now a resting limit
    order = stop_limit(Side.BUY, "105", "106")
    assert on_bar(order, bar, FREE, AAPL) == Decision(changes={"triggered": True})


def test_a_sell_stop_limit_gapping_below_its_limit_fills_at_the_limit_when_reachable() -> None:
    # Given a sell stop 95 limit 94 and a bar opening at 93 that trades up to 94.5
    bar = a_bar(NEXT, "93", "94.5", "92", "94")

    # Then it triggers at the open but fills no lower than its limit
    order = stop_limit(Side.SELL, "95", "94")
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "94", triggered=True)


def test_a_sell_stop_limit_whose_limit_is_out_of_reach_stays_triggered() -> None:
    # Given a sell stop 95 limit 94 and a bar gapping to 93 that never trades back up to 94
    bar = a_bar(NEXT, "93", "93.8", "92", "93")

    # Then it triggers without filling
    order = stop_limit(Side.SELL, "95", "94")
    assert on_bar(order, bar, FREE, AAPL) == Decision(changes={"triggered": True})


def test_a_triggered_stop_limit_fills_as_a_limit_without_reaching_its_stop_again() -> None:
    # Given a buy stop 105 limit 106 that has triggered
    order = replace(stop_limit(Side.BUY, "105", "106"), triggered=True)

    # When a later bar opens at 104 and stays below the stop
    bar = a_bar(NEXT, "104", "104.5", "103", "104")

    # Then it fills like a limit at the open, below its limit
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "104")


def test_an_untriggered_stop_limit_ignores_a_bar_below_its_stop() -> None:
    # Given the same buy stop 105 limit 106, not triggered, and the same bar below the stop
    bar = a_bar(NEXT, "104", "104.5", "103", "104")

    # Then nothing happens: the limit is not live before the stop is reached
    assert on_bar(stop_limit(Side.BUY, "105", "106"), bar, FREE, AAPL) == NOTHING


# --- trailing stops ----------------------------------------------------------------------


def test_a_trailing_stop_anchors_on_the_latest_price_at_acceptance() -> None:
    # Given a sell trailing stop by 2.00, when it is accepted with the latest price at 100
    order = trailing(Side.SELL, anchor=None, trail_price="2.00")
    decision = on_accept(order, Decimal("100"), FREE, AAPL)

    # Then its anchor is set to that price and nothing fills
    assert decision == Decision(changes={"trail_reference": Decimal("100")})


def test_a_sell_trailing_stop_by_price_sits_that_far_below_its_anchor() -> None:
    # Given a sell trailing stop by 2.00 anchored at 100, then its stop is 98
    assert stop_level(trailing(Side.SELL, trail_price="2.00"), AAPL) == Decimal("98")


def test_a_buy_trailing_stop_by_price_sits_that_far_above_its_anchor() -> None:
    # Given a buy trailing stop by 1.50 anchored at 100, then its stop is 101.50
    assert stop_level(trailing(Side.BUY, trail_price="1.50"), AAPL) == Decimal("101.50")


def test_a_sell_trailing_stop_by_percent_sits_that_share_below_its_anchor() -> None:
    # Given a sell trailing stop by 2.5% anchored at 200, then its stop is 195
    order = trailing(Side.SELL, anchor="200", trail_percent="2.5")
    assert stop_level(order, AAPL) == Decimal("195")


def test_a_buy_trailing_stop_by_percent_sits_that_share_above_its_anchor() -> None:
    # Given a buy trailing stop by 5% anchored at 96, then its stop is 100.80
    order = trailing(Side.BUY, anchor="96", trail_percent="5")
    assert stop_level(order, AAPL) == Decimal("100.80")


def test_a_sell_trailing_stop_moves_its_anchor_up_to_a_new_high() -> None:
    # Given a sell trailing stop by 2.00 anchored at 100 (stop 98)
    order = trailing(Side.SELL, trail_price="2.00")

    # When a bar trades up to 103 without reaching the stop
    bar = a_bar(NEXT, "100.50", "103", "99", "102")

    # Then the anchor follows to 103 and nothing fills
    assert on_bar(order, bar, FREE, AAPL) == Decision(changes={"trail_reference": Decimal("103")})


def test_a_sell_trailing_stop_never_moves_its_anchor_down() -> None:
    # Given a sell trailing stop by 2.00 anchored at 100, and a bar between 98.50 and 99.80
    bar = a_bar(NEXT, "99.50", "99.80", "98.50", "99")

    # Then neither the anchor nor the order changes
    assert on_bar(trailing(Side.SELL, trail_price="2.00"), bar, FREE, AAPL) == NOTHING


def test_a_buy_trailing_stop_moves_its_anchor_down_to_a_new_low() -> None:
    # Given a buy trailing stop by 5% anchored at 100 (stop 105), and a bar down to 96
    bar = a_bar(NEXT, "100", "102", "96", "97")

    # Then the anchor follows to 96
    order = trailing(Side.BUY, trail_percent="5")
    assert on_bar(order, bar, FREE, AAPL) == Decision(changes={"trail_reference": Decimal("96")})


def test_a_trailing_stop_triggers_against_the_previous_anchor_before_the_bar_moves_it() -> None:
    # Given a sell trailing stop by 2.00 anchored at 100 (stop 98)
    order = trailing(Side.SELL, trail_price="2.00")

    # When one bar trades up to 104 and down to 97.50
    bar = a_bar(NEXT, "101", "104", "97.50", "98")

    # Then it triggers at 98 (the old stop), not at 102 (a stop trailed from 104 first)
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "98", triggered=True)


def test_a_later_bar_gapping_through_a_trailing_stop_fills_at_its_open() -> None:
    # Given a sell trailing stop by 2.00 anchored at 100 (stop 98), and a bar opening at 97
    bar = a_bar(NEXT, "97", "97.50", "96", "97")

    # Then it fills at the open
    order = trailing(Side.SELL, trail_price="2.00")
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "97", triggered=True)


def test_a_buy_trailing_stop_by_percent_triggers_at_its_trailed_stop() -> None:
    # Given a buy trailing stop by 5% anchored at 96 (stop 100.80), and a bar up to 101
    bar = a_bar(NEXT, "99", "101", "98", "100")

    # Then it triggers and fills at 100.80
    order = trailing(Side.BUY, anchor="96", trail_percent="5")
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "100.80", triggered=True)


def test_a_trailing_stop_accepted_without_a_price_waits_for_its_first_bar() -> None:
    # Given a trailing stop accepted while no price exists, then acceptance changes nothing
    order = trailing(Side.SELL, anchor=None, trail_price="2.00")
    assert on_accept(order, None, FREE, AAPL) == NOTHING


def test_a_trailing_stop_without_an_anchor_anchors_on_the_open_of_its_first_bar() -> None:
    # Given a sell trailing stop by 2.00 without an anchor, and a first bar opening at 100.40
    # that falls far below any stop
    bar = a_bar(NEXT, "100.40", "100.50", "90", "95")
    order = trailing(Side.SELL, anchor=None, trail_price="2.00")

    # Then the bar only anchors it at the open: no trigger, no fill
    decision = on_bar(order, bar, FREE, AAPL)
    assert decision == Decision(changes={"trail_reference": Decimal("100.40")})


def test_a_trailing_stop_without_an_anchor_accepted_mid_bar_anchors_on_its_close() -> None:
    # Given a trailing stop without an anchor accepted during a bar that closes at 99.10
    bar = a_bar(IN_PROGRESS, "100.40", "100.50", "98", "99.10")
    order = trailing(Side.SELL, anchor=None, trail_price="2.00")

    # Then it anchors on the close, the only price it saw
    assert on_bar(order, bar, FREE, AAPL) == Decision(changes={"trail_reference": Decimal("99.10")})


def test_a_trailing_stop_by_percent_fills_on_the_tick_grid() -> None:
    # Given a sell trailing stop by 2.5% anchored at 99.99 (stop 97.49025)
    order = trailing(Side.SELL, anchor="99.99", trail_percent="2.5")

    # When a bar trades through the stop
    decision = on_bar(order, a_bar(NEXT, "99", "99.50", "97", "97.20"), FREE, AAPL)

    # Then it fills at a price the instrument can trade at
    assert decision.fill_price is not None
    assert is_multiple(decision.fill_price, AAPL.tick_size)


# --- ioc / fok ---------------------------------------------------------------------------

IMMEDIATE = [TimeInForce.IOC, TimeInForce.FOK]


@pytest.mark.parametrize("tif", IMMEDIATE)
def test_an_immediate_market_order_fills_all_at_the_latest_price(tif: TimeInForce) -> None:
    # Given an ioc/fok market buy for 10, when it is accepted with a latest price of 100.25
    decision = on_accept(market(time_in_force=tif), Decimal("100.25"), FREE, AAPL)

    # Then all of it fills at that price
    assert decision == fills("10", "100.25")


@pytest.mark.parametrize("tif", IMMEDIATE)
def test_an_immediate_market_order_without_a_price_is_canceled(tif: TimeInForce) -> None:
    # Given an ioc/fok market order accepted while no price exists
    decision = on_accept(market(time_in_force=tif), None, FREE, AAPL)

    # Then it is canceled, with nothing filled
    assert (decision.close, decision.fills) == (OrderStatus.CANCELED, False)


@pytest.mark.parametrize("tif", IMMEDIATE)
def test_a_marketable_immediate_buy_limit_fills_all_at_the_latest_price(
    tif: TimeInForce,
) -> None:
    # Given an ioc/fok buy limit at 100, when accepted with the latest price at 99.50
    decision = on_accept(
        working(limit_price="100", time_in_force=tif), Decimal("99.50"), FREE, AAPL
    )

    # Then all of it fills at 99.50, the better price that is there
    assert decision == fills("10", "99.50")


@pytest.mark.parametrize("tif", IMMEDIATE)
def test_an_immediate_limit_at_exactly_the_latest_price_is_marketable(tif: TimeInForce) -> None:
    # Given an ioc/fok sell limit at 100 and a latest price of exactly 100
    order = working(side=Side.SELL, limit_price="100", time_in_force=tif)

    # Then it fills at 100
    assert on_accept(order, Decimal("100"), FREE, AAPL) == fills("10", "100")


@pytest.mark.parametrize("tif", IMMEDIATE)
def test_a_marketable_immediate_sell_limit_fills_all_at_the_latest_price(
    tif: TimeInForce,
) -> None:
    # Given an ioc/fok sell limit at 100, when accepted with the latest price at 100.75
    order = working(side=Side.SELL, limit_price="100", time_in_force=tif)

    # Then all of it fills at 100.75
    assert on_accept(order, Decimal("100.75"), FREE, AAPL) == fills("10", "100.75")


@pytest.mark.parametrize(
    ("tif", "side", "latest"),
    [
        (TimeInForce.IOC, Side.BUY, "100.01"),
        (TimeInForce.FOK, Side.BUY, "100.01"),
        (TimeInForce.IOC, Side.SELL, "99.99"),
        (TimeInForce.FOK, Side.SELL, "99.99"),
    ],
)
def test_an_immediate_limit_that_is_not_marketable_is_canceled(
    tif: TimeInForce, side: Side, latest: str
) -> None:
    # Given an ioc/fok limit at 100 and a latest price one tick on the wrong side of it
    order = working(side=side, limit_price="100", time_in_force=tif)
    decision = on_accept(order, Decimal(latest), FREE, AAPL)

    # Then it is canceled, with nothing filled
    assert (decision.close, decision.fills) == (OrderStatus.CANCELED, False)


@pytest.mark.parametrize("tif", IMMEDIATE)
def test_an_immediate_limit_without_a_price_is_canceled(tif: TimeInForce) -> None:
    # Given an ioc/fok limit accepted while no price exists, then it is canceled
    decision = on_accept(working(limit_price="100", time_in_force=tif), None, FREE, AAPL)
    assert (decision.close, decision.fills) == (OrderStatus.CANCELED, False)


@pytest.mark.parametrize("tif", [TimeInForce.DAY, TimeInForce.GTC])
def test_a_resting_limit_is_not_decided_at_acceptance(tif: TimeInForce) -> None:
    # Given a day/gtc buy limit at 100 accepted while the latest price is below it
    order = working(limit_price="100", time_in_force=tif)

    # Then acceptance leaves it to the bars
    assert on_accept(order, Decimal("99"), FREE, AAPL) == NOTHING


# --- day orders --------------------------------------------------------------------------


@pytest.mark.parametrize("after", [timedelta(0), timedelta(hours=9, minutes=30)])
def test_a_day_order_expires_on_a_bar_starting_at_or_after_its_expiry(after: timedelta) -> None:
    # Given a day buy limit at 100, and a bar of the next day that trades through the limit
    order = working(limit_price="100", time_in_force=TimeInForce.DAY)
    start = END_OF_DAY + after
    bar = one_minute(start, "99", "99", "98", "98")

    # Then it expires instead of filling
    decision = on_bar(order, bar, FREE, AAPL)
    assert (decision.close, decision.fills) == (OrderStatus.EXPIRED, False)


def test_a_day_order_still_fills_on_the_last_bar_of_its_day() -> None:
    # Given a day buy limit at 100 and the 23:59 bar, which ends at its expiry
    order = working(limit_price="100", time_in_force=TimeInForce.DAY)
    start = END_OF_DAY - MINUTE
    bar = one_minute(start, "99", "99", "98", "98")  # ends at END_OF_DAY

    # Then the bar fills it at its open
    assert on_bar(order, bar, FREE, AAPL) == fills("10", "99")


def test_a_good_till_canceled_order_does_not_expire_overnight() -> None:
    # Given a gtc buy limit at 100 and a bar of the next day through the limit
    bar = one_minute(END_OF_DAY, "99", "99", "98", "98")

    # Then it fills
    assert on_bar(working(limit_price="100"), bar, FREE, AAPL) == fills("10", "99")


# --- slippage ----------------------------------------------------------------------------

SLIPPY = ExecutionModel(slippage_bps=Decimal("10"))  # 0.1%


def test_slippage_moves_a_buy_up_and_rounds_up_to_a_tick() -> None:
    # Given 10 bps of slippage, then a buy at 33.33 pays 33.36333 rounded up: 33.37
    assert SLIPPY.slipped(Decimal("33.33"), Side.BUY, AAPL) == Decimal("33.37")


def test_slippage_moves_a_sell_down_and_rounds_down_to_a_tick() -> None:
    # Given 10 bps of slippage, then a sell at 33.33 gets 33.29667 rounded down: 33.29
    assert SLIPPY.slipped(Decimal("33.33"), Side.SELL, AAPL) == Decimal("33.29")


@pytest.mark.parametrize(("side", "price"), [(Side.BUY, "100.05"), (Side.SELL, "99.95")])
def test_slippage_that_lands_on_a_tick_is_not_rounded_further(side: Side, price: str) -> None:
    # Given 5 bps of slippage on 100, then the price moves exactly 0.05 against the trader
    model = ExecutionModel(slippage_bps=Decimal("5"))
    assert model.slipped(Decimal("100"), side, AAPL) == Decimal(price)


def test_no_slippage_leaves_the_price_as_it_is() -> None:
    # Given no slippage, then even an off-tick price is returned unchanged
    assert FREE.slipped(Decimal("33.333"), Side.BUY, AAPL) == Decimal("33.333")


def test_a_market_order_filled_at_acceptance_slips() -> None:
    # Given 10 bps of slippage, when a market sell is accepted with the latest price at 33.33
    decision = on_accept(market(Side.SELL), Decimal("33.33"), SLIPPY, AAPL)

    # Then it fills at 33.29
    assert decision == fills("10", "33.29")


def test_a_resting_market_order_slips_from_the_open() -> None:
    # Given 10 bps of slippage and a resting market buy, when the next bar opens at 33.33
    bar = a_bar(NEXT, "33.33", "33.50", "33.20", "33.40")

    # Then it fills at 33.37
    assert on_bar(market(), bar, SLIPPY, AAPL) == fills("10", "33.37")


def test_a_triggered_stop_slips_from_its_trigger_price() -> None:
    # Given 10 bps of slippage and a sell stop at 95 that a bar reaches
    bar = a_bar(NEXT, "97", "98", "94", "94.5")

    # Then it fills at 95 less 0.095, rounded down: 94.90
    assert on_bar(stop(Side.SELL, "95"), bar, SLIPPY, AAPL) == fills("10", "94.90", triggered=True)


def test_a_limit_fill_never_slips() -> None:
    # Given 10 bps of slippage and a buy limit at 100 that the next bar gaps below to 97
    bar = a_bar(NEXT, "97", "98", "96", "97.5")

    # Then it fills at the open exactly: a limit is never worse than the price traded
    assert on_bar(working(limit_price="100"), bar, SLIPPY, AAPL) == fills("10", "97")


def test_an_immediate_limit_fill_never_slips() -> None:
    # Given 10 bps of slippage and an ioc buy limit at 100 accepted at 99.50
    order = working(limit_price="100", time_in_force=TimeInForce.IOC)

    # Then it fills at 99.50 exactly
    assert on_accept(order, Decimal("99.50"), SLIPPY, AAPL) == fills("10", "99.50")


# --- commission --------------------------------------------------------------------------


def test_commission_is_the_rate_on_the_notional_plus_a_charge_per_unit() -> None:
    # Given 10 bps plus 0.005 per unit, when 100 trade at 25
    model = ExecutionModel(commission_rate=Decimal("0.001"), commission_per_unit=Decimal("0.005"))

    # Then the commission is 2.50 + 0.50
    assert model.commission(Decimal("100"), Decimal("25")) == Decimal("3")


def test_a_commission_below_the_minimum_is_raised_to_it() -> None:
    # Given 1 bp with a 1.00 minimum, when 1 trades at 10 (0.001 by rate)
    model = ExecutionModel(commission_rate=Decimal("0.0001"), commission_minimum=Decimal("1"))

    # Then the minimum is charged
    assert model.commission(Decimal("1"), Decimal("10")) == Decimal("1")


def test_no_commission_is_charged_when_there_is_no_rate_even_with_a_minimum() -> None:
    # Given only a minimum, then a fill costs nothing
    model = ExecutionModel(commission_minimum=Decimal("1"))
    assert model.commission(Decimal("10"), Decimal("100")) == 0


def test_commission_is_rounded_to_eight_places() -> None:
    # Given 1 bp, when 7 trade at 0.123456789 (0.0000864197523 by rate)
    model = ExecutionModel(commission_rate=Decimal("0.0001"))
    commission = model.commission(Decimal("7"), Decimal("0.123456789"))

    # Then it is 0.00008642, to exactly eight places
    assert commission == Decimal("0.00008642")
    assert commission.as_tuple().exponent == -8


# --- volume cap --------------------------------------------------------------------------

CAPPED = ExecutionModel(max_volume_share=Decimal("0.1"))  # at most 10% of a bar's volume


def test_the_volume_cap_floors_to_whole_lots() -> None:
    # Given a 10% cap and a bar of 57 units, then at most 5 (not 5.7) fill
    assert CAPPED.capped(Decimal("10"), Decimal("57"), AAPL) == Decimal("5")


def test_the_volume_cap_floors_to_fractional_lots() -> None:
    # Given a 10% cap and a bar of 0.12345 BTC in lots of 0.0001, then 0.0123 fill
    assert CAPPED.capped(Decimal("1"), Decimal("0.12345"), BTC) == Decimal("0.0123")


def test_the_volume_cap_never_fills_more_than_the_remainder() -> None:
    # Given a 10% cap and a bar of 10,000 units, then 10 remaining fill in full
    assert CAPPED.capped(Decimal("10"), Decimal("10000"), AAPL) == Decimal("10")


def test_without_a_cap_the_whole_remainder_fills_whatever_the_volume() -> None:
    # Given no cap, then the remainder fills even on a bar without volume
    assert FREE.capped(Decimal("10"), Decimal("0"), AAPL) == Decimal("10")


def test_a_capped_bar_fills_part_of_a_limit_order() -> None:
    # Given a 10% cap and a bar of 57 units trading through a buy limit for 10
    bar = a_bar(NEXT, "99", "99.5", "98", "99", volume="57")

    # Then 5 fill at the open
    assert on_bar(working(limit_price="100"), bar, CAPPED, AAPL) == fills("5", "99")


def test_a_cap_of_less_than_one_lot_fills_nothing() -> None:
    # Given a 10% cap and a bar of 9 units (0.9 of a lot) through a buy limit
    bar = a_bar(NEXT, "99", "99.5", "98", "99", volume="9")

    # Then nothing fills
    assert on_bar(working(limit_price="100"), bar, CAPPED, AAPL) == NOTHING


def test_a_stop_triggered_on_a_bar_too_thin_to_fill_stays_triggered() -> None:
    # Given a 10% cap and a bar of 9 units that reaches a sell stop at 95
    bar = a_bar(NEXT, "97", "98", "94", "94.5", volume="9")

    # Then it triggers without filling
    assert on_bar(stop(Side.SELL, "95"), bar, CAPPED, AAPL) == Decision(changes={"triggered": True})


def test_the_remainder_of_a_triggered_stop_fills_like_a_market_order() -> None:
    # Given a sell stop at 95 that triggered and filled 5 of 10 on a thin bar
    order = replace(
        stop(Side.SELL, "95").fill(Decimal("5"), Decimal("95"), ACCEPTED_AT), triggered=True
    )

    # When the next bar opens back above the stop at 97
    bar = a_bar(NEXT, "97", "98", "96.50", "97", volume="1000")

    # Then the remaining 5 fill at that open, as a market order would
    decision = on_bar(order, bar, CAPPED, AAPL)
    assert (decision.fill_quantity, decision.fill_price) == (Decimal("5"), Decimal("97"))

"""Position arithmetic: average cost on the way in, realized PnL on the way out."""

from __future__ import annotations

from decimal import Decimal

from redfire_core.domain.orders import Side
from redfire_core.domain.positions import Position
from tests.unit.factories import a_fill, a_position

BUY, SELL = Side.BUY, Side.SELL


def held(position: Position) -> tuple[Decimal, Decimal, Decimal]:
    """Quantity, average cost and realized PnL: what a fill changes."""
    return position.quantity, position.average_cost, position.realized_pnl


def decimals(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


def test_a_buy_from_flat_opens_a_long_at_the_fill_price() -> None:
    # Given no position, when 10 are bought at 100
    position = a_position().apply(a_fill(BUY, "10", "100"))

    # Then the position is long 10 at a cost of 100 with nothing realized
    assert held(position) == decimals("10", "100", "0")


def test_a_sell_from_flat_opens_a_short_at_the_fill_price() -> None:
    # Given no position, when 5 are sold at 50.50
    position = a_position().apply(a_fill(SELL, "5", "50.50"))

    # Then the position is short 5 at 50.50
    assert (position.quantity, position.average_cost) == (Decimal("-5"), Decimal("50.50"))


def test_adding_to_a_long_moves_the_average_cost_by_quantity_weight() -> None:
    # Given long 10 at 100, when 30 more are bought at 104
    position = a_position("10", "100").apply(a_fill(BUY, "30", "104"))

    # Then the cost is (1000 + 3120) / 40 and nothing is realized
    assert held(position) == decimals("40", "103", "0")


def test_adding_to_a_short_moves_the_average_cost_by_quantity_weight() -> None:
    # Given short 10 at 100, when 10 more are sold at 90
    position = a_position("-10", "100").apply(a_fill(SELL, "10", "90"))

    # Then the position is short 20 at 95
    assert held(position)[:2] == decimals("-20", "95")


def test_a_partial_close_of_a_long_realizes_pnl_and_keeps_the_cost() -> None:
    # Given long 10 at 100, when 4 are sold at 110
    position = a_position("10", "100").apply(a_fill(SELL, "4", "110"))

    # Then 4 * 10 is realized and the remaining 6 still cost 100
    assert held(position) == decimals("6", "100", "40")


def test_a_partial_close_of_a_short_realizes_pnl_with_the_sign_of_a_short() -> None:
    # Given short 10 at 100, when 4 are bought back at 110
    position = a_position("-10", "100").apply(a_fill(BUY, "4", "110"))

    # Then the short lost 4 * 10, and the rest still costs 100
    assert held(position) == decimals("-6", "100", "-40")


def test_a_fill_through_zero_closes_at_cost_and_opens_the_rest_at_the_fill_price() -> None:
    # Given long 10 at 100, when 15 are sold at 120
    position = a_position("10", "100").apply(a_fill(SELL, "15", "120"))

    # Then the 10 long are closed for +200 and a short of 5 is opened at 120
    assert held(position) == decimals("-5", "120", "200")


def test_a_buy_through_zero_flips_a_short_into_a_long() -> None:
    # Given short 10 at 100, when 12 are bought at 90
    position = a_position("-10", "100").apply(a_fill(BUY, "12", "90"))

    # Then the short is closed for +100 and a long of 2 is opened at 90
    assert held(position) == decimals("2", "90", "100")


def test_closing_to_flat_realizes_everything_and_clears_the_cost() -> None:
    # Given long 10 at 100 with 5 realized earlier, when all 10 are sold at 97.50
    position = a_position("10", "100", realized="5").apply(a_fill(SELL, "10", "97.50"))

    # Then the position is flat, has no cost, and realized a further -25
    assert held(position) == decimals("0", "0", "-20")


def test_a_round_trip_back_to_flat_realizes_exactly_the_cash_it_made() -> None:
    # Given 1 bought at 1 and 2 bought at 2 (cost 5)
    position = a_position().apply(a_fill(BUY, "1", "1")).apply(a_fill(BUY, "2", "2"))

    # When all 3 are sold at 3 (proceeds 9)
    closed = position.apply(a_fill(SELL, "3", "3"))

    # Then exactly 9 - 5 = 4 is realized
    assert closed.realized_pnl == Decimal("4")


def test_each_fill_moves_the_position_version_by_one() -> None:
    # Given a new position, when two fills are applied
    position = a_position().apply(a_fill(BUY, "1", "1")).apply(a_fill(BUY, "1", "2"))

    # Then its version is 2
    assert position.version == 2


def test_the_unrealized_pnl_of_a_long_rises_with_the_price() -> None:
    # Given long 10 at 100, then at 103 it is up 30 and worth 1030
    position = a_position("10", "100")
    price = Decimal("103")
    assert (position.unrealized_pnl(price), position.market_value(price)) == decimals("30", "1030")


def test_the_unrealized_pnl_of_a_short_falls_with_the_price() -> None:
    # Given short 10 at 100, then at 103 it is down 30 and its market value is negative
    position = a_position("-10", "100")
    price = Decimal("103")
    assert (position.unrealized_pnl(price), position.market_value(price)) == decimals(
        "-30", "-1030"
    )

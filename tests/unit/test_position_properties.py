"""Properties of position and cash arithmetic over any sequence of fills.

Prices and quantities have few decimal places, so sums and products are exact in
Decimal; only the average cost involves a division.
"""

from __future__ import annotations

from decimal import Decimal, Inexact, localcontext

from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from redfire_core.domain.orders import Side
from redfire_core.domain.positions import Fill, Position
from tests.unit.factories import a_fill, a_position, an_account

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)
# The average cost is a quotient rounded to 28 significant digits; over 30 fills of up
# to 100 at up to 1,000 that drifts by far less than this (and by far less than a cent).
ROUNDING_TOLERANCE = Decimal("1e-15")

prices = st.decimals(min_value="0.01", max_value="1000", places=2)
fills = st.builds(
    a_fill,
    st.sampled_from(Side),
    st.integers(min_value=1, max_value=100).map(Decimal),
    prices,
    commission=st.decimals(min_value="0", max_value="5", places=2),
)
fill_lists = st.lists(fills, min_size=1, max_size=30)
# Buy 1 @ 1 then 2 @ 2: an average cost of 5/3, which no Decimal holds exactly.
AVERAGE_OF_FIVE_THIRDS = [a_fill(Side.BUY, "1", "1"), a_fill(Side.BUY, "2", "2")]


def applied(fills: list[Fill]) -> Position:
    position = a_position()
    for fill in fills:
        position = position.apply(fill)
    return position


def mark_to_market(fills: list[Fill], price: Decimal) -> Decimal:
    """What the fills are worth at ``price``: each one's gain since it traded."""
    return sum(((price - f.price) * f.signed_quantity for f in fills), Decimal(0))


@st.composite
def exact_cost_fills(draw: st.DrawFn) -> list[Fill]:
    """Fills walking the position through sizes 0, ±1, ±2, ±4: every average cost is a
    quotient by a power of two, so it has a finite decimal expansion that fits 28 digits."""
    targets = draw(st.lists(st.sampled_from([-4, -2, -1, 0, 1, 2, 4]), min_size=1, max_size=6))
    result, held = [], 0
    for target in targets:
        change = target - held
        if change:
            side = Side.BUY if change > 0 else Side.SELL
            result.append(a_fill(side, Decimal(abs(change)), draw(prices)))
        held = target
    return result


@PROPERTY_SETTINGS
@given(fills=fill_lists)
def test_the_final_quantity_is_the_sum_of_signed_fill_quantities(fills: list[Fill]) -> None:
    # Given any fills, when they are applied, then the position is their signed sum
    assert applied(fills).quantity == sum((f.signed_quantity for f in fills), Decimal(0))


@PROPERTY_SETTINGS
@given(data=st.data(), fills=fill_lists)
def test_applying_fills_in_any_order_gives_the_same_final_quantity(
    data: st.DataObject, fills: list[Fill]
) -> None:
    # Given any fills and any reordering of them
    shuffled = data.draw(st.permutations(fills))

    # Then both orders end with the same position size
    assert applied(shuffled).quantity == applied(fills).quantity


@PROPERTY_SETTINGS
@given(fills=fill_lists, price=prices)
def test_realized_plus_unrealized_pnl_is_the_mark_to_market_of_every_fill_within_rounding(
    fills: list[Fill], price: Decimal
) -> None:
    # Given any fills, when they are applied
    position = applied(fills)

    # Then realized + unrealized PnL at any price is what the fills gained since they traded
    # (to within the rounding of the average cost to 28 digits)
    total = position.realized_pnl + position.unrealized_pnl(price)
    assert abs(total - mark_to_market(fills, price)) <= ROUNDING_TOLERANCE


@settings(PROPERTY_SETTINGS, phases=[Phase.explicit, Phase.generate])  # fail fast, no shrink
@example(fills=AVERAGE_OF_FIVE_THIRDS, price=Decimal("3"))
@given(fills=fill_lists, price=prices)
def test_realized_plus_unrealized_pnl_is_exactly_the_mark_to_market_of_every_fill(
    fills: list[Fill], price: Decimal
) -> None:
    # Given any fills, when they are applied
    position = applied(fills)

    # Then realized + unrealized PnL at any price equals, to the last digit, the fills' gains
    assert position.realized_pnl + position.unrealized_pnl(price) == mark_to_market(fills, price)


@PROPERTY_SETTINGS
@given(fills=exact_cost_fills(), price=prices)
def test_realized_plus_unrealized_pnl_is_exact_when_the_average_cost_is(
    fills: list[Fill], price: Decimal
) -> None:
    # Given fills whose average costs are exact, applied with inexact arithmetic trapped
    with localcontext() as context:
        context.traps[Inexact] = True
        position = applied(fills)
        total = position.realized_pnl + position.unrealized_pnl(price)

    # Then the identity holds to the last digit
    assert total == mark_to_market(fills, price)


@PROPERTY_SETTINGS
@given(fills=fill_lists)
def test_the_cash_moved_is_minus_the_signed_notional_less_commissions(fills: list[Fill]) -> None:
    # Given an account, when any fills are applied to it
    start = an_account("100000")
    account = start
    for fill in fills:
        account = account.apply(fill, Decimal(0))

    # Then cash moved by -(sum of signed quantity * price) - commissions
    notional = sum((f.signed_quantity * f.price for f in fills), Decimal(0))
    commissions = sum((f.commission for f in fills), Decimal(0))
    assert account.cash - start.cash == -notional - commissions
    assert account.commissions == commissions


@PROPERTY_SETTINGS
@given(fills=fill_lists)
def test_a_flat_position_has_no_cost_and_an_open_one_a_positive_cost(fills: list[Fill]) -> None:
    # Given any fills, after each one is applied
    position = a_position()
    for fill in fills:
        position = position.apply(fill)

        # Then a flat position carries no cost and an open one costs more than nothing
        if position.quantity == 0:
            assert position.average_cost == 0
        else:
            assert position.average_cost > 0


@PROPERTY_SETTINGS
@given(fills=fill_lists)
def test_realized_pnl_changes_only_when_a_position_is_reduced(fills: list[Fill]) -> None:
    # Given any fills, after each one is applied
    position = a_position()
    for fill in fills:
        before = position
        position = position.apply(fill)

        # Then a fill that grows the position (or opens it) realizes nothing
        grows = before.quantity == 0 or (before.quantity > 0) == (fill.signed_quantity > 0)
        if grows:
            assert position.realized_pnl == before.realized_pnl

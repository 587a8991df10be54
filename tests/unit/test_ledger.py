"""The cash ledger: a fill is a trade line and, when charged, a commission line; the
lines of a fill move cash exactly as the fill does."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from redfire_core.domain.ledger import ActivityType, deposit, fill_activities
from redfire_core.domain.orders import Side
from redfire_core.domain.positions import Fill
from tests.unit.factories import T0, a_fill


def amounts(fill: Fill) -> list[tuple[ActivityType, Decimal]]:
    return [(line.type, line.amount) for line in fill_activities(fill)]


def test_a_buy_is_a_debit_of_its_notional_and_a_debit_of_its_commission() -> None:
    # Given a buy of 10 at 101.25 paying 1.05
    fill = a_fill(Side.BUY, "10", "101.25", commission="1.05")

    # Then the ledger takes 1012.50 for the trade and 1.05 for the commission
    assert amounts(fill) == [
        (ActivityType.FILL, Decimal("-1012.50")),
        (ActivityType.COMMISSION, Decimal("-1.05")),
    ]


def test_a_sell_is_a_credit_of_its_notional_and_a_debit_of_its_commission() -> None:
    # Given a sell of 10 at 101.25 paying 1.05
    fill = a_fill(Side.SELL, "10", "101.25", commission="1.05")

    # Then the ledger credits 1012.50 and takes 1.05
    assert amounts(fill) == [
        (ActivityType.FILL, Decimal("1012.50")),
        (ActivityType.COMMISSION, Decimal("-1.05")),
    ]


def test_a_fill_without_commission_has_no_commission_line() -> None:
    # Given a fill that paid nothing, then it is a single trade line
    assert amounts(a_fill(Side.BUY, "2", "50")) == [(ActivityType.FILL, Decimal("-100"))]


def test_the_lines_of_a_fill_are_named_after_its_trade() -> None:
    # Given a fill with trade id t-9, then its lines derive their ids from it (a rewrite of
    # the same fill writes the same lines) and point back at the trade and order
    lines = fill_activities(a_fill(Side.BUY, "1", "10", commission="0.01", trade_id="t-9"))
    assert [line.id for line in lines] == ["t-9-fill", "t-9-commission"]
    assert {(line.trade_id, line.order_id, line.symbol, line.at) for line in lines} == {
        ("t-9", "01JD0000000000000000000001", "AAPL", T0)
    }


def test_a_deposit_is_a_credit_named_after_its_reference() -> None:
    # Given a deposit of 5,000 with reference d-1, then it is one credit line
    line = deposit("acct-1", Decimal("5000"), T0, "d-1")
    assert (line.id, line.type, line.amount) == (
        "deposit-d-1",
        ActivityType.DEPOSIT,
        Decimal("5000"),
    )


@settings(max_examples=100, deadline=None)
@given(
    side=st.sampled_from(Side),
    quantity=st.decimals(min_value="0.0001", max_value="10000", places=4),
    price=st.decimals(min_value="0.01", max_value="100000", places=2),
    commission=st.decimals(min_value="0", max_value="50", places=8),
)
def test_the_lines_of_any_fill_sum_to_its_cash_delta(
    side: Side, quantity: Decimal, price: Decimal, commission: Decimal
) -> None:
    # Given any fill, when it is written to the ledger
    fill = a_fill(side, quantity, price, commission=commission)

    # Then its signed lines add up to exactly what the fill does to cash
    assert sum((line.amount for line in fill_activities(fill)), Decimal(0)) == fill.cash_delta

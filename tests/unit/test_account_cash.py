"""Cash moves against every fill, and the commission is always paid."""

from __future__ import annotations

from decimal import Decimal

from redfire_core.domain.orders import Side
from tests.unit.factories import a_fill, an_account


def test_a_buy_has_a_positive_signed_quantity_and_a_sell_a_negative_one() -> None:
    # Given a buy and a sell of 3, then their signed quantities are +3 and -3
    assert a_fill(Side.BUY, "3", "10").signed_quantity == Decimal("3")
    assert a_fill(Side.SELL, "3", "10").signed_quantity == Decimal("-3")


def test_a_buy_takes_its_cost_and_commission_out_of_cash() -> None:
    # Given cash of 10,000, when 10 are bought at 101.25 paying 1.00 commission
    account = an_account("10000").apply(
        a_fill(Side.BUY, "10", "101.25", commission="1.00"), Decimal(0)
    )

    # Then cash falls by 1012.50 + 1.00
    assert account.cash == Decimal("8986.50")


def test_a_sell_adds_its_proceeds_less_commission_to_cash() -> None:
    # Given cash of 10,000, when 10 are sold at 101.25 paying 1.00 commission
    account = an_account("10000").apply(
        a_fill(Side.SELL, "10", "101.25", commission="1.00"), Decimal(0)
    )

    # Then cash rises by 1012.50 - 1.00
    assert account.cash == Decimal("11011.50")


def test_commissions_and_realized_pnl_accumulate_on_the_account() -> None:
    # Given an account, when two fills with commissions and realized PnL are applied
    account = (
        an_account()
        .apply(a_fill(Side.BUY, "1", "10", commission="0.35"), Decimal(0))
        .apply(a_fill(Side.SELL, "1", "12", commission="0.40"), Decimal("2"))
    )

    # Then both totals add up and the version moved twice
    assert (account.commissions, account.realized_pnl, account.version) == (
        Decimal("0.75"),
        Decimal("2"),
        3,
    )


def test_a_fill_without_commission_moves_cash_by_exactly_the_notional() -> None:
    # Given a fill with zero commission, then its cash delta is minus the signed notional
    assert a_fill(Side.BUY, "2", "50.05").cash_delta == Decimal("-100.10")

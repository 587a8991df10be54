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


def test_a_cash_account_can_spend_its_cash_less_what_open_orders_hold() -> None:
    # Given 10,000 of cash with 2,500 held for open orders
    account = an_account("10000", reserved="2500")

    # Then its buying power is 7,500, whatever its positions are worth
    assert account.buying_power(Decimal("50000"), Decimal("40000")) == Decimal("7500")


def test_a_margin_account_can_spend_leveraged_equity_less_exposure_and_holds() -> None:
    # Given 2x leverage, 30,000 of equity, 45,000 of gross exposure and 5,000 held
    account = an_account("10000", margin_enabled=True, leverage="2", reserved="5000")

    # Then buying power is 60,000 - 45,000 - 5,000
    assert account.buying_power(Decimal("30000"), Decimal("45000")) == Decimal("10000")


def test_reserving_holds_cash_and_a_negative_reservation_releases_it() -> None:
    # Given an account, when 1,000 is held and then 400 released
    account = an_account().reserve(Decimal("1000")).reserve(Decimal("-400"))

    # Then 600 is held, cash is untouched and each change moved the version
    assert (account.reserved, account.cash, account.version) == (
        Decimal("600"),
        Decimal("100000"),
        3,
    )


def test_a_fill_releases_the_reservation_it_frees_while_cash_pays_for_the_trade() -> None:
    # Given 1,000 held for a buy, when 4 fill at 99 freeing 400 of the hold
    account = an_account("10000", reserved="1000").apply(
        a_fill(Side.BUY, "4", "99"), Decimal(0), released=Decimal("400")
    )

    # Then 600 stays held and cash paid the 396 actually traded
    assert (account.reserved, account.cash) == (Decimal("600"), Decimal("9604"))

"""Executions on an order: cumulative quantity, volume-weighted average price, no overfill."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from redfire_core.domain.errors import DomainError, InvalidTransition
from redfire_core.domain.orders import OrderStatus
from tests.unit.factories import T0, an_order

LATER = T0 + timedelta(seconds=30)


def test_a_fill_that_arrives_before_acceptance_is_applied() -> None:
    # Given a submitted order whose acceptance has not arrived yet
    order = an_order(quantity="10")

    # When a fill for part of it arrives first
    filled = order.fill(Decimal("4"), Decimal("100.00"), LATER)

    # Then the fill counts and the order is partially filled
    assert filled.status is OrderStatus.PARTIALLY_FILLED
    assert filled.filled_quantity == Decimal("4")


def test_fills_accumulate_the_filled_quantity() -> None:
    # Given an accepted order for 10
    order = an_order(quantity="10").accept(T0)

    # When 3 and then 4 are filled
    filled = order.fill(Decimal("3"), Decimal("100"), LATER).fill(
        Decimal("4"), Decimal("100"), LATER
    )

    # Then 7 are filled and 3 remain
    assert (filled.filled_quantity, filled.remaining_quantity) == (Decimal("7"), Decimal("3"))


def test_the_average_fill_price_is_weighted_by_quantity() -> None:
    # Given an accepted order for 40
    order = an_order(quantity="40").accept(T0)

    # When 10 fill at 100 and 30 at 104
    filled = order.fill(Decimal("10"), Decimal("100"), LATER).fill(
        Decimal("30"), Decimal("104"), LATER
    )

    # Then the average is (1000 + 3120) / 40
    assert filled.average_fill_price == Decimal("103")


def test_the_first_fill_sets_the_average_to_its_price() -> None:
    # Given an accepted order, when one partial fill arrives
    filled = an_order(quantity="10").accept(T0).fill(Decimal("2"), Decimal("101.25"), LATER)

    # Then the average is that fill's price
    assert filled.average_fill_price == Decimal("101.25")


def test_filling_the_remaining_quantity_completes_the_order() -> None:
    # Given a partially filled order
    order = an_order(quantity="10").accept(T0).fill(Decimal("6"), Decimal("100"), LATER)

    # When the remaining 4 fill
    filled = order.fill(Decimal("4"), Decimal("100"), LATER)

    # Then the order is filled and nothing remains
    assert filled.status is OrderStatus.FILLED
    assert filled.remaining_quantity == 0
    assert filled.is_final


def test_each_fill_moves_the_version_by_one() -> None:
    # Given an accepted order at version 2
    order = an_order(quantity="10").accept(T0)

    # When two fills are applied
    filled = order.fill(Decimal("1"), Decimal("100"), LATER).fill(
        Decimal("1"), Decimal("100"), LATER
    )

    # Then the version moved twice
    assert (order.version, filled.version) == (2, 4)


def test_a_fill_larger_than_the_remaining_quantity_is_refused_as_overfill() -> None:
    # Given an order with 3 remaining
    order = an_order(quantity="10").accept(T0).fill(Decimal("7"), Decimal("100"), LATER)

    # When a fill of 4 arrives
    with pytest.raises(DomainError) as refused:
        order.fill(Decimal("4"), Decimal("100"), LATER)

    # Then it is refused with ORDER_OVERFILL
    assert refused.value.code == "ORDER_OVERFILL"


@pytest.mark.parametrize("quantity", ["0", "-1"])
def test_a_fill_of_nothing_or_less_is_refused(quantity: str) -> None:
    # Given an accepted order, when a fill of zero or a negative quantity arrives
    with pytest.raises(DomainError) as refused:
        an_order().accept(T0).fill(Decimal(quantity), Decimal("100"), LATER)

    # Then it is refused
    assert refused.value.code == "ORDER_OVERFILL"


def test_a_fill_on_a_filled_order_is_refused_as_overfill() -> None:
    # Given a completely filled order, when a duplicate fill of the full quantity arrives
    filled = an_order(quantity="5").accept(T0).fill(Decimal("5"), Decimal("100"), LATER)

    # Then nothing remains to fill, so it is refused
    with pytest.raises(DomainError) as refused:
        filled.fill(Decimal("5"), Decimal("100"), LATER)
    assert refused.value.code == "ORDER_OVERFILL"


def test_a_fill_on_a_canceled_order_is_refused() -> None:
    # Given a canceled order with nothing filled
    canceled = an_order(quantity="5").accept(T0).transition(OrderStatus.CANCELED, T0)

    # When a fill arrives, then the order refuses to leave its final status
    with pytest.raises(InvalidTransition):
        canceled.fill(Decimal("1"), Decimal("100"), LATER)


def test_a_fill_while_a_cancel_is_pending_is_applied() -> None:
    # Given an accepted order whose cancel is pending
    pending = an_order(quantity="5").accept(T0).transition(OrderStatus.PENDING_CANCEL, T0)

    # When the exchange fills it before the cancel lands
    filled = pending.fill(Decimal("5"), Decimal("100"), LATER)

    # Then the fill wins
    assert filled.status is OrderStatus.FILLED

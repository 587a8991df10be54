"""Executions on an order: cumulative quantity and notional, commission, the reservation
released, no overfill; closing and updating a working order."""

from __future__ import annotations

from dataclasses import replace
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


def test_a_partial_fill_while_a_cancel_is_pending_keeps_the_cancel_pending() -> None:
    # Given an order for 5 whose cancel is pending
    pending = an_order(quantity="5").accept(T0).transition(OrderStatus.PENDING_CANCEL, T0)

    # When 2 fill before the cancel lands
    filled = pending.fill(Decimal("2"), Decimal("100"), LATER)

    # Then the 2 count and the cancel is still pending for the other 3
    assert (filled.status, filled.filled_quantity) == (OrderStatus.PENDING_CANCEL, Decimal("2"))


def test_a_partial_fill_while_a_replace_is_pending_keeps_the_replace_pending() -> None:
    # Given an order for 5 whose replace is pending
    pending = an_order(quantity="5").accept(T0).transition(OrderStatus.PENDING_REPLACE, T0)

    # When 2 fill before the replacement is accepted
    filled = pending.fill(Decimal("2"), Decimal("100"), LATER)

    # Then the 2 count and the replace is still pending
    assert (filled.status, filled.filled_quantity) == (OrderStatus.PENDING_REPLACE, Decimal("2"))


def test_fills_accumulate_notional_and_commission() -> None:
    # Given an accepted order for 10
    order = an_order(quantity="10").accept(T0)

    # When 4 fill at 100.10 paying 0.40 and 6 at 100.20 paying 0.60
    filled = order.fill(Decimal("4"), Decimal("100.10"), LATER, Decimal("0.40")).fill(
        Decimal("6"), Decimal("100.20"), LATER, Decimal("0.60")
    )

    # Then the order has traded 1001.60 of notional and paid 1.00
    assert (filled.filled_notional, filled.commission) == (Decimal("1001.60"), Decimal("1.00"))


def test_a_fill_releases_its_share_of_the_reservation() -> None:
    # Given an order for 10 accepted with 1,000 reserved
    order = an_order(quantity="10").accept(T0, reserved=Decimal("1000"))

    # When 4 fill
    filled = order.fill(Decimal("4"), Decimal("99"), LATER)

    # Then 4/10 of the reservation is released and 600 stays held
    assert order.reservation_released_by(Decimal("4")) == Decimal("400")
    assert filled.reserved == Decimal("600")


def test_the_releases_of_partial_fills_add_up_to_the_reservation_exactly() -> None:
    # Given an order for 3 with 100 reserved, which no third divides exactly
    order = an_order(quantity="3").accept(T0, reserved=Decimal("100"))

    # When it fills one unit at a time
    released = []
    for _ in range(3):
        released.append(order.reservation_released_by(Decimal("1")))
        order = order.fill(Decimal("1"), Decimal("99"), LATER)

    # Then each release is rounded, yet together they are the reservation to the last digit
    assert released[0] == Decimal("33.333333333333")
    assert sum(released, Decimal(0)) == Decimal("100")
    assert order.reserved == 0


def test_filling_the_remainder_releases_all_that_is_still_reserved() -> None:
    # Given an order with 7 of 10 filled still holding an amount finer than the 12 places a
    # partial release is rounded to
    order = replace(
        an_order(quantity="10").accept(T0).fill(Decimal("7"), Decimal("100"), LATER),
        reserved=Decimal("300.0100000000001"),
    )

    # Then a fill of the last 3 releases all of it, leaving no residue
    assert order.reservation_released_by(Decimal("3")) == Decimal("300.0100000000001")
    assert order.fill(Decimal("3"), Decimal("100"), LATER).reserved == 0


@pytest.mark.parametrize("status", [OrderStatus.CANCELED, OrderStatus.EXPIRED])
def test_closing_an_order_releases_what_it_still_holds(status: OrderStatus) -> None:
    # Given a partly filled order still holding 600
    order = (
        an_order(quantity="10")
        .accept(T0, reserved=Decimal("1000"))
        .fill(Decimal("4"), Decimal("100"), LATER)
    )

    # When it is canceled or expires
    closed = order.close(status, LATER, {"code": "ORDER_CANCELED"})

    # Then it is final, holds nothing, and keeps the reason and its fills
    assert (closed.status, closed.reserved) == (status, Decimal(0))
    assert closed.reject_reason == {"code": "ORDER_CANCELED"}
    assert closed.filled_quantity == Decimal("4")


def test_closing_without_a_reason_keeps_the_earlier_one() -> None:
    # Given an order that carries a reason already
    order = replace(an_order().accept(T0), reject_reason={"code": "ORDER_REJECTED"})

    # When it is closed without a new reason, then the old one stays
    assert order.close(OrderStatus.CANCELED, LATER).reject_reason == {"code": "ORDER_REJECTED"}


def test_accepting_holds_the_reservation_given() -> None:
    # Given a submitted order, when it is accepted with 1,000.50 reserved, then it holds it
    assert an_order().accept(T0, reserved=Decimal("1000.50")).reserved == Decimal("1000.50")


def test_updating_working_state_keeps_the_status_and_moves_the_version() -> None:
    # Given an accepted order at version 2
    order = an_order().accept(T0)

    # When its working state changes (a stop is reached)
    updated = order.update(LATER, triggered=True)

    # Then it is still accepted, one version on, stamped with the time of the change
    assert (updated.status, updated.triggered) == (OrderStatus.ACCEPTED, True)
    assert (updated.version, updated.updated_at) == (3, LATER)


def test_a_final_order_refuses_a_working_state_update() -> None:
    # Given a filled order, when a late trail anchor update arrives, then it is refused
    filled = an_order(quantity="1").accept(T0).fill(Decimal("1"), Decimal("100"), LATER)
    with pytest.raises(InvalidTransition):
        filled.update(LATER, trail_reference=Decimal("101"))

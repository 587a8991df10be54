"""The order state machine: every move in TRANSITIONS is allowed, every other is refused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import product

import pytest

from redfire_core.domain.errors import InvalidTransition
from redfire_core.domain.orders import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    OrderStatus,
    can_transition,
)
from tests.unit.factories import T0, an_order

ALLOWED = sorted(
    (current, target) for current, targets in TRANSITIONS.items() for target in targets
)
REFUSED = sorted(set(product(OrderStatus, OrderStatus)) - set(ALLOWED))
LATER = T0 + timedelta(seconds=5)


def _ids(pairs: list[tuple[OrderStatus, OrderStatus]]) -> list[str]:
    return [f"{current}->{target}" for current, target in pairs]


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=_ids(ALLOWED))
def test_an_allowed_transition_moves_the_order_one_version_on(
    current: OrderStatus, target: OrderStatus
) -> None:
    # Given an order in the current status
    order = an_order(status=current, version=3)

    # When it moves to an allowed target
    moved = order.transition(target, LATER)

    # Then it is in the target status, one version later, stamped with the time of the move
    assert (moved.status, moved.version, moved.updated_at) == (target, 4, LATER)


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=_ids(REFUSED))
def test_a_transition_outside_the_table_is_refused(
    current: OrderStatus, target: OrderStatus
) -> None:
    # Given an order in the current status
    order = an_order(status=current)

    # When it is asked to move anywhere the table does not allow
    with pytest.raises(InvalidTransition) as refused:
        order.transition(target, LATER)

    # Then the refusal names the stable code and both statuses
    assert refused.value.code == "ORDER_INVALID_TRANSITION"
    assert (refused.value.current, refused.value.target) == (current, target)


@pytest.mark.parametrize(
    ("final", "target"),
    sorted(product(FINAL_STATUSES, OrderStatus)),
    ids=_ids(sorted(product(FINAL_STATUSES, OrderStatus))),
)
def test_a_final_order_never_moves(final: OrderStatus, target: OrderStatus) -> None:
    # Given an order in a final status
    order = an_order(status=final)

    # When anything at all happens to it, then it refuses
    assert not can_transition(final, target)
    with pytest.raises(InvalidTransition):
        order.transition(target, LATER)


def test_the_table_has_no_moves_out_of_final_statuses() -> None:
    # Given the transition table, then only open statuses have outgoing moves
    assert set(TRANSITIONS) <= OPEN_STATUSES
    assert not set(TRANSITIONS) & FINAL_STATUSES


def test_every_open_status_can_still_reach_a_final_status() -> None:
    # Given every open status, then at least one move leads to a final status (no dead ends)
    for status in OPEN_STATUSES:
        assert TRANSITIONS[status] & FINAL_STATUSES, status


def test_a_refused_transition_leaves_the_order_untouched() -> None:
    # Given a canceled order
    order = an_order(status=OrderStatus.CANCELED, version=7)

    # When a late acceptance arrives
    with pytest.raises(InvalidTransition):
        order.accept(LATER)

    # Then the order is exactly what it was
    assert order == an_order(status=OrderStatus.CANCELED, version=7)


def test_accepting_records_when_the_order_was_accepted() -> None:
    # Given a submitted order, when it is accepted
    accepted = an_order().accept(LATER)

    # Then it is accepted as of that moment
    assert (accepted.status, accepted.accepted_at) == (OrderStatus.ACCEPTED, LATER)


def test_denying_keeps_the_first_reason_as_the_headline() -> None:
    # Given a submitted order and two risk reasons
    reasons = [{"code": "RISK_MAX_NOTIONAL"}, {"code": "RISK_BUYING_POWER"}]

    # When it is denied
    denied = an_order().deny(reasons, LATER)

    # Then it is denied with the first reason
    assert denied.status is OrderStatus.DENIED
    assert denied.reject_reason == {"code": "RISK_MAX_NOTIONAL"}


def test_an_accepted_order_cannot_be_denied_later() -> None:
    # Given an accepted order, when a (reordered) denial arrives, then it is refused
    with pytest.raises(InvalidTransition):
        an_order().accept(T0).deny([{"code": "RISK_MAX_NOTIONAL"}], LATER)


def test_a_duplicate_acceptance_is_refused() -> None:
    # Given an accepted order, when the same acceptance is delivered again, then it is refused
    with pytest.raises(InvalidTransition):
        an_order().accept(T0).accept(LATER)


def test_a_pending_cancel_can_stay_pending_but_not_fall_back_to_partially_filled() -> None:
    # Given the transition table, then a pending cancel loops on itself (a partial fill)
    # and never returns to a working status
    assert can_transition(OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_CANCEL)
    assert not can_transition(OrderStatus.PENDING_CANCEL, OrderStatus.PARTIALLY_FILLED)
    assert not can_transition(OrderStatus.PENDING_CANCEL, OrderStatus.ACCEPTED)


def test_a_pending_replace_can_stay_pending_through_a_partial_fill() -> None:
    # Given the transition table, then a pending replace loops on itself
    assert can_transition(OrderStatus.PENDING_REPLACE, OrderStatus.PENDING_REPLACE)


@pytest.mark.parametrize(
    "working", [OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED]
)
def test_a_cancel_can_be_requested_for_any_working_order(working: OrderStatus) -> None:
    # Given a working order, then it may move to pending_cancel
    assert can_transition(working, OrderStatus.PENDING_CANCEL)


def test_a_replace_cannot_be_requested_before_acceptance() -> None:
    # Given a submitted order, then it cannot be pending a replace yet
    assert not can_transition(OrderStatus.SUBMITTED, OrderStatus.PENDING_REPLACE)


def test_a_duplicate_acceptance_while_a_replace_is_pending_is_refused() -> None:
    # Given an accepted order holding 1,000 whose replace is pending
    pending = (
        an_order().accept(T0, reserved=Decimal("1000")).transition(OrderStatus.PENDING_REPLACE, T0)
    )

    # When the acceptance is delivered again, then it is refused like any duplicate
    with pytest.raises(InvalidTransition):
        pending.accept(LATER)

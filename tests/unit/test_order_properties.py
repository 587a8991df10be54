"""Properties of the order lifecycle under any delivery of its events.

Events reach the order service at least once and in any order, so the reducer below
feeds arbitrary sequences (duplicates and reorderings included) through the state
machine, ignoring the refusals a real consumer ignores: an illegal transition and an
overfill. The lifecycle covers acceptance with a reservation, fills with commission,
cancel and replace requests (with fills racing them), and every way an order closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from redfire_core.domain.errors import DomainError, InvalidTransition
from redfire_core.domain.orders import FINAL_STATUSES, Order, OrderStatus
from tests.unit.factories import T0, an_order

IGNORED_REFUSALS = {"ORDER_INVALID_TRANSITION", "ORDER_OVERFILL"}
LOT = Decimal("0.5")
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)
PENDING = frozenset({OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE})

reservations = st.decimals(min_value="0.00000001", max_value="1000000", places=8)


@dataclass(frozen=True)
class Accept:
    reserved: Decimal


@dataclass(frozen=True)
class Deny:
    pass


@dataclass(frozen=True)
class Fill:
    quantity: Decimal
    price: Decimal
    commission: Decimal = Decimal(0)


@dataclass(frozen=True)
class RequestCancel:
    pass


@dataclass(frozen=True)
class RequestReplace:
    pass


@dataclass(frozen=True)
class RefuseReplace:
    """The replacement was denied: the original goes back to working."""


@dataclass(frozen=True)
class Close:
    """Canceled, expired, rejected or replaced: the unfilled part is released."""

    status: OrderStatus


@dataclass(frozen=True)
class MoveAnchor:
    price: Decimal


Event = Accept | Deny | Fill | RequestCancel | RequestReplace | RefuseReplace | Close | MoveAnchor


def _apply(order: Order, event: Event) -> Order:
    now = order.updated_at + timedelta(seconds=1)
    match event:
        case Accept(reserved):
            return order.accept(now, reserved=reserved)
        case Deny():
            return order.deny([{"code": "RISK_MAX_NOTIONAL"}], now)
        case Fill(quantity, price, commission):
            return order.fill(quantity, price, now, commission)
        case RequestCancel():
            return order.transition(OrderStatus.PENDING_CANCEL, now)
        case RequestReplace():
            return order.transition(OrderStatus.PENDING_REPLACE, now)
        case RefuseReplace():
            if order.status is not OrderStatus.PENDING_REPLACE:
                raise InvalidTransition(order.status, OrderStatus.ACCEPTED)
            working = (
                OrderStatus.PARTIALLY_FILLED if order.filled_quantity else OrderStatus.ACCEPTED
            )
            return order.transition(working, now)
        case Close(status):
            return order.close(status, now, {"code": f"ORDER_{status.value.upper()}"})
        case MoveAnchor(price):
            return order.update(now, trail_reference=price)
    raise AssertionError(f"unknown event {event!r}")


@dataclass(frozen=True)
class Step:
    before: Order
    event: Event
    after: Order
    applied: bool


def replay(order: Order, events: list[Event]) -> list[Step]:
    """Each event's effect; a refused event leaves the order as it was."""
    steps = []
    for event in events:
        try:
            after, applied = _apply(order, event), True
        except DomainError as refusal:
            if refusal.code not in IGNORED_REFUSALS:
                raise
            after, applied = order, False
        steps.append(Step(order, event, after, applied))
        order = after
    return steps


@st.composite
def splits(draw: st.DrawFn, max_lots: int = 20) -> list[int]:
    """The sizes (in lots) of fills that together fill an order of 1 to ``max_lots`` lots."""
    lots = draw(st.integers(min_value=1, max_value=max_lots))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=max(lots - 1, 1)))))
    bounds = [0, *(cut for cut in cuts if cut < lots), lots]
    return [high - low for low, high in pairwise(bounds)]


@st.composite
def lifecycles(draw: st.DrawFn) -> tuple[Order, list[Event]]:
    """An order and a delivery of its events.

    Produced once, plausibly: accepted first, then fills that together fill it, mixed
    with cancel/replace requests, closes, and strays (duplicate acceptances, late denials,
    refused replaces, anchor moves). Delivered at least once: each event once or twice,
    either in the order produced or shuffled.
    """
    sizes = draw(splits())
    accept = st.builds(Accept, reservations)
    prices = st.decimals(min_value="0.01", max_value="1000", places=2)
    commissions = st.decimals(min_value="0", max_value="5", places=8)
    fills = [Fill(size * LOT, draw(prices), draw(commissions)) for size in sizes]
    requests = st.sampled_from([RequestCancel(), RequestReplace()])
    closes = st.sampled_from(
        [OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED, OrderStatus.REPLACED]
    ).map(Close)
    strays: st.SearchStrategy[Event] = st.one_of(
        accept,
        st.sampled_from([Deny(), RefuseReplace()]),
        st.builds(MoveAnchor, prices),
    )
    rest = draw(
        st.permutations(
            [
                *fills,
                *draw(st.lists(requests, max_size=2)),
                *draw(st.lists(closes, max_size=2)),
                *draw(st.lists(strays, max_size=4)),
            ]
        )
    )
    produced = [draw(accept), *rest]
    # At least once: every event arrives, some twice; in the order produced or shuffled.
    copies = draw(st.lists(st.integers(1, 2), min_size=len(produced), max_size=len(produced)))
    delivery = [i for i, n in enumerate(copies) for _ in range(n)]
    if draw(st.booleans()):
        delivery = draw(st.permutations(delivery))
    order = an_order(quantity=sum(sizes) * LOT, limit_price="100.00")
    return order, [produced[i] for i in delivery]


@PROPERTY_SETTINGS
@given(lifecycle=lifecycles())
def test_no_delivery_of_events_moves_an_order_out_of_a_final_status(
    lifecycle: tuple[Order, list[Event]],
) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    for step in replay(*lifecycle):
        # Then once an order is final, nothing is applied to it any more
        if step.before.status in FINAL_STATUSES:
            assert not step.applied
            assert step.after == step.before


@PROPERTY_SETTINGS
@given(lifecycle=lifecycles())
def test_the_filled_quantity_never_exceeds_the_order_nor_decreases(
    lifecycle: tuple[Order, list[Event]],
) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    for step in replay(*lifecycle):
        # Then the filled quantity only grows, and never beyond the order quantity
        assert step.before.filled_quantity <= step.after.filled_quantity <= step.after.quantity


@PROPERTY_SETTINGS
@given(lifecycle=lifecycles())
def test_every_applied_change_moves_the_version_by_exactly_one(
    lifecycle: tuple[Order, list[Event]],
) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    for step in replay(*lifecycle):
        # Then an applied event adds one version and a refused one adds none
        assert step.after.version == step.before.version + (1 if step.applied else 0)


@PROPERTY_SETTINGS
@given(lifecycle=lifecycles())
def test_an_order_is_filled_exactly_when_its_whole_quantity_is(
    lifecycle: tuple[Order, list[Event]],
) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    for step in replay(*lifecycle):
        # Then the status is filled if and only if nothing remains
        order = step.after
        assert (order.status is OrderStatus.FILLED) == (order.filled_quantity == order.quantity)


@PROPERTY_SETTINGS
@given(lifecycle=lifecycles())
def test_the_average_fill_price_lies_between_the_lowest_and_highest_fill(
    lifecycle: tuple[Order, list[Event]],
) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    steps = replay(*lifecycle)
    prices = [s.event.price for s in steps if s.applied and isinstance(s.event, Fill)]

    # Then the volume-weighted average is within the range of the applied fills
    final = steps[-1].after
    if not prices:
        assert final.average_fill_price is None
    else:
        assert final.average_fill_price is not None
        assert min(prices) <= final.average_fill_price <= max(prices)


@PROPERTY_SETTINGS
@given(lifecycle=lifecycles())
def test_the_filled_quantity_and_commission_are_the_sums_of_the_applied_fills(
    lifecycle: tuple[Order, list[Event]],
) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    steps = replay(*lifecycle)

    # Then what is filled and paid is exactly what the applied fills added up to
    applied = [s.event for s in steps if s.applied and isinstance(s.event, Fill)]
    final = steps[-1].after
    assert final.filled_quantity == sum((f.quantity for f in applied), Decimal(0))
    assert final.commission == sum((f.commission for f in applied), Decimal(0))


@PROPERTY_SETTINGS
@given(lifecycle=lifecycles())
def test_the_reservation_is_never_negative(lifecycle: tuple[Order, list[Event]]) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    for step in replay(*lifecycle):
        # Then the order never holds less than nothing
        assert step.after.reserved >= 0


@PROPERTY_SETTINGS
@given(lifecycle=lifecycles())
def test_a_final_order_holds_no_reservation(lifecycle: tuple[Order, list[Event]]) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    for step in replay(*lifecycle):
        # Then an order that filled completely or was closed holds nothing back
        if step.after.is_final:
            assert step.after.reserved == 0


@PROPERTY_SETTINGS
@given(lifecycle=lifecycles())
def test_a_partial_fill_keeps_a_pending_cancel_or_replace_pending(
    lifecycle: tuple[Order, list[Event]],
) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    for step in replay(*lifecycle):
        # Then a fill that leaves something open does not drop a pending request
        partial = step.applied and isinstance(step.event, Fill) and not step.after.is_final
        if partial and step.before.status in PENDING:
            assert step.after.status is step.before.status


@PROPERTY_SETTINGS
@given(lifecycle=lifecycles())
def test_a_working_state_update_never_changes_the_status(
    lifecycle: tuple[Order, list[Event]],
) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    for step in replay(*lifecycle):
        # Then moving a trail anchor keeps the order in the status it was in
        if isinstance(step.event, MoveAnchor):
            assert step.after.status is step.before.status


@PROPERTY_SETTINGS
@given(sizes=splits(max_lots=40), reserved=reservations)
def test_the_releases_of_any_split_of_fills_add_up_to_the_reservation_exactly(
    sizes: list[int], reserved: Decimal
) -> None:
    # Given an order holding any reservation, filled in any split
    order = an_order(quantity=sum(sizes) * LOT).accept(T0, reserved=reserved)

    # When the fills arrive, each releasing its share of what is still held
    released = Decimal(0)
    for size in sizes:
        quantity = size * LOT
        released += order.reservation_released_by(quantity)
        order = order.fill(quantity, Decimal("100"), order.updated_at)

    # Then the releases add up to the reservation to the last digit, and nothing is held
    assert released == reserved
    assert (order.status, order.reserved) == (OrderStatus.FILLED, Decimal(0))


def test_the_reducer_ignores_a_late_fill_but_not_other_errors() -> None:
    # Given a denied order, when a fill arrives late, then the reducer skips it
    order = an_order(quantity="1")
    steps = replay(order, [Deny(), Fill(Decimal("1"), Decimal("100"))])
    assert [s.applied for s in steps] == [True, False]
    assert steps[-1].after.status is OrderStatus.DENIED
    assert steps[-1].after.updated_at > T0


def test_the_reducer_releases_the_reservation_when_a_pending_cancel_closes() -> None:
    # Given an accepted order holding 500, a cancel request, a partial fill and the cancel
    order = an_order(quantity="2")
    events: list[Event] = [
        Accept(Decimal("500")),
        RequestCancel(),
        Fill(Decimal("0.5"), Decimal("100")),
        Close(OrderStatus.CANCELED),
    ]

    # When they are replayed, then the fill kept the cancel pending and the close freed the rest
    steps = replay(order, events)
    assert [(s.after.status, s.after.reserved) for s in steps] == [
        (OrderStatus.ACCEPTED, Decimal("500")),
        (OrderStatus.PENDING_CANCEL, Decimal("500")),
        (OrderStatus.PENDING_CANCEL, Decimal("375")),
        (OrderStatus.CANCELED, Decimal("0")),
    ]

"""Properties of the order lifecycle under any delivery of its events.

Events reach the order service at least once and in any order, so the reducer below
feeds arbitrary sequences (duplicates and reorderings included) through the state
machine, ignoring the refusals a real consumer ignores: an illegal transition and an
overfill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import FINAL_STATUSES, Order, OrderStatus
from tests.unit.factories import T0, an_order

IGNORED_REFUSALS = {"ORDER_INVALID_TRANSITION", "ORDER_OVERFILL"}
LOT = Decimal("0.5")
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@dataclass(frozen=True)
class Accept:
    pass


@dataclass(frozen=True)
class Deny:
    pass


@dataclass(frozen=True)
class Fill:
    quantity: Decimal
    price: Decimal


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Expire:
    pass


Event = Accept | Deny | Fill | Cancel | Expire


def _apply(order: Order, event: Event) -> Order:
    now = order.updated_at + timedelta(seconds=1)
    if isinstance(event, Accept):
        return order.accept(now)
    if isinstance(event, Deny):
        return order.deny([{"code": "RISK_MAX_NOTIONAL"}], now)
    if isinstance(event, Fill):
        return order.fill(event.quantity, event.price, now)
    if isinstance(event, Cancel):
        return order.transition(OrderStatus.CANCELED, now)
    return order.transition(OrderStatus.EXPIRED, now)


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
def lifecycles(draw: st.DrawFn) -> tuple[Order, list[Event]]:
    """An order and a delivery of its events: drawn once, then repeated and shuffled."""
    lots = draw(st.integers(min_value=1, max_value=20))
    quantity = lots * LOT
    fills = st.builds(
        Fill,
        quantity=st.integers(min_value=1, max_value=lots).map(lambda n: n * LOT),
        price=st.decimals(min_value="0.01", max_value="1000", places=2),
    )
    simple: st.SearchStrategy[Event] = st.sampled_from([Accept(), Deny(), Cancel(), Expire()])
    produced = draw(st.lists(st.one_of(fills, fills, simple), min_size=1, max_size=10))
    delivery = draw(
        st.lists(st.integers(min_value=0, max_value=len(produced) - 1), min_size=1, max_size=30)
    )
    order = an_order(quantity=quantity, limit_price="100.00")
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
def test_the_filled_quantity_is_the_sum_of_the_applied_fills(
    lifecycle: tuple[Order, list[Event]],
) -> None:
    # Given any delivery of lifecycle events, when they are replayed
    steps = replay(*lifecycle)

    # Then what is filled is exactly what the applied fills added up to
    applied = [s.event.quantity for s in steps if s.applied and isinstance(s.event, Fill)]
    assert steps[-1].after.filled_quantity == sum(applied, Decimal(0))


def test_the_reducer_ignores_a_late_fill_but_not_other_errors() -> None:
    # Given a denied order, when a fill arrives late, then the reducer skips it
    order = an_order(quantity="1")
    steps = replay(order, [Deny(), Fill(Decimal("1"), Decimal("100"))])
    assert [s.applied for s in steps] == [True, False]
    assert steps[-1].after.status is OrderStatus.DENIED
    assert steps[-1].after.updated_at > T0

"""Parsing RFC 7240 ``Prefer: wait=N`` and the wait's backoff, without AWS."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from redfire_api.prefer import requested_wait
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import Order, OrderRequest, OrderStatus
from redfire_core.services.awaiting import await_decision


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["wait=1"], 1),
        (["wait=0"], 0),
        (["Wait = 2"], 2),
        (['wait="1"'], 1),
        (["respond-async, wait=2"], 2),
        (["handling=lenient", "wait=1;foo=bar"], 1),
        (["wait=3"], 2),
        (["wait=99999999999999999999999"], 2),
        (["wait=1.5"], None),
        (["wait=-1"], None),
        (["wait="], None),
        (["wait"], None),
        (["wait=\u0661"], None),  # a non-ASCII digit is not delta-seconds
        (["respond-async"], None),
        ([], None),
    ],
)
def test_the_wait_preference_is_whole_seconds_clamped_to_two(
    headers: list[str], expected: int | None
) -> None:
    assert requested_wait(headers) == expected


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Orders:
    """Answers ``submitted`` until ``decide_after`` reads, then ``accepted``."""

    def __init__(self, order: Order, decide_after: int) -> None:
        self.order, self.decide_after, self.reads = order, decide_after, 0

    def get_order(self, account_id: str, order_id: str) -> Order | None:
        assert (account_id, order_id) == (self.order.account_id, self.order.id)
        self.reads += 1
        if self.reads >= self.decide_after:
            return dataclasses.replace(self.order, status=OrderStatus.ACCEPTED)
        return self.order


def submitted() -> Order:
    request = OrderRequest.parse(
        {"symbol": "X", "side": "buy", "type": "market", "quantity": "1"},
        Instrument("X", "equity", "USD", Decimal("0.01"), Decimal("1"), Decimal("1"), 2),
    )
    order = Order.submit("o1", "acct", request, datetime(2026, 1, 2, tzinfo=UTC))
    assert order.status == OrderStatus.SUBMITTED and order.quantity == Decimal("1")
    return order


def test_a_wait_that_runs_out_backs_off_from_50_to_200_ms_and_stops_at_the_deadline() -> None:
    clock = FakeClock()
    orders = Orders(submitted(), decide_after=10**6)
    result = await_decision(orders, orders.order, 2, clock=clock, sleep=clock.sleep)
    assert result.status == OrderStatus.SUBMITTED
    assert clock.sleeps[:4] == [0.05, 0.1, 0.2, 0.2]
    assert sum(clock.sleeps) == pytest.approx(2.0)
    assert orders.reads == len(clock.sleeps) == 12


def test_the_wait_ends_at_the_first_read_that_sees_a_decision() -> None:
    clock = FakeClock()
    orders = Orders(submitted(), decide_after=3)
    result = await_decision(orders, orders.order, 2, clock=clock, sleep=clock.sleep)
    assert result.status == OrderStatus.ACCEPTED
    assert clock.sleeps == [0.05, 0.1, 0.2] and orders.reads == 3


def test_a_zero_wait_reads_nothing() -> None:
    clock = FakeClock()
    orders = Orders(submitted(), decide_after=1)
    assert await_decision(orders, orders.order, 0, clock=clock, sleep=clock.sleep).status == (
        OrderStatus.SUBMITTED
    )
    assert orders.reads == 0

"""Waiting for an order's pre-trade decision (``Prefer: wait=N`` on ``POST /v1/orders``).

The decision is made elsewhere (the risk function, after the outbox relay and the bus); the
caller that asked to wait re-reads the order by id, strongly consistent, with a short
backoff (50 ms doubling to 200 ms), until its status leaves ``submitted`` or the wait runs
out: at most 12 GetItem calls for a 2 s wait, never a busy loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from redfire_core.domain.orders import Order, OrderStatus

FIRST_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 0.2


class OrderReader(Protocol):
    def get_order(self, account_id: str, order_id: str) -> Order | None: ...


def pause(seconds: float) -> None:
    """Where the wait sleeps (tests replace it to step the pipeline instead)."""
    time.sleep(seconds)


def await_decision(
    store: OrderReader,
    order: Order,
    wait_seconds: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
    pending: OrderStatus = OrderStatus.SUBMITTED,
) -> Order:
    """``order`` as it stands once it is no longer ``pending`` (``submitted``: until the
    decision, accepted, denied or later), or as it still stands when ``wait_seconds`` have
    passed."""
    deadline = clock() + wait_seconds
    current = order
    delay = FIRST_DELAY_SECONDS
    while current.status == pending:
        left = deadline - clock()
        if left <= 0:
            break
        (sleep or pause)(min(delay, left))
        delay = min(delay * 2, MAX_DELAY_SECONDS)
        latest = store.get_order(order.account_id, order.id)
        if latest is None:  # never deleted; keep the answer we have rather than fail the POST
            break
        current = latest
    return current

"""Concurrent fills and duplicate submissions: versions and conditions lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.matching import Decision
from redfire_core.domain.orders import Order
from redfire_core.domain.positions import Account
from redfire_core.events import Envelope, OrderAccepted
from redfire_core.gateways import gateway_named
from redfire_core.services.execution import act, execution_of
from redfire_core.services.placing import place_order
from redfire_core.views import order_view
from tests.support.serialised_moto import serialised_aws_calls

FILLS = 50


def accepted_market_buy(store: TradingStore, quantity: str) -> Envelope:
    now = datetime.now(UTC)
    body = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": quantity}
    order = place_order(store, "demo", body, correlation_id="c", now=now).order
    accepted = order.accept(now)
    store.save_transition(order, accepted, [])
    return Envelope.wrap(
        OrderAccepted(order=order_view(accepted)),
        account_id="demo",
        correlation_id="c",
        occurred_at=now,
    )


def fill_at_latest(store: TradingStore, event: Envelope, now: datetime) -> str:
    """What the orders function does when a price reaches an accepted order: the gateway
    decides on fresh reads and the fill is one conditional transaction, retried on a race."""

    def decide(order: Order, account: Account, instrument: Instrument) -> Decision:
        latest = store.latest_price(order.symbol)
        assert latest is not None
        execution = execution_of(order, account)
        return gateway_named().on_accept(order, latest.price, execution, instrument)

    return act(store, "demo", str(event.payload["order"]["id"]), decide, event, now)


@pytest.mark.slow
def test_fifty_concurrent_fills_on_one_position_lose_nothing(seeded: TradingStore) -> None:
    # Given 50 accepted market buys of 1..50 GOOG at a latest price of 100.00
    events = [accepted_market_buy(seeded, str(n)) for n in range(1, FILLS + 1)]

    # When all are filled at once, each by its own handler invocation
    with serialised_aws_calls(), ThreadPoolExecutor(max_workers=FILLS) as pool:
        outcomes = list(pool.map(lambda e: fill_at_latest(seeded, e, datetime.now(UTC)), events))

    # Then every fill landed exactly once, in the position and in the cash
    total = Decimal(FILLS * (FILLS + 1) // 2)
    assert outcomes == ["filled"] * FILLS
    position = seeded.get_position("demo", "GOOG")
    assert position.quantity == total and position.version == FILLS
    assert position.cost_basis == total * Decimal("100.00")
    account = seeded.get_account("demo")
    assert account is not None
    assert account.cash == Decimal("100000") - total * Decimal("100.00")
    assert len(seeded.list_trades("demo", limit=1000).items) == FILLS
    ledger = seeded.list_activities("demo", limit=1000).items
    assert sum(line.amount for line in ledger) == account.cash


def test_concurrent_duplicate_submissions_create_exactly_one_order(seeded: TradingStore) -> None:
    body = {
        "symbol": "GOOG",
        "side": "buy",
        "type": "market",
        "quantity": "3",
        "client_order_id": "once",
    }

    def submit(_: int) -> tuple[str, bool]:
        placed = place_order(seeded, "demo", dict(body), correlation_id="c", now=datetime.now(UTC))
        return placed.order.id, placed.created

    with serialised_aws_calls(), ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(submit, range(10)))

    assert len({order_id for order_id, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    assert len(seeded.list_orders("demo", 100, None).items) == 1

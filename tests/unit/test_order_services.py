"""The order path's services on the in-memory ports: placing, the decision, execution
and managing, without moto (issue 14, Seams). The contract suite holds the in-memory
store to the DynamoDB adapter, so what passes here holds on the real tables too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.risk_store import PLATFORM
from redfire_core.domain.errors import DomainError
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.ledger import deposit
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.domain.positions import Account
from redfire_core.domain.risk import TradingState
from redfire_core.events import Envelope, MarketDataUpdated, iso
from redfire_core.ports import Overrides
from redfire_core.services import (
    execution,
    managing,
    placing,
    risk_control,
    risk_monitoring,
    risk_review,
)
from redfire_core.services.risk_review import SEQUENCE_GAP_WAIT_SECONDS, SequenceGap
from tests.support.books import assert_books
from tests.support.memory_store import InMemoryOrderStore, InMemoryRiskStore, memory_stores

# Order ids are ULIDs of the wall clock; the services' time is this (whole milliseconds).
NOW = datetime.now(UTC).replace(microsecond=0)
ACCOUNT = "acct-unit"
GOOG = Instrument("GOOG", "equity", "USD", Decimal("0.01"), Decimal(1), Decimal(1), 2, True, "24/7")


@pytest.fixture
def stores() -> Iterator[tuple[InMemoryOrderStore, InMemoryRiskStore]]:
    store, risk = memory_stores()
    store.put_instrument(GOOG)
    opening = deposit(ACCOUNT, Decimal("100000"), NOW, "opening")
    store.create_account(Account(ACCOUNT, "USD", Decimal("100000"), NOW), [opening])
    store.set_latest_price("GOOG", Decimal("100"), NOW)
    yield store, risk


@pytest.fixture
def store(stores: tuple[InMemoryOrderStore, InMemoryRiskStore]) -> InMemoryOrderStore:
    return stores[0]


def body(**changes: Any) -> dict[str, Any]:
    return {
        "symbol": "GOOG",
        "side": "buy",
        "type": "limit",
        "quantity": "10",
        "limit_price": "95.00",
        "time_in_force": "gtc",
        **changes,
    }


def place(store: InMemoryOrderStore, at: datetime = NOW, **changes: Any) -> Order:
    return placing.place_order(store, ACCOUNT, body(**changes), correlation_id="c", now=at).order


def submitted_event(store: InMemoryOrderStore, order: Order) -> Envelope:
    return next(
        e
        for e in store.events
        if e.type == "OrderSubmitted" and e.payload["order"]["id"] == order.id
    )


def decide(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
    order: Order,
    at: datetime = NOW,
    *,
    in_sequence: bool = False,
) -> str:
    store, risk = stores
    cause = submitted_event(store, order)
    return risk_review.decide_order(store, order, cause, at, risk, in_sequence=in_sequence)


def current(store: InMemoryOrderStore, order: Order) -> Order:
    found = store.get_order(ACCOUNT, order.id)
    assert found is not None
    return found


def book(store: InMemoryOrderStore) -> Account:
    found = store.get_account(ACCOUNT)
    assert found is not None
    return found


# --- placing --------------------------------------------------------------------------


def test_placing_stores_a_submitted_order_with_its_number_and_event(
    store: InMemoryOrderStore,
) -> None:
    order = place(store, client_order_id="mine-1")
    assert (order.status, order.sequence, order.version) == (OrderStatus.SUBMITTED, 1, 1)
    assert current(store, order) == order
    claimed = (order.id, placing.request_hash(body(client_order_id="mine-1")))
    assert store.find_client_order(ACCOUNT, "mine-1") == claimed
    assert store.event_types() == ["OrderSubmitted"]
    assert place(store).sequence == 2


def test_placing_again_with_the_same_client_order_id_returns_the_first_order(
    store: InMemoryOrderStore,
) -> None:
    first = placing.place_order(
        store, ACCOUNT, body(client_order_id="x"), correlation_id="c", now=NOW
    )
    again = placing.place_order(
        store, ACCOUNT, body(client_order_id="x"), correlation_id="c", now=NOW
    )
    assert (first.created, again.created, again.order) == (True, False, first.order)
    with pytest.raises(DomainError) as refused:
        place(store, client_order_id="x", quantity="11")
    assert refused.value.code == "ORDER_ID_CONFLICT"
    assert len(store.list_orders(ACCOUNT, 10, None).items) == 1


def test_placing_refuses_a_price_off_the_tick_and_stores_nothing(
    store: InMemoryOrderStore,
) -> None:
    with pytest.raises(DomainError) as refused:
        place(store, limit_price="95.001")
    assert refused.value.code == "ORDER_PRICE_TICK"
    assert store.list_orders(ACCOUNT, 10, None).items == []
    assert store.writes == 0


# --- the decision ---------------------------------------------------------------------


def test_a_resting_limit_order_is_accepted_with_its_reservation(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store = stores[0]
    order = place(store)
    assert decide(stores, order) == "accepted"
    accepted = current(store, order)
    assert accepted.status is OrderStatus.ACCEPTED
    assert accepted.reserved > 0
    assert book(store).reserved == accepted.reserved
    assert book(store).last_sequence == 1
    assert book(store).counters.orders == 1
    assert [o.id for o in store.open_orders("GOOG")] == [order.id]
    assert store.event_types()[1:] == ["OrderAccepted", "AccountChanged"]
    assert decide(stores, accepted) == "skipped"  # decided once, whatever is replayed


def test_an_order_is_denied_with_every_reason(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store, risk = stores
    risk.put(risk.state_put(ACCOUNT, risk.get_state(ACCOUNT), TradingState.HALTED, "r", "a", NOW))
    order = place(store, quantity="100000")  # far beyond the account's cash, too
    assert decide(stores, order) == "denied"
    denied = current(store, order)
    codes = [r["code"] for r in denied.reject_reasons or []]
    assert denied.status is OrderStatus.DENIED
    assert "RISK_TRADING_HALTED" in codes
    assert len(codes) >= 2
    assert denied.reject_reason == denied.reject_reasons[0]  # type: ignore[index]
    assert book(store).reserved == 0
    assert book(store).last_sequence == 1
    assert store.event_types()[-1] == "OrderDenied"
    assert store.open_orders("GOOG") == []


def test_a_market_order_with_a_price_is_filled_in_the_decision(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store = stores[0]
    order = place(store, type="market", limit_price=None, time_in_force="day")
    assert decide(stores, order) == "filled"
    filled = current(store, order)
    assert (filled.status, filled.filled_quantity) == (OrderStatus.FILLED, Decimal(10))
    (trade,) = store.list_trades(ACCOUNT).items
    assert store.get_position(ACCOUNT, "GOOG").quantity == Decimal(10)
    assert book(store).cash == Decimal("100000") + trade.cash_delta
    assert book(store).reserved == 0
    assert store.writes == 2  # the order, then its decision and fill in one write
    assert store.event_types()[1:3] == ["OrderAccepted", "OrderFilled"]
    assert_books(store, ACCOUNT)  # positions = fills, cash = the ledger


def test_an_order_waits_for_its_predecessor_then_the_gap_is_skipped(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store = stores[0]
    store.next_sequence(ACCOUNT)  # number 1 taken by a call that never stored its order
    order = place(store)
    assert order.sequence == 2
    with pytest.raises(SequenceGap):
        decide(stores, order, in_sequence=True)
    assert current(store, order).status is OrderStatus.SUBMITTED
    later = NOW + timedelta(seconds=SEQUENCE_GAP_WAIT_SECONDS)
    assert decide(stores, order, later, in_sequence=True) == "accepted"
    assert book(store).last_sequence == 2


def test_an_order_in_sequence_is_decided_at_once(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store = stores[0]
    first, second = place(store), place(store, quantity="5")
    assert decide(stores, first, in_sequence=True) == "accepted"
    assert decide(stores, second, in_sequence=True) == "accepted"
    assert book(store).last_sequence == 2


# --- execution ------------------------------------------------------------------------


def bar_event(low: str, high: str, at: datetime = NOW) -> Envelope:
    update = MarketDataUpdated(
        symbol="GOOG",
        interval="1m",
        first_start=iso(at),
        last_end=iso(at + timedelta(minutes=1)),
        open=high,
        high=high,
        low=low,
        close=low,
        volume="100000",
        bar_count=1,
    )
    return Envelope.wrap(update, account_id=None, correlation_id="bar", occurred_at=at)


def resting(stores: tuple[InMemoryOrderStore, InMemoryRiskStore], **changes: Any) -> Order:
    order = place(stores[0], **changes)
    assert decide(stores, order) == "accepted"
    return current(stores[0], order)


def test_a_bar_through_the_limit_fills_the_resting_order(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store = stores[0]
    order = resting(stores)
    at = NOW + timedelta(minutes=1)
    assert execution.on_market_data(store, bar_event("96", "99", at), at) == 0
    assert current(store, order).status is OrderStatus.ACCEPTED
    assert execution.on_market_data(store, bar_event("94", "97", at), at) == 1
    filled = current(store, order)
    assert (filled.status, filled.filled_quantity) == (OrderStatus.FILLED, Decimal(10))
    assert store.get_position(ACCOUNT, "GOOG").quantity == Decimal(10)
    assert book(store).reserved == 0
    assert store.open_orders("GOOG") == []
    assert_books(store, ACCOUNT)


def test_a_requested_cancel_closes_the_order_and_frees_its_reservation(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store = stores[0]
    order = resting(stores)
    pending = managing.cancel_order(store, ACCOUNT, order.id, correlation_id="c", now=NOW)
    assert pending.status is OrderStatus.PENDING_CANCEL
    assert book(store).reserved == order.reserved  # held until the cancel is done
    request = store.events[-1]
    assert request.type == "OrderCancelRequested"
    assert execution.on_cancel_requested(store, request, NOW) == "canceled"
    assert current(store, order).status is OrderStatus.CANCELED
    assert book(store).reserved == 0
    assert book(store).counters.cancels == 1
    assert execution.on_cancel_requested(store, request, NOW) == "unchanged"  # a replay


def test_a_day_order_expires_after_its_trading_day(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store = stores[0]
    order = resting(stores, time_in_force="day")
    assert order.expires_at is not None
    sweep = bar_event("1", "1")
    assert execution.expire_due(store, order.expires_at - timedelta(seconds=1), sweep) == 0
    assert execution.expire_due(store, order.expires_at, sweep) == 1
    assert current(store, order).status is OrderStatus.EXPIRED
    assert book(store).reserved == 0


def test_the_expiry_sweep_leaves_an_order_waiting_for_its_decision_to_it(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    # Given a working day order and a day order still submitted (submitted cannot expire)
    store = stores[0]
    working = resting(stores, time_in_force="day")
    waiting = place(store, time_in_force="day")
    assert working.expires_at is not None and waiting.expires_at == working.expires_at
    # When the sweep runs after their trading day, then the working one expires and the
    # submitted one waits for its decision (expired by a later sweep once accepted)
    assert execution.expire_due(store, working.expires_at, bar_event("1", "1")) == 1
    assert current(store, working).status is OrderStatus.EXPIRED
    assert current(store, waiting).status is OrderStatus.SUBMITTED


# --- managing -------------------------------------------------------------------------


def test_a_filled_order_cannot_be_canceled(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store = stores[0]
    order = place(store, type="market", limit_price=None, time_in_force="day")
    decide(stores, order)
    with pytest.raises(DomainError) as refused:
        managing.cancel_order(store, ACCOUNT, order.id, correlation_id="c", now=NOW)
    assert refused.value.code == "ORDER_NOT_CANCELABLE"
    with pytest.raises(DomainError) as missing:
        managing.cancel_order(store, ACCOUNT, "nope", correlation_id="c", now=NOW)
    assert missing.value.code == "ORDER_NOT_FOUND"


def test_a_replace_submits_a_new_order_and_retires_the_original_once_accepted(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store = stores[0]
    original = resting(stores)
    new = managing.replace_order(
        store, ACCOUNT, original.id, {"limit_price": "96.00"}, correlation_id="c", now=NOW
    )
    assert (new.replaces, new.limit_price, new.status) == (
        original.id,
        Decimal("96.00"),
        OrderStatus.SUBMITTED,
    )
    assert current(store, original).status is OrderStatus.PENDING_REPLACE
    assert decide(stores, new) == "accepted"
    accepted_event = next(
        e for e in store.events if e.type == "OrderAccepted" and e.payload["order"]["id"] == new.id
    )
    assert execution.on_order_accepted(store, accepted_event, NOW) in ("unchanged", "filled")
    retired = current(store, original)
    assert (retired.status, retired.replaced_by) == (OrderStatus.REPLACED, new.id)
    assert book(store).reserved == current(store, new).reserved
    assert [o.id for o in store.open_orders_of(ACCOUNT)] == [new.id]


def test_a_replace_of_a_final_order_is_refused(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store = stores[0]
    order = place(store)
    decide(stores, order)
    managing.cancel_order(store, ACCOUNT, order.id, correlation_id="c", now=NOW)
    execution.on_cancel_requested(store, store.events[-1], NOW)
    with pytest.raises(DomainError) as refused:
        managing.replace_order(
            store, ACCOUNT, order.id, {"quantity": "5"}, correlation_id="c", now=NOW
        )
    assert refused.value.code == "ORDER_NOT_REPLACEABLE"


# --- post-trade monitoring: the risk port's state put commits in the order store's write


class RecordedAudit:
    """The audit log's ``record``, kept in a list (the audit table is not a port)."""

    def __init__(self) -> None:
        self.actions: list[str] = []

    def record(self, *, action: str, **_: Any) -> None:
        self.actions.append(action)


def test_the_platform_kill_switch_cancels_orders_waiting_for_their_decision_too(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    # Given a working order and one still submitted (not among the symbol's open orders)
    store, risk = stores
    working = resting(stores)
    waiting = place(store)
    # When an operator halts every account
    view = risk_control.change_state(
        store,
        risk,
        cast(AuditLog, RecordedAudit()),
        PLATFORM,
        TradingState.HALTED,
        "exchange outage",
        actor="ops",
        correlation_id="c",
        now=NOW + timedelta(seconds=1),
    )
    # Then both are asked to cancel, each once
    assert sorted(view["canceled_orders"]) == sorted([working.id, waiting.id])
    assert current(store, working).status is OrderStatus.PENDING_CANCEL
    assert current(store, waiting).status is OrderStatus.PENDING_CANCEL


def test_a_daily_loss_halts_the_account_and_cancels_its_open_orders(
    stores: tuple[InMemoryOrderStore, InMemoryRiskStore],
) -> None:
    store, risk = stores
    limits = Overrides({"max_daily_loss": "100", "breach_action": "halted"}, {})
    risk.put_overrides(ACCOUNT, risk.get_overrides(ACCOUNT), limits)
    bought = place(store, type="market", limit_price=None, time_in_force="day")
    decide(stores, bought)
    waiting = resting(stores, limit_price="50.00")
    audit = RecordedAudit()
    cause = store.events[-1]
    assert (
        risk_monitoring.monitor_account(store, risk, cast(AuditLog, audit), ACCOUNT, cause, NOW)
        == "ok"
    )
    store.set_latest_price("GOOG", Decimal("80"), NOW)  # 10 held: 200 lost today
    outcome = risk_monitoring.monitor_account(
        store, risk, cast(AuditLog, audit), ACCOUNT, cause, NOW
    )
    assert outcome == TradingState.HALTED.value
    assert risk.get_state(ACCOUNT).state is TradingState.HALTED
    assert "RiskLimitBreached" in store.event_types()
    assert current(store, waiting).status is OrderStatus.PENDING_CANCEL
    assert audit.actions == ["risk.state_changed"]
    replay = risk_monitoring.monitor_account(
        store, risk, cast(AuditLog, audit), ACCOUNT, cause, NOW
    )
    assert (replay, store.event_types().count("RiskLimitBreached")) == ("breached", 1)

"""One contract for the order path's ports: the DynamoDB adapters (on moto) and the
in-memory ones (tests/support/memory_store.py) pass every test here (issue 14, Seams)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from moto import mock_aws
from ulid import ULID

from redfire_core.adapters.market_data import MarketDataRecords
from redfire_core.adapters.risk_store import RiskStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.counters import RiskCounters
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.ledger import fill_activities
from redfire_core.domain.orders import Order, OrderRequest, OrderStatus, Side, TimeInForce
from redfire_core.domain.orders import OrderType as Type
from redfire_core.domain.positions import Account, Fill, Position
from redfire_core.domain.risk import TradingState
from redfire_core.events import Envelope, OrderAccepted, OrderSubmitted
from redfire_core.ports import (
    ConflictError,
    OrderFilter,
    OrderStore,
    Overrides,
    RiskConflict,
    RiskPort,
    StateRecord,
)
from redfire_core.views import order_view
from tests.support.memory_store import InMemoryOrderStore, InMemoryRiskStore, memory_stores
from tests.support.provisioning import provision

if TYPE_CHECKING:  # mypy: both implementations satisfy the ports structurally
    _orders: OrderStore = TradingStore()
    _risk: RiskPort = RiskStore()
    _memory_orders: OrderStore = InMemoryOrderStore()
    _memory_risk: RiskPort = InMemoryRiskStore(InMemoryOrderStore())

T0 = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
ACCOUNT = "acct-contract"


@dataclass
class Stores:
    orders: OrderStore
    risk: RiskPort
    set_price: Callable[[str, Decimal, datetime], Any]


@pytest.fixture(params=["dynamodb", "memory"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "memory":
        orders, risk = memory_stores()
        yield Stores(orders, risk, orders.set_latest_price)
        return
    with mock_aws():
        provision(get_settings().declaration, jwt_secret="x" * 32)
        yield Stores(TradingStore(), RiskStore(), MarketDataRecords().advance_latest)


@pytest.fixture
def store(stores: Stores) -> OrderStore:
    return stores.orders


def an_account(account_id: str = ACCOUNT, **changes: Any) -> Account:
    return replace(Account(account_id, "USD", Decimal("10000"), T0), **changes)


def an_order(
    n: int = 0,
    *,
    symbol: str = "GOOG",
    client_order_id: str | None = None,
    account_id: str = ACCOUNT,
    sequence: int | None = None,
) -> Order:
    """A submitted limit order created ``n`` seconds after T0 (its ULID id sorts by it)."""
    created = T0 + timedelta(seconds=n)
    request = OrderRequest(
        symbol=symbol,
        side=Side.BUY,
        type=Type.LIMIT,
        quantity=Decimal("10"),
        time_in_force=TimeInForce.GTC,
        limit_price=Decimal("100"),
        client_order_id=client_order_id,
    )
    return Order.submit(
        str(ULID.from_datetime(created)), account_id, request, created, sequence=sequence
    )


def submitted_event(order: Order) -> Envelope:
    return Envelope.wrap(
        OrderSubmitted(order=order_view(order)),
        account_id=order.account_id,
        correlation_id="corr",
        occurred_at=order.created_at,
    )


def placed(store: OrderStore, order: Order, request_hash: str = "h") -> Order:
    store.create_order(order, submitted_event(order), request_hash, "corr")
    return order


def accepted(store: OrderStore, order: Order) -> Order:
    after = order.accept(T0 + timedelta(minutes=1), reserved=Decimal("1000"))
    event = Envelope.wrap(
        OrderAccepted(order=order_view(after)),
        account_id=order.account_id,
        correlation_id="corr",
        occurred_at=after.updated_at,
    )
    store.save_transition(order, after, [event])
    return after


def a_fill_of(order: Order, quantity: str = "4", trade_id: str | None = None) -> Fill:
    return Fill(
        trade_id=trade_id or f"{order.id}-{order.version}",
        order_id=order.id,
        account_id=order.account_id,
        symbol=order.symbol,
        side=order.side,
        quantity=Decimal(quantity),
        price=Decimal("99"),
        commission=Decimal("1"),
        executed_at=T0 + timedelta(minutes=2),
    )


def fill_parts(
    store: OrderStore, order: Order, fill: Fill
) -> tuple[tuple[Order, Order], tuple[Position, Position], tuple[Account, Account]]:
    book = store.get_account(order.account_id)
    assert book is not None
    position = store.get_position(order.account_id, order.symbol)
    after = order.fill(fill.quantity, fill.price, fill.executed_at, fill.commission)
    position_after = position.apply(fill)
    book_after = book.apply(fill, position_after.realized_pnl - position.realized_pnl)
    return (order, after), (position, position_after), (book, book_after)


# --- orders, claims, sequence ---------------------------------------------------------


def test_a_created_order_reads_back_with_its_claim(store: OrderStore) -> None:
    order = placed(store, an_order(client_order_id="c-1", sequence=7), request_hash="abc")
    assert store.get_order(ACCOUNT, order.id) == order
    assert store.find_client_order(ACCOUNT, "c-1") == (order.id, "abc")
    assert store.get_order(ACCOUNT, "missing") is None
    assert store.get_order("other-account", order.id) is None
    assert store.find_client_order(ACCOUNT, "c-2") is None


def test_a_second_claim_of_a_client_order_id_conflicts_and_writes_nothing(
    store: OrderStore,
) -> None:
    first = placed(store, an_order(1, client_order_id="c-1"))
    second = an_order(2, client_order_id="c-1")
    with pytest.raises(ConflictError):
        placed(store, second, request_hash="other")
    assert store.get_order(ACCOUNT, second.id) is None
    assert store.find_client_order(ACCOUNT, "c-1") == (first.id, "h")


def test_claims_are_per_account(store: OrderStore) -> None:
    placed(store, an_order(1, client_order_id="c-1"))
    other = placed(store, an_order(2, client_order_id="c-1", account_id="acct-other"))
    assert store.find_client_order("acct-other", "c-1") == (other.id, "h")


def test_creating_an_order_that_exists_conflicts(store: OrderStore) -> None:
    order = placed(store, an_order())
    with pytest.raises(ConflictError):
        placed(store, replace(order, quantity=Decimal("99")))
    assert store.get_order(ACCOUNT, order.id) == order


def test_sequence_numbers_count_up_per_account(store: OrderStore) -> None:
    assert [store.next_sequence(ACCOUNT) for _ in range(3)] == [1, 2, 3]
    assert store.next_sequence("acct-other") == 1
    assert store.next_sequence(ACCOUNT) == 4


def test_orders_list_newest_first_in_pages(store: OrderStore) -> None:
    orders = [placed(store, an_order(n)) for n in range(5)]
    placed(store, an_order(9, account_id="acct-other"))
    seen: list[Order] = []
    cursor: str | None = None
    for _ in range(10):
        page = store.list_orders(ACCOUNT, 2, cursor)
        assert len(page.items) <= 2
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [o.id for o in seen] == [o.id for o in reversed(orders)]


def test_orders_filter_by_status_symbol_and_creation_time(store: OrderStore) -> None:
    goog = [placed(store, an_order(n)) for n in range(3)]
    aapl = placed(store, an_order(3, symbol="AAPL"))
    working = accepted(store, goog[1])

    def ids(where: OrderFilter) -> list[str]:
        return [o.id for o in store.list_orders(ACCOUNT, 100, None, where).items]

    assert ids(OrderFilter(symbol="AAPL")) == [aapl.id]
    assert ids(OrderFilter(status=frozenset({OrderStatus.ACCEPTED}))) == [working.id]
    submitted = OrderFilter(status=frozenset({OrderStatus.SUBMITTED}), symbol="GOOG")
    assert ids(submitted) == [goog[2].id, goog[0].id]
    window = OrderFilter(
        created_from=T0 + timedelta(seconds=1), created_to=T0 + timedelta(seconds=2)
    )
    assert ids(window) == [goog[2].id, working.id]


# --- transitions ----------------------------------------------------------------------


def test_a_transition_writes_the_new_version(store: OrderStore) -> None:
    order = placed(store, an_order())
    after = accepted(store, order)
    assert store.get_order(ACCOUNT, order.id) == after
    assert after.version == order.version + 1


def test_a_stale_transition_conflicts_and_leaves_the_order(store: OrderStore) -> None:
    order = placed(store, an_order())
    current = accepted(store, order)
    with pytest.raises(ConflictError):
        store.save_transition(order, order.deny([{"code": "X"}], T0), [])
    assert store.get_order(ACCOUNT, order.id) == current


def test_a_transition_of_a_missing_order_conflicts(store: OrderStore) -> None:
    order = an_order()
    with pytest.raises(ConflictError):
        store.save_transition(order, order.accept(T0), [])
    assert store.get_order(ACCOUNT, order.id) is None


def test_a_transition_with_a_stale_book_writes_nothing(store: OrderStore) -> None:
    store.create_account(an_account())
    order = placed(store, an_order())
    book = store.get_account(ACCOUNT)
    assert book is not None
    store.save_account(book, book.reserve(Decimal("5")))
    stale = (book, book.reserve(Decimal("1000")))
    with pytest.raises(ConflictError):
        store.save_transition(order, order.accept(T0, reserved=Decimal("1000")), [], account=stale)
    assert store.get_order(ACCOUNT, order.id) == order
    assert store.get_account(ACCOUNT) == book.reserve(Decimal("5"))


def test_reject_reasons_given_with_a_transition_are_stored(store: OrderStore) -> None:
    order = placed(store, an_order())
    reasons = [{"code": "RISK_MAX_NOTIONAL", "message": "too big"}, {"code": "RISK_X"}]
    store.write(orders_changed=[(order, order.deny(reasons[:1], T0), reasons)])
    stored = store.get_order(ACCOUNT, order.id)
    assert stored is not None
    assert (stored.status, stored.reject_reasons) == (OrderStatus.DENIED, reasons)


def test_one_write_changes_several_orders_or_none(store: OrderStore) -> None:
    first, second = placed(store, an_order(1)), placed(store, an_order(2))
    moved = accepted(store, second)
    with pytest.raises(ConflictError):
        store.write(
            orders_changed=[(first, first.accept(T0), None), (second, second.accept(T0), None)]
        )
    assert store.get_order(ACCOUNT, first.id) == first
    assert store.get_order(ACCOUNT, second.id) == moved


# --- open orders and the submitted index ----------------------------------------------


def test_open_orders_appear_and_disappear_with_their_status(store: OrderStore) -> None:
    store.create_account(an_account())
    first = accepted(store, placed(store, an_order(1)))
    second = placed(store, an_order(2))  # submitted: waits for its decision, not prices
    third = accepted(store, placed(store, an_order(3)))
    accepted(store, placed(store, an_order(4, symbol="AAPL")))
    elsewhere = accepted(store, placed(store, an_order(5, account_id="acct-other")))
    assert [o.id for o in store.open_orders("GOOG")] == [first.id, third.id, elsewhere.id]
    assert len(store.open_orders_of(ACCOUNT)) == 4  # every non-final order of the account
    fill = a_fill_of(first, quantity="10")
    order, position, book = fill_parts(store, first, fill)
    store.apply_fill(order, fill, position, book, [], [])
    store.save_transition(second, second.deny([{"code": "X"}], T0), [])
    assert {o.id for o in store.open_orders("GOOG")} == {third.id, elsewhere.id}
    assert [o.symbol for o in store.open_orders_of(ACCOUNT)] == ["GOOG", "AAPL"]


def test_a_submitted_order_waits_for_its_decision_then_for_prices(store: OrderStore) -> None:
    # Given a submitted order: the risk-timeout sweep finds it, a price update does not
    order = placed(store, an_order(1))
    later = T0 + timedelta(hours=1)
    assert [o.id for o in store.submitted_before(later)] == [order.id]
    assert store.open_orders("GOOG") == []
    assert [o.id for o in store.open_orders_of(ACCOUNT)] == [order.id]
    # When it is accepted, then the reverse: it works on prices and no longer waits
    accepted(store, order)
    assert store.submitted_before(later) == []
    assert [o.id for o in store.open_orders("GOOG")] == [order.id]
    assert [o.id for o in store.open_orders_of(ACCOUNT)] == [order.id]


def test_submitted_orders_are_found_by_age_until_decided(store: OrderStore) -> None:
    old, new = placed(store, an_order(1)), placed(store, an_order(60))
    assert [o.id for o in store.submitted_before(T0 + timedelta(seconds=30))] == [old.id]
    assert [o.id for o in store.submitted_before(T0 + timedelta(hours=1))] == [old.id, new.id]
    accepted(store, old)
    assert [o.id for o in store.submitted_before(T0 + timedelta(hours=1))] == [new.id]


# --- fills ----------------------------------------------------------------------------


def test_a_fill_writes_order_trade_position_book_and_ledger(store: OrderStore) -> None:
    store.create_account(an_account())
    order = accepted(store, placed(store, an_order()))
    fill = a_fill_of(order)
    changed, position, book = fill_parts(store, order, fill)
    store.apply_fill(changed, fill, position, book, fill_activities(fill), [])
    assert store.get_order(ACCOUNT, order.id) == changed[1]
    assert store.get_position(ACCOUNT, "GOOG") == position[1]
    assert store.get_account(ACCOUNT) == book[1]
    assert store.list_trades(ACCOUNT).items == [fill]
    assert store.has_trade(ACCOUNT, fill.trade_id)
    lines = store.list_activities(ACCOUNT).items
    assert sum((line.amount for line in lines), Decimal(0)) == fill.cash_delta


def test_a_fill_with_a_recorded_trade_id_changes_nothing(store: OrderStore) -> None:
    store.create_account(an_account())
    order = accepted(store, placed(store, an_order()))
    fill = a_fill_of(order, quantity="4")
    changed, position, book = fill_parts(store, order, fill)
    store.apply_fill(changed, fill, position, book, fill_activities(fill), [])
    ledger = store.list_activities(ACCOUNT).items
    before = (
        store.get_order(ACCOUNT, order.id),
        store.get_position(ACCOUNT, "GOOG"),
        store.get_account(ACCOUNT),
    )
    current = before[0]
    assert current is not None
    again = replace(fill, quantity=Decimal("1"))  # the same trade id: a replayed execution
    changed, position, book = fill_parts(store, current, again)
    with pytest.raises(ConflictError):
        store.apply_fill(changed, again, position, book, fill_activities(again), [])
    after = (
        store.get_order(ACCOUNT, order.id),
        store.get_position(ACCOUNT, "GOOG"),
        store.get_account(ACCOUNT),
    )
    assert after == before
    assert store.list_trades(ACCOUNT).items == [fill]
    assert store.list_activities(ACCOUNT).items == ledger


def test_a_trade_is_recorded_once_by_id_even_when_all_else_is_current(
    store: OrderStore,
) -> None:
    store.create_account(an_account())
    order = accepted(store, placed(store, an_order()))
    fill = a_fill_of(order)
    store.write(trades=[fill])  # recorded by an earlier delivery of the same execution
    changed, position, book = fill_parts(store, order, fill)
    with pytest.raises(ConflictError):
        store.apply_fill(changed, fill, position, book, fill_activities(fill), [])
    assert store.get_order(ACCOUNT, order.id) == order
    assert store.get_position(ACCOUNT, "GOOG") == position[0]
    assert store.get_account(ACCOUNT) == book[0]
    assert store.list_activities(ACCOUNT).items == []


def test_a_fill_with_a_stale_position_changes_nothing(store: OrderStore) -> None:
    store.create_account(an_account())
    order = accepted(store, placed(store, an_order()))
    fill = a_fill_of(order)
    changed, position, book = fill_parts(store, order, fill)
    other = a_fill_of(order, trade_id="elsewhere")
    store.write(positions_changed=[(position[0], position[0].apply(other))])  # a race won
    with pytest.raises(ConflictError):
        store.apply_fill(changed, fill, position, book, fill_activities(fill), [])
    assert store.get_order(ACCOUNT, order.id) == order
    assert store.get_account(ACCOUNT) == book[0]
    assert not store.has_trade(ACCOUNT, fill.trade_id)
    assert store.get_position(ACCOUNT, "GOOG") == position[0].apply(other)


# --- accounts, positions, trades, reference data --------------------------------------


def test_a_book_round_trips_with_counters_and_gateway_fields(store: OrderStore) -> None:
    counters = RiskCounters().record_order("GOOG", T0).record_trade("GOOG", T0)
    book = an_account(
        counters=counters,
        gateway="alpaca",
        gateway_mode="live",
        gateway_status="error",
        gateway_error="bad key",
        last_sequence=4,
        reserved=Decimal("12.5"),
    )
    assert store.create_account(book)
    assert store.get_account(ACCOUNT) == book
    assert not store.create_account(replace(book, cash=Decimal(1)))
    assert store.get_account(ACCOUNT) == book
    assert store.get_account("nobody") is None


def test_a_stale_book_save_conflicts(store: OrderStore) -> None:
    store.create_account(an_account())
    book = store.get_account(ACCOUNT)
    assert book is not None
    store.save_account(book, book.decided(3))
    with pytest.raises(ConflictError):
        store.save_account(book, book.reserve(Decimal(1)))
    assert store.get_account(ACCOUNT) == book.decided(3)


def test_positions_start_flat_and_two_first_fills_cannot_both_open_one(store: OrderStore) -> None:
    flat = store.get_position(ACCOUNT, "GOOG")
    assert flat == Position(ACCOUNT, "GOOG")
    order = an_order()
    opened = flat.apply(a_fill_of(order))
    store.write(positions_changed=[(flat, opened)])
    with pytest.raises(ConflictError):
        store.write(positions_changed=[(flat, flat.apply(a_fill_of(order, trade_id="t-2")))])
    assert store.get_position(ACCOUNT, "GOOG") == opened
    assert store.list_positions(ACCOUNT) == [opened]


def test_trades_filter_and_page(store: OrderStore) -> None:
    first, second = an_order(1), an_order(2, symbol="AAPL")
    fills = [a_fill_of(first, trade_id=f"a-{n}") for n in range(3)] + [
        a_fill_of(second, trade_id="b-0")
    ]
    store.write(trades=fills)
    assert [f.trade_id for f in store.list_trades(ACCOUNT, symbol="AAPL").items] == ["b-0"]
    by_order = store.list_trades(ACCOUNT, order_id=first.id).items
    assert [f.trade_id for f in by_order] == ["a-0", "a-1", "a-2"]
    seen, cursor = [], None
    for _ in range(10):
        page = store.list_trades(ACCOUNT, 3, cursor)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(f.trade_id for f in seen) == ["a-0", "a-1", "a-2", "b-0"]
    assert not store.has_trade("acct-other", "a-0")


def test_instruments_are_created_once_and_listed_by_symbol(store: OrderStore) -> None:
    goog = Instrument("GOOG", "equity", "USD", Decimal("0.01"), Decimal(1), Decimal(1), 2)
    store.put_instrument(goog, create=True)
    with pytest.raises(ConflictError):
        store.put_instrument(replace(goog, tradable=False), create=True)
    store.put_instrument(replace(goog, symbol="AAPL"))
    store.put_instrument(replace(goog, tradable=False))
    assert store.get_instrument("GOOG") == replace(goog, tradable=False)
    assert [i.symbol for i in store.list_instruments()] == ["AAPL", "GOOG"]
    assert store.get_instrument("MSFT") is None


def test_the_latest_price_reads_back(stores: Stores) -> None:
    assert stores.orders.latest_price("GOOG") is None
    stores.set_price("GOOG", Decimal("101.5"), T0)
    latest = stores.orders.latest_price("GOOG")
    assert latest is not None
    assert (latest.symbol, latest.price, latest.timestamp) == ("GOOG", Decimal("101.5"), T0)


# --- the limits: overrides, states, equity marks, holders -----------------------------


def test_overrides_change_only_from_the_version_read(stores: Stores) -> None:
    risk = stores.risk
    empty = risk.get_overrides(ACCOUNT)
    assert empty == Overrides({}, {}, 0)
    risk.put_overrides(ACCOUNT, empty, Overrides({"max_notional": "5"}, {"GOOG": {"a": "1"}}))
    stored = risk.get_overrides(ACCOUNT)
    assert stored == Overrides({"max_notional": "5"}, {"GOOG": {"a": "1"}}, 1)
    with pytest.raises(RiskConflict):
        risk.put_overrides(ACCOUNT, empty, Overrides({}, {}))
    assert risk.snapshot(ACCOUNT).overrides == stored


def test_a_state_change_commits_with_its_write_or_not_at_all(stores: Stores) -> None:
    orders, risk = stores.orders, stores.risk
    orders.create_account(an_account())
    book = orders.get_account(ACCOUNT)
    assert book is not None
    before = risk.get_state(ACCOUNT)
    assert before == StateRecord()
    halt = risk.state_put(ACCOUNT, before, TradingState.HALTED, "loss", "monitor", T0)
    orders.save_account(book, book.decided(1))  # the book moves on: the write below is stale
    with pytest.raises(ConflictError):
        orders.write(accounts_changed=[(book, book.decided(2))], raw_puts=[halt])
    assert risk.get_state(ACCOUNT) == StateRecord()
    orders.write(raw_puts=[halt])
    state = risk.get_state(ACCOUNT)
    assert (state.state, state.reason, state.changed_by, state.version) == (
        TradingState.HALTED,
        "loss",
        "monitor",
        1,
    )
    with pytest.raises(RiskConflict):
        risk.put(risk.state_put(ACCOUNT, before, TradingState.ACTIVE, "x", "y", T0))
    snapshot = risk.snapshot(ACCOUNT)
    assert (snapshot.state, snapshot.global_state) == (state, StateRecord())


def test_equity_marks_keep_the_days_start_and_peak(stores: Stores) -> None:
    risk = stores.risk
    assert risk.mark_equity(ACCOUNT, Decimal(100), T0) == (Decimal(100), Decimal(100))
    assert risk.mark_equity(ACCOUNT, Decimal(120), T0) == (Decimal(100), Decimal(120))
    assert risk.mark_equity(ACCOUNT, Decimal(90), T0) == (Decimal(100), Decimal(120))
    assert risk.mark_equity(ACCOUNT, Decimal(90), T0 + timedelta(days=1)) == (
        Decimal(90),
        Decimal(90),
    )


def test_holders_are_accounts_with_an_open_position(stores: Stores) -> None:
    orders = stores.orders
    for account_id in ("acct-b", "acct-a", "acct-flat"):
        flat = orders.get_position(account_id, "GOOG")
        orders.write(
            positions_changed=[(flat, flat.apply(a_fill_of(an_order(account_id=account_id))))]
        )
    held = orders.get_position("acct-flat", "GOOG")
    closing = replace(a_fill_of(an_order(account_id="acct-flat")), side=Side.SELL, trade_id="t-9")
    orders.write(positions_changed=[(held, held.apply(closing))])
    assert stores.risk.holders("GOOG") == ["acct-a", "acct-b"]
    assert stores.risk.holders("AAPL") == []


def test_a_write_that_names_one_item_twice_is_refused_whole(store: OrderStore) -> None:
    order = placed(store, an_order())
    other = placed(store, an_order(1))
    twice = [(order, order.accept(T0), None), (order, order.deny([{"code": "X"}], T0), None)]
    with pytest.raises(Exception) as refused:
        store.write(orders_changed=[(other, other.accept(T0), None), *twice])
    assert not isinstance(refused.value, ConflictError)  # a bug in the caller, not a race
    assert store.get_order(ACCOUNT, order.id) == order
    assert store.get_order(ACCOUNT, other.id) == other

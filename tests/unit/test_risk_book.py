"""The rule table and the account book: the table gives exactly the verdicts of the
rules it replaced (same codes, messages, limits and actuals, in the same order), and a
book kept up to date event by event equals the book built from scratch."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from redfire_core.domain.counters import RiskCounters
from redfire_core.domain.orders import (
    ExecutionModel,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from redfire_core.domain.positions import Account, Fill, Position
from redfire_core.domain.risk import (
    PRE_TRADE_RULES,
    AccountBook,
    LatestPrice,
    RiskContext,
    RiskLimits,
    TradingState,
    _text,
    _verdicts,
    book_of,
    book_of_context,
    check_order,
    evaluate,
)
from tests.unit.factories import T0
from tests.unit.old_risk_rules import old_rules

SYMBOLS = ("AAPL", "GOOG", "MSFT")
OPEN = (
    OrderStatus.SUBMITTED,
    OrderStatus.ACCEPTED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.PENDING_CANCEL,
    OrderStatus.PENDING_REPLACE,
)


def decimals(low: int, high: int, places: int = 2) -> st.SearchStrategy[Decimal]:
    """Decimals with varied exponents (``5``, ``5.0``, ``5.00``): digits matter in texts."""
    return st.builds(
        lambda n, p: Decimal(n).scaleb(-p), st.integers(low, high), st.integers(0, places)
    )


prices = decimals(1, 20000)
quantities = decimals(1, 3000)
ids = st.sampled_from([f"o{i}" for i in range(8)])


@st.composite
def orders(draw: st.DrawFn, statuses: tuple[OrderStatus, ...] = OPEN) -> Order:
    kind = draw(st.sampled_from(list(OrderType)))
    quantity = draw(quantities)
    return Order(
        id=draw(ids),
        account_id="a",
        symbol=draw(st.sampled_from(SYMBOLS)),
        side=draw(st.sampled_from(list(Side))),
        type=kind,
        quantity=quantity,
        time_in_force=TimeInForce.GTC,
        status=draw(st.sampled_from(statuses)),
        created_at=T0 - timedelta(seconds=draw(st.integers(0, 20))),
        updated_at=T0,
        limit_price=draw(st.one_of(st.none(), prices)),
        stop_price=draw(st.one_of(st.none(), prices)),
        triggered=draw(st.booleans()),
        filled_quantity=draw(st.sampled_from([Decimal(0), quantity / 2])),
        replaces=draw(st.one_of(st.none(), ids)),
    )


def an_account(draw: st.DrawFn) -> Account:
    return Account(
        id="a",
        currency="USD",
        cash=draw(decimals(-1000, 10_000_000)),
        created_at=T0,
        margin_enabled=draw(st.booleans()),
        leverage=draw(st.sampled_from([Decimal(1), Decimal(2), Decimal("3.5")])),
        reserved=draw(decimals(0, 100_000)),
        execution=ExecutionModel(
            commission_rate=draw(st.sampled_from([Decimal(0), Decimal("0.0005")])),
            commission_minimum=draw(st.sampled_from([Decimal(0), Decimal(1)])),
        ),
    )


def some_limits(draw: st.DrawFn) -> RiskLimits:
    """Limits small enough that every rule both passes and fails."""
    return RiskLimits(
        max_order_qty=draw(decimals(0, 3000)),
        max_order_notional=draw(decimals(0, 10_000_000)),
        max_position_qty=draw(decimals(0, 6000)),
        max_gross_exposure=draw(decimals(0, 100_000_000)),
        max_active_orders=draw(st.integers(0, 6)),
        max_daily_orders=draw(st.integers(0, 4)),
        max_daily_cancels=draw(st.integers(0, 3)),
        max_daily_trades=draw(st.integers(0, 3)),
        max_orders_per_second=draw(st.integers(0, 3)),
        max_orders_per_minute=draw(st.integers(0, 4)),
        duplicate_window_seconds=draw(st.integers(0, 10)),
        price_band_pct=draw(decimals(0, 1000)),
        max_price_age_seconds=draw(st.integers(0, 30)),
    )


def near(price: Decimal | None) -> st.SearchStrategy[Decimal]:
    """A price within a few percent of ``price`` (the band's territory)."""
    if price is None:
        return prices
    return st.integers(-800, 800).map(lambda bp: price + price * bp / 10_000)


@st.composite
def checks(draw: st.DrawFn) -> tuple[Order, RiskContext]:
    order = replace(draw(orders()), status=OrderStatus.SUBMITTED, filled_quantity=Decimal(0))
    positions = [
        Position("a", s, draw(decimals(-3000, 3000)), draw(decimals(-300_000, 300_000)))
        for s in SYMBOLS
        if draw(st.booleans())
    ]
    position = next((p for p in positions if p.symbol == order.symbol), Position("a", order.symbol))
    unique = {o.id: o for o in draw(st.lists(orders(tuple(OrderStatus))))}
    # Resting orders on the other side of the order's symbol (self-trades).
    for other in draw(st.lists(orders(), max_size=3)):
        unique.setdefault(other.id, replace(other, symbol=order.symbol, side=order.side.opposite))
    open_orders = list(unique.values())
    recent = draw(st.lists(orders(tuple(OrderStatus)), max_size=4))
    # Twins of the order, earlier or later, denied or not.
    recent += [
        replace(order, id=draw(ids), created_at=T0 - timedelta(seconds=age), status=status)
        for age, status in draw(
            st.lists(st.tuples(st.integers(0, 15), st.sampled_from(list(OrderStatus))), max_size=2)
        )
    ]
    counters = RiskCounters()
    for kind, symbol, ago in draw(
        st.lists(
            st.tuples(
                st.sampled_from(["order", "cancel", "trade"]),
                st.sampled_from(SYMBOLS),
                st.sampled_from([0, 0, 1, 30, 90, 86_400]),
            ),
            max_size=8,
        )
    ):
        at = T0 - timedelta(seconds=ago)
        counters = getattr(counters, f"record_{kind}")(symbol, at)
    latest = draw(
        st.one_of(
            st.none(),
            st.builds(
                lambda p, age: LatestPrice(order.symbol, p, T0 - timedelta(seconds=age)),
                st.one_of(prices, st.just(Decimal(0)), near(order.limit_price)),
                st.integers(0, 40),
            ),
        )
    )
    return order, RiskContext(
        account=an_account(draw),
        position=position,
        latest=latest,
        limits=some_limits(draw),
        now=T0,
        symbol_limits=some_limits(draw) if draw(st.booleans()) else None,
        positions=positions,
        prices={s: draw(prices) for s in SYMBOLS if s != order.symbol and draw(st.booleans())},
        open_orders=open_orders,
        recent_orders=recent,
        counters=counters,
        state=draw(st.sampled_from(list(TradingState))),
        global_state=draw(st.sampled_from(list(TradingState))),
        instrument_known=draw(st.booleans()),
    )


def texts(rows: list[Any]) -> list[tuple[str, bool, str, str | None, str | None]]:
    return [(code, ok, msg, _text(limit), _text(actual)) for code, ok, msg, limit, actual in rows]


@settings(max_examples=300, deadline=None)
@given(checks(), st.booleans())
def test_the_rule_table_gives_the_verdicts_of_the_rules_it_replaced(
    check: tuple[Order, RiskContext], keep_all: bool
) -> None:
    order, ctx = check
    expected = old_rules(order, ctx, keep_all)

    table = _verdicts(order, ctx, None, keep_all)
    kept = _verdicts(order, ctx, book_of_context(ctx), keep_all)

    assert table == expected
    assert texts(table) == texts(expected)  # same digits in every limit and actual
    assert texts(kept) == texts(expected)


def test_every_rule_is_one_function_in_the_table() -> None:
    assert len(PRE_TRADE_RULES) == len(set(PRE_TRADE_RULES)) == 22
    assert all(rule.__code__.co_argcount == 4 for rule in PRE_TRADE_RULES)


# --- the book kept by events ----------------------------------------------------------------


@dataclass
class World:
    """The account's state as the stores hold it, moved by the domain's own steps."""

    account: Account
    now: datetime = T0
    positions: dict[str, Position] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)
    open_orders: list[Order] = field(default_factory=list)
    recent: list[Order] = field(default_factory=list)
    counters: RiskCounters = field(default_factory=RiskCounters)

    def book(self) -> AccountBook:
        return book_of(
            self.account,
            list(self.positions.values()),
            self.prices,
            self.open_orders,
            self.recent,
            self.counters,
        )

    def position(self, symbol: str) -> Position:
        return self.positions.get(symbol) or Position("a", symbol)

    def swap(self, order: Order) -> None:
        """``order`` in place of its earlier self (out of the open orders once final)."""
        at = next(i for i, o in enumerate(self.open_orders) if o.id == order.id)
        if order.is_final:
            del self.open_orders[at]
        else:
            self.open_orders[at] = order


events = st.lists(
    st.tuples(
        st.sampled_from(["place", "fill", "close", "change", "mark", "forget", "wait"]),
        st.integers(0, 10_000),  # which order, how long, ...
        st.sampled_from(SYMBOLS),
        prices,
        quantities,
    ),
    max_size=40,
)


def step(world: World, book: AccountBook, event: tuple[Any, ...], serial: int) -> AccountBook:
    """Apply one event to the world (the domain's steps) and to the book (its events)."""
    kind, pick, symbol, price, quantity = event
    now, chosen = world.now, None
    if world.open_orders:
        chosen = world.open_orders[pick % len(world.open_orders)]
    if kind == "place":
        order = Order(
            id=f"p{serial}",
            account_id="a",
            symbol=symbol,
            side=Side.BUY if pick % 2 else Side.SELL,
            type=(OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_LIMIT)[pick % 3],
            quantity=quantity,
            time_in_force=TimeInForce.GTC,
            status=OrderStatus.SUBMITTED,
            created_at=now,
            updated_at=now,
            limit_price=None if pick % 3 == 1 else price,
            stop_price=price if pick % 3 == 2 else None,
        )
        held = quantity * price / 100
        order = order.accept(now, reserved=held)
        world.account = world.account.reserve(held)
        world.open_orders.append(order)
        world.recent.append(order)
        world.counters = world.counters.record_order(symbol, now)
        return book.placed(order, world.account, now)
    if kind == "fill" and chosen is not None:
        amount = chosen.remaining_quantity if pick % 2 else chosen.remaining_quantity / 2
        fill = Fill(
            f"t{serial}", chosen.id, "a", chosen.symbol, chosen.side, amount, price, Decimal(1), now
        )
        after = chosen.fill(amount, price, now, Decimal(1))
        before = world.position(chosen.symbol)
        position = before.apply(fill)
        released = chosen.reservation_released_by(amount)
        world.account = world.account.apply(
            fill, position.realized_pnl - before.realized_pnl, released
        )
        world.positions[chosen.symbol] = position
        world.swap(after)
        world.counters = world.counters.record_trade(chosen.symbol, now)
        return book.filled(after, position, world.account, now)
    if kind == "close" and chosen is not None:
        status = (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REPLACED)[pick % 3]
        after = replace(chosen, status=status, reserved=Decimal(0))
        world.account = world.account.reserve(-chosen.reserved)
        world.swap(after)
        if status is OrderStatus.CANCELED:
            world.counters = world.counters.record_cancel(chosen.symbol, now)
        return book.closed(after, world.account, now)
    if kind == "change" and chosen is not None:
        after = (
            replace(chosen, triggered=True)
            if pick % 2
            else replace(chosen, status=OrderStatus.PENDING_CANCEL)
        )
        world.swap(after)
        return book.changed(after)
    if kind == "mark":
        world.prices[symbol] = price
        return book.marked(symbol, price)
    if kind == "forget":
        before_ = now - timedelta(seconds=pick % 30)
        world.recent = [o for o in world.recent if o.created_at >= before_]
        return book.forget_recent(before_)
    if kind == "wait":
        world.now = now + timedelta(seconds=pick % 3 * (1, 45, 90_000)[pick % 3])
    return book


@settings(max_examples=150, deadline=None)
@given(
    decimals(0, 10_000_000),
    st.lists(
        st.tuples(st.sampled_from(SYMBOLS), decimals(-3000, 3000), decimals(-300_000, 300_000)),
        max_size=3,
    ),
    st.dictionaries(st.sampled_from(SYMBOLS), prices),
    events,
)
def test_a_book_kept_by_events_equals_the_book_rebuilt_from_scratch(
    cash: Decimal,
    held: list[tuple[str, Decimal, Decimal]],
    marks: dict[str, Decimal],
    history: list[tuple[Any, ...]],
) -> None:
    world = World(Account("a", "USD", cash, T0, margin_enabled=True, leverage=Decimal(2)))
    world.positions = {s: Position("a", s, q, basis) for s, q, basis in held}
    world.prices = dict(marks)
    book = world.book()

    for serial, event in enumerate(history):
        book = step(world, book, event, serial)
        assert book == world.book(), event

    # And a check reads the same digits from either book.
    probe = Order.submit(
        "probe",
        "a",
        OrderRequest(
            "AAPL", Side.BUY, OrderType.LIMIT, Decimal("3"), TimeInForce.GTC, Decimal("101.5")
        ),
        world.now,
    )
    ctx = RiskContext(
        account=world.account,
        position=world.position("AAPL"),
        latest=None,
        limits=RiskLimits(max_gross_exposure=Decimal(1), duplicate_window_seconds=30),
        now=world.now,
        positions=list(world.positions.values()),
        prices=world.prices,
        open_orders=world.open_orders,
        recent_orders=world.recent,
        counters=world.counters,
    )
    kept = [v.as_dict() for v in evaluate(probe, ctx, book)]
    assert kept == [v.as_dict() for v in evaluate(probe, ctx)]
    assert check_order(probe, ctx, book) == check_order(probe, ctx)

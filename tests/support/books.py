"""The books check: every order once, fills per order, positions = fills, cash = ledger."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from redfire_core.domain.orders import Order
from redfire_core.domain.positions import Fill
from redfire_core.ports import OrderStore


def assert_books(
    store: OrderStore, account_id: str, opening: dict[str, Decimal] | None = None
) -> tuple[list[Order], list[Fill]]:
    """Assert that the account's books balance (positions = the opening entry's + the
    fills); returns its orders and trades."""
    orders = store.list_orders(account_id, 1000, None).items
    assert len({o.id for o in orders}) == len(orders)
    trades = store.list_trades(account_id, 1000).items
    assert len({t.trade_id for t in trades}) == len(trades), "a trade recorded twice"
    filled: defaultdict[str, Decimal] = defaultdict(Decimal)
    for trade in trades:
        filled[trade.order_id] += trade.quantity
    assert {o.id: o.filled_quantity for o in orders if o.filled_quantity} == dict(filled)
    held: defaultdict[str, Decimal] = defaultdict(Decimal, opening or {})
    for trade in trades:
        held[trade.symbol] += trade.signed_quantity
    positions = {p.symbol: p.quantity for p in store.list_positions(account_id) if p.quantity}
    assert positions == {s: q for s, q in held.items() if q}
    account = store.get_account(account_id)
    assert account is not None
    ledger = store.list_activities(account_id, 1000).items
    assert len({line.id for line in ledger}) == len(ledger)
    assert account.cash == sum((line.amount for line in ledger), Decimal(0))
    trade_lines = [line for line in ledger if line.trade_id]
    assert {line.trade_id for line in trade_lines} == {t.trade_id for t in trades}
    assert sum((line.amount for line in trade_lines), Decimal(0)) == -sum(
        (t.signed_quantity * t.price + t.commission for t in trades), Decimal(0)
    )
    return orders, trades

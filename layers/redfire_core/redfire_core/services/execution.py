"""The paper gateway's side of the lifecycle: fill accepted orders at market prices."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.matching import PriceBar, match_against_bar
from redfire_core.domain.orders import Order, OrderStatus, OrderType
from redfire_core.domain.positions import Fill
from redfire_core.events import Envelope, MarketDataUpdated, OrderFilled, parse_iso
from redfire_core.observability import logger
from redfire_core.services.retrying import on_conflict_retry
from redfire_core.views import fill_view, order_view

FILLABLE = frozenset(
    {OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL}
)


def on_order_accepted(store: TradingStore, event: Envelope, now: datetime) -> str:
    """A market order fills at once at the latest price; other types rest for price updates."""
    order = store.get_order(str(event.account_id), str(event.payload["order"]["id"]))
    if order is None or order.status not in FILLABLE or order.type is not OrderType.MARKET:
        return "resting" if order is not None and not order.is_final else "skipped"
    latest = store.latest_price(order.symbol)
    if latest is None:
        logger.info("no price yet: market order rests", extra={"order_id": order.id})
        return "resting"
    return fill_order(store, order.account_id, order.id, latest.price, event, now)


def on_market_data(store: TradingStore, event: Envelope, now: datetime) -> int:
    """Match every open order on the symbol against the new bar(s); returns fills made."""
    update = MarketDataUpdated.model_validate(event.payload)
    bar = PriceBar(
        start=parse_iso(update.first_start),
        end=parse_iso(update.last_end),
        open=Decimal(update.open),
        high=Decimal(update.high),
        low=Decimal(update.low),
        close=Decimal(update.close),
    )
    fills = 0
    for order in store.open_orders(update.symbol):
        if order.status not in FILLABLE or order.accepted_at is None:
            continue
        price = match_against_bar(order, bar, order.accepted_at)
        if (
            price is not None
            and fill_order(store, order.account_id, order.id, price, event, now) == "filled"
        ):
            fills += 1
    return fills


def fill_order(
    store: TradingStore,
    account_id: str,
    order_id: str,
    price: Decimal,
    cause: Envelope,
    now: datetime,
) -> str:
    """Fill the order's remaining quantity at ``price``: one transaction, retried on conflict."""

    def attempt() -> str:
        order = store.get_order(account_id, order_id)
        if order is None or order.status not in FILLABLE or order.remaining_quantity <= 0:
            return "skipped"
        account = store.get_account(account_id)
        if account is None:
            raise LookupError(f"account {account_id} does not exist")
        fill = _fill_for(order, price, now)
        after = order.fill(fill.quantity, fill.price, now)
        position = store.get_position(account_id, order.symbol)
        position_after = position.apply(fill)
        account_after = account.apply(fill, position_after.realized_pnl - position.realized_pnl)
        event = Envelope.wrap(
            OrderFilled(order=order_view(after), fill=fill_view(fill)),
            account_id=account_id,
            correlation_id=cause.correlation_id,
            causation_id=cause.id,
            occurred_at=now,
        )
        store.apply_fill(
            order, after, fill, position, position_after, account, account_after, event
        )
        logger.info(
            "order filled",
            extra={
                "order_id": order_id,
                "trade_id": fill.trade_id,
                "price": str(price),
                "quantity": str(fill.quantity),
            },
        )
        return "filled"

    return on_conflict_retry(attempt)


def _fill_for(order: Order, price: Decimal, now: datetime) -> Fill:
    # The trade id derives from the order version it fills, so a replayed event that
    # races the original computes the same id and the trade's put condition stops it.
    return Fill(
        trade_id=f"{order.id}-{order.version}",
        order_id=order.id,
        account_id=order.account_id,
        symbol=order.symbol,
        side=order.side,
        quantity=order.remaining_quantity,
        price=price,
        commission=Decimal(0),
        executed_at=now,
    )

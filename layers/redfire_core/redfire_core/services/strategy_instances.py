"""Live strategy instances: start, stop, read, and drive them with bars and order events.

A bar (``MarketDataUpdated``) is handled by every running instance on its symbol and
interval: the instance's indicators are rebuilt from the last stored bars up to the
newest bar of the event (so no indicator state is persisted and a cold start loses
nothing), the strategy's ``on_bar`` runs once for that bar, and the orders it places go
through the normal order path (``place_order``, so pre-trade risk applies) with a client
order id derived from the instance, the bar and the strategy's order counter: a
redelivered event places nothing twice. Only a bar that starts after the instance's
watermark (``last_bar_start``) is acted on; the watermark, the strategy's state and its
order counter are then saved conditionally on the version read.

Order events (``OrderFilled``, ``OrderCanceled``, ``OrderDenied``, ``OrderRejected``,
``OrderExpired``) of an instance's orders (client order id ``si-<instance>-...``) reach
the strategy's ``on_fill`` / ``on_order``; each event is applied once (its id is kept).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any, Protocol

from redfire_core.adapters.strategy_instances import (
    ERROR,
    RUNNING,
    STOPPED,
    StrategyInstance,
)
from redfire_core.adapters.trading_store import ConflictError, Page, TradingStore
from redfire_core.domain.bars import INTERVALS, floor_to
from redfire_core.domain.bars import Bar as StoredBar
from redfire_core.domain.channels import STRATEGY_CLIENT_ID_PREFIX, STRATEGY_ORDER_EVENTS
from redfire_core.domain.errors import DomainError
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.positions import Account
from redfire_core.domain.quotas import Quotas
from redfire_core.domain.risk import LatestPrice, RiskLimits, equity_and_gross
from redfire_core.events import (
    Envelope,
    MarketDataUpdated,
    StrategyInstanceFailed,
    new_id,
    parse_iso,
)
from redfire_core.observability import logger
from redfire_core.services.instruments import instrument_cache
from redfire_core.services.managing import cancel_order
from redfire_core.services.placing import place_order
from redfire_core.strategies import (
    Bar,
    Fill,
    Strategy,
    StrategyError,
    StrategyFailed,
    StrategyOrder,
    guard_hooks,
    resolve_strategy,
    snapshot,
    strategy_named,
)
from redfire_core.strategies.history import PriceHistory, empty_history
from redfire_core.strategies.indicators import reads

CLIENT_ID_PREFIX = STRATEGY_CLIENT_ID_PREFIX
# Bars read beyond what the indicators need, so smoothed ones (EMA, RSI, ATR) settle.
WARMUP_MARGIN = 50
MAX_HISTORY_BARS = 2000
HISTORY_READS = 5  # each doubles the look-back window (nights, weekends, holidays)
SEEN_EVENTS_KEPT = 50
SAVE_ATTEMPTS = 5
ORDER_EVENTS = STRATEGY_ORDER_EVENTS
ZERO = Decimal(0)
HUNDRED = Decimal(100)


class InstanceStore(Protocol):
    """Where instances live (``adapters.strategy_instances.StrategyInstanceStore``)."""

    def create(self, instance: StrategyInstance, quotas: Quotas | None = None) -> None: ...

    def get(self, account_id: str, instance_id: str) -> StrategyInstance | None: ...

    def list_for(
        self, account_id: str, limit: int = 100, cursor: str | None = None
    ) -> Page[StrategyInstance]: ...

    def running(self, symbol: str, interval: str) -> list[tuple[str, str]]: ...

    def claimed(self, account_id: str, symbol: str) -> str | None: ...

    def save(self, instance: StrategyInstance, expected_version: int) -> None: ...

    def stop(
        self, stopped: StrategyInstance, expected_version: int, event: Envelope | None = None
    ) -> None: ...


class BarReader(Protocol):
    """The part of the ``MarketDataStore`` port the runner reads."""

    def read_bars(
        self, symbol: str, interval: str, start: datetime, end: datetime, limit: int
    ) -> list[StoredBar]: ...


# --- client order ids ---------------------------------------------------------------------


def client_order_id(instance_id: str, bar_start: datetime, order_id: int) -> str:
    """``si-<instance>-<bar start, epoch seconds>-<strategy order id>`` (at most 64 chars)."""
    return f"{CLIENT_ID_PREFIX}{instance_id}-{int(bar_start.timestamp())}-{order_id}"


def parse_client_order_id(text: str | None) -> tuple[str, int] | None:
    """(instance id, strategy order id) of an instance's order; None for any other."""
    if not text or not text.startswith(CLIENT_ID_PREFIX):
        return None
    parts = text[len(CLIENT_ID_PREFIX) :].split("-")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], int(parts[2])


# --- start, stop, read --------------------------------------------------------------------


def start_instance(
    instances: InstanceStore,
    trading: TradingStore,
    bars: BarReader,
    account_id: str,
    *,
    strategy: str,
    params: Mapping[str, Any],
    symbol: str,
    interval: str,
    now: datetime,
    quotas: Quotas | None = None,
) -> StrategyInstance:
    """Start ``strategy`` for the account on ``symbol``/``interval``; it holds one of the
    account's running instances until stopped (``QuotaExceeded`` when none is left).

    The watermark starts at the newest stored bar, so the instance acts only on bars that
    arrive after it started; its indicators are warmed up from the stored history on
    every bar, so the first live bar can already act."""
    strategy_class, resolved = resolve_strategy(strategy, params)
    if interval not in INTERVALS:
        raise DomainError(
            "STRATEGY_INVALID_INTERVAL",
            f"interval must be one of {', '.join(INTERVALS)}",
            "interval",
        )
    instrument = instrument_cache(trading).get(symbol)
    if instrument is None or not instrument.tradable:
        raise DomainError(
            "STRATEGY_UNKNOWN_SYMBOL", f"unknown or untradable symbol {symbol!r}", "symbol"
        )
    running = instances.claimed(account_id, symbol)
    if running is not None:
        # Instances share the account's position: one's close() would sell what another
        # bought, so one running instance per symbol until instances keep books of their own.
        raise DomainError(
            "STRATEGY_SYMBOL_TAKEN",
            f"instance {running} already trades {symbol} for this account: stop it first",
            "symbol",
        )
    history = recent_bars(bars, symbol, interval, now, count=1)
    instance = StrategyInstance(
        id=new_id(),
        account_id=account_id,
        strategy=strategy_class.name,
        params=resolved,
        symbol=symbol,
        interval=interval,
        status=RUNNING,
        created_at=now,
        last_bar_start=history[-1].start if history else None,
    )
    instances.create(instance, quotas)
    logger.info(
        "strategy instance started",
        extra={"instance_id": instance.id, "strategy": instance.strategy, "symbol": symbol},
    )
    return instance


def stop_instance(
    instances: InstanceStore, account_id: str, instance_id: str, now: datetime
) -> StrategyInstance | None:
    """Stop the instance (idempotent: a stopped one is answered as it is); None if the
    account has no such instance. Orders it placed stay as they are."""
    for _ in range(SAVE_ATTEMPTS):
        instance = instances.get(account_id, instance_id)
        if instance is None or not instance.running:
            return instance
        stopped = replace(instance, status=STOPPED, stopped_at=now, version=instance.version + 1)
        try:
            instances.stop(stopped, instance.version)
        except ConflictError:
            continue  # a bar or a fill was saved meanwhile: stop what is there now
        logger.info("strategy instance stopped", extra={"instance_id": instance_id})
        return stopped
    raise ConflictError(["instance kept changing"])


# --- bars ---------------------------------------------------------------------------------


def recent_bars(
    bars: BarReader, symbol: str, interval: str, end: datetime, count: int
) -> list[StoredBar]:
    """The last ``count`` stored bars that start before ``end`` (oldest first): the window
    doubles until it holds them or ``HISTORY_READS`` reads were made."""
    step = INTERVALS[interval]
    end = floor_to(end - timedelta(microseconds=1), interval) + step
    span = max(count * 2, 60)
    found: list[StoredBar] = []
    for _ in range(HISTORY_READS):
        start = end - step * span
        found = bars.read_bars(symbol, interval, start, end, limit=span + 1)
        if len(found) >= count:
            break
        span *= 2
    return found[-count:]


def history_needed(strategy: Strategy) -> int:
    """Bars to rebuild the strategy's indicators: their need, one more for ``previous``
    (crossovers), and a margin so smoothed indicators settle."""
    needed = max((ind.needed for ind in strategy.indicators), default=1)
    return min(max(needed + 1 + WARMUP_MARGIN, strategy.history_bars), MAX_HISTORY_BARS)


@dataclass
class BarOutcome:
    acted: int = 0  # instances whose strategy saw the bar
    ignored: int = 0  # duplicate or late bars, stopped instances, too little history
    orders: int = 0  # orders placed (or found already placed on a redelivery)
    failures: list[str] = field(default_factory=list)


def on_market_data(
    instances: InstanceStore,
    trading: TradingStore,
    bars: BarReader,
    event: Envelope,
    now: datetime,
) -> BarOutcome:
    """Hand the event's newest bar to every running instance on its symbol and interval.
    A failing instance does not keep the others from the bar; the event then fails (and
    is redelivered: instances that handled it ignore it by their watermark)."""
    update = MarketDataUpdated.model_validate(event.payload)
    outcome = BarOutcome()
    for account_id, instance_id in instances.running(update.symbol, update.interval):
        try:
            placed = run_bar(
                instances,
                trading,
                bars,
                account_id,
                instance_id,
                parse_iso(update.last_end),
                correlation_id=event.correlation_id,
                now=now,
            )
        except Exception:
            logger.exception("strategy instance failed on a bar", extra={"instance": instance_id})
            outcome.failures.append(instance_id)
            continue
        if placed is None:
            outcome.ignored += 1
        else:
            outcome.acted += 1
            outcome.orders += placed
    if outcome.failures:
        raise RuntimeError(f"{len(outcome.failures)} strategy instances failed on the bar")
    return outcome


def run_bar(
    instances: InstanceStore,
    trading: TradingStore,
    bars: BarReader,
    account_id: str,
    instance_id: str,
    until: datetime,
    *,
    correlation_id: str,
    now: datetime,
) -> int | None:
    """Run the instance on the newest stored bar that ends by ``until``; the number of
    orders placed, or None when the bar is not for it (late, duplicate, stopped)."""
    for _ in range(SAVE_ATTEMPTS):
        instance = instances.get(account_id, instance_id)
        if instance is None or not instance.running:
            return None
        live = LiveStrategy.rebuild(instance)
        try:
            history = live.start(bars, until)
            if not history:
                return None
            bar = history[-1]
            if instance.last_bar_start is not None and bar.start <= instance.last_bar_start:
                logger.info(
                    "late or duplicate bar ignored",
                    extra={
                        "instance_id": instance_id,
                        "bar_start": bar.start.isoformat(),
                        "last_bar_start": instance.last_bar_start.isoformat(),
                    },
                )
                return None
            live.clock.at = bar.start
            placed = 0
            if live.ready:
                context = _context(trading, instance, bar.close, bar.end)
                live.broker.attach(context, len(history) - 1)
                live.strategy.on_bar(Bar.of(len(history) - 1, bar))
                placed = live.send(trading, bar.start, correlation_id, now)
            updated = live.saved(last_bar_start=bar.start)
        except StrategyFailed as error:
            if not _failed(instances, instance, error, correlation_id, now):
                continue  # saved meanwhile: read again
            return 0
        try:
            instances.save(updated, instance.version)
        except ConflictError:
            continue  # a fill or a stop was saved meanwhile: read again and redo the bar
        logger.info(
            "strategy instance handled a bar",
            extra={
                "instance_id": instance_id,
                "bar_start": bar.start.isoformat(),
                "orders": placed,
            },
        )
        return placed
    raise ConflictError(["instance kept changing"])


class LiveStrategy:
    """An instance's strategy rebuilt for one invocation: its working orders and
    attributes restored, its indicators warmed up from the stored bars before any hook
    runs; what its hooks place or cancel is then sent, and what it is kept."""

    def __init__(self, instance: StrategyInstance) -> None:
        self.instance = instance
        book = instance.book or {}
        self.sent: dict[int, dict[str, Any]] = {
            int(entry["id"]): entry for entry in book.get("orders", [])
        }
        self.broker = LiveBroker([snapshot.order_from(entry) for entry in self.sent.values()])
        self.strategy = strategy_named(instance.strategy)(
            self.broker, instance.params, copy.deepcopy(instance.state)
        )
        self.strategy._next_id = instance.next_order_id
        self.clock = BarClock(instance.last_bar_start)
        guard_hooks(self.strategy, self.clock)
        self.ready = False

    @classmethod
    def rebuild(cls, instance: StrategyInstance) -> LiveStrategy:
        return cls(instance)

    def start(self, bars: BarReader, until: datetime) -> list[StoredBar]:
        """``on_start``, the indicators fed the stored bars up to ``until``, then the
        strategy's attributes as its last hook left them. The bars read (oldest first)."""
        instance, strategy = self.instance, self.strategy
        strategy.on_start()
        history = recent_bars(
            bars, instance.symbol, instance.interval, until, history_needed(strategy)
        )
        self.ready = bool(history) and _warm_up(strategy, history)
        self.broker.read(history)
        snapshot.restore(strategy, (instance.book or {}).get("attributes", {}), self.broker.working)
        return history

    def send(self, trading: TradingStore, at: datetime, correlation_id: str, now: datetime) -> int:
        """Place what the hooks submitted and ask to cancel what they canceled."""
        placed = _place(
            trading, self.strategy, self.broker, self.instance, at, correlation_id, now, self.sent
        )
        for order in self.broker.canceled:
            entry = self.sent.pop(order.id, None)
            if entry and entry.get("order_id"):
                _request_cancel(trading, self.instance.account_id, entry, correlation_id, now)
        self.broker.canceled.clear()
        return placed

    def ended(self, order_id: int) -> None:
        """The order is no longer working (filled, canceled, rejected)."""
        self.sent.pop(order_id, None)
        self.broker.working = [o for o in self.broker.working if o.id != order_id]

    def saved(self, **changes: Any) -> StrategyInstance:
        """The instance with the strategy's state, order counter, working orders and
        attributes (StrategyFailed when an attribute cannot be kept)."""
        strategy = self.strategy
        try:
            attributes = snapshot.snapshot(strategy)
        except StrategyError as error:
            raise StrategyFailed(f"{error.code}: {error}", "snapshot", self.clock()) from error
        orders = []
        for order in self.broker.working:
            entry = {**self.sent.get(order.id, {}), **snapshot.order_json(order)}
            orders.append(entry)
        return replace(
            self.instance,
            state=strategy.state,
            next_order_id=strategy._next_id,
            book={"orders": orders, "attributes": attributes},
            version=self.instance.version + 1,
            **changes,
        )


def _request_cancel(
    trading: TradingStore,
    account_id: str,
    entry: dict[str, Any],
    correlation_id: str,
    now: datetime,
) -> None:
    """Ask the order path to cancel a sent order; one that already ended is left be (its
    event tells the strategy how it ended)."""
    try:
        cancel_order(
            trading, account_id, str(entry["order_id"]), correlation_id=correlation_id, now=now
        )
    except DomainError as error:
        logger.info(
            "strategy cancel not sent",
            extra={"order_id": entry["order_id"], "code": error.code},
        )


class BarClock:
    """The start of the bar the strategy's hooks are handling, for the errors they raise."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at

    def __call__(self) -> datetime | None:
        return self.at


def _failed(
    instances: InstanceStore,
    instance: StrategyInstance,
    error: StrategyFailed,
    correlation_id: str,
    now: datetime,
) -> bool:
    """Move the instance to ``error`` with its last error and announce it on the stream
    (``StrategyInstanceFailed``); False when it changed since it was read."""
    failed = replace(
        instance,
        status=ERROR,
        stopped_at=now,
        last_error=error.as_json(),
        version=instance.version + 1,
    )
    event = Envelope.wrap(
        StrategyInstanceFailed(
            instance_id=instance.id,
            strategy=instance.strategy,
            symbol=instance.symbol,
            interval=instance.interval,
            status="error",
            error=error.as_json(),
        ),
        account_id=instance.account_id,
        correlation_id=correlation_id,
        occurred_at=now,
    )
    try:
        instances.stop(failed, instance.version, event)
    except ConflictError:
        return False
    logger.warning(
        "strategy instance failed",
        extra={"instance_id": instance.id, "error": error.as_json()},
    )
    return True


def _warm_up(strategy: Strategy, history: Sequence[StoredBar]) -> bool:
    """Feed the indicators every bar; True when they were all ready before the last bar
    (as a backtest first calls ``on_bar`` on the bar after they are ready)."""
    indicators = strategy.indicators
    close_fed = [ind for ind in indicators if reads(ind) == "close"]
    bar_fed = [ind for ind in indicators if reads(ind) == "hlc"]
    ohlcv_fed = [ind for ind in indicators if reads(ind) == "ohlcv"]
    ready_at = -1 if indicators else 0
    for i, bar in enumerate(history):
        close = float(bar.close)
        for ind in close_fed:
            ind.update(close)
        if bar_fed:
            high, low = float(bar.high), float(bar.low)
            for ind in bar_fed:
                ind.update_bar(high, low, close)
        for ind in ohlcv_fed:
            ind.update_ohlcv(
                float(bar.open), float(bar.high), float(bar.low), close, float(bar.volume)
            )
        if ready_at < 0 and all(ind.ready for ind in indicators):
            ready_at = i
    return 0 <= ready_at < len(history) - 1


# --- the live broker ----------------------------------------------------------------------


@dataclass(frozen=True)
class TradingContext:
    """What the strategy may see of the account when a bar or an order event comes."""

    account: Account
    position: Decimal
    equity: Decimal
    buying_power: Decimal
    price: Decimal
    position_cost: Decimal = ZERO  # signed cost basis of the position
    lot_size: Decimal = Decimal(1)  # the instrument's: the strategy sizes on its grid


def _context(
    trading: TradingStore, instance: StrategyInstance, price: Decimal, at: datetime
) -> TradingContext:
    account = trading.get_account(instance.account_id)
    if account is None:
        raise LookupError(f"account {instance.account_id} does not exist")
    positions = trading.list_positions(instance.account_id)
    latest = LatestPrice(instance.symbol, price, at)
    equity, gross = equity_and_gross(account, positions, {}, latest)
    held = next((p for p in positions if p.symbol == instance.symbol), None)
    instrument = instrument_cache(trading).get(instance.symbol)
    return TradingContext(
        account,
        held.quantity if held else ZERO,
        equity,
        account.buying_power(equity, gross),
        price,
        held.cost_basis if held else ZERO,
        instrument.lot_size if instrument else Decimal(1),
    )


class LiveBroker:
    """The strategy's orders live: those still working from earlier invocations, and
    what its hooks submit or cancel now (the runner then sends it)."""

    def __init__(self, working: list[StrategyOrder] | None = None) -> None:
        self.working: list[StrategyOrder] = list(working or [])
        self.submitted: list[StrategyOrder] = []
        self.canceled: list[StrategyOrder] = []
        self.bars: PriceHistory = empty_history()
        self.context: TradingContext | None = None
        self.index = 0

    def attach(self, context: TradingContext, index: int) -> None:
        self.context = context
        self.index = index

    def submit(self, order: StrategyOrder) -> StrategyOrder:
        self.submitted.append(order)
        self.working.append(order)
        return order

    def cancel(self, order: StrategyOrder) -> None:
        """Withdraw an order not sent yet; ask the order path to cancel a sent one (the
        strategy's ``on_order`` sees it canceled when the order path has canceled it)."""
        if order not in self.working:
            return
        self.working.remove(order)
        if order in self.submitted:
            self.submitted.remove(order)
            order.status = "canceled"
            order.reason = "canceled by the strategy"
        else:
            self.canceled.append(order)

    @property
    def orders(self) -> list[StrategyOrder]:
        return self.working

    @property
    def position(self) -> float:
        return float(self.context.position) if self.context else 0.0

    @property
    def equity(self) -> float:
        return float(self.context.equity) if self.context else 0.0

    @property
    def bar_index(self) -> int:
        return self.index

    @property
    def position_cost(self) -> float:
        return float(self.context.position_cost) if self.context else 0.0

    @property
    def history(self) -> PriceHistory:
        return self.bars

    def read(self, bars: Sequence[StoredBar]) -> None:
        """The stored bars up to the one being handled become ``self.data``."""
        self.bars = PriceHistory(
            [b.start for b in bars],
            [float(b.open) for b in bars],
            [float(b.high) for b in bars],
            [float(b.low) for b in bars],
            [float(b.close) for b in bars],
            [float(b.volume) for b in bars],
            lambda: len(bars),
        )

    @property
    def last_price(self) -> float:
        return float(self.context.price) if self.context else 0.0

    @property
    def lot_size(self) -> float:
        return float(self.context.lot_size) if self.context else 1.0


def _place(
    trading: TradingStore,
    strategy: Strategy,
    broker: LiveBroker,
    instance: StrategyInstance,
    at: datetime,
    correlation_id: str,
    now: datetime,
    sent: dict[int, dict[str, Any]],
) -> int:
    """Send the orders the hooks submitted through the normal order path (``sent`` then
    maps each to its client order id and order id); ones that cannot be sent end
    ``rejected`` for the strategy (``on_order``). Returns how many were placed."""
    instrument = instrument_cache(trading).get(instance.symbol)
    if instrument is None:
        raise LookupError(f"instrument {instance.symbol} does not exist")
    context = broker.context
    if context is None:
        raise LookupError("no trading context attached")
    placed = 0
    ended: list[StrategyOrder] = []
    submitted, broker.submitted = broker.submitted, []
    for order in submitted:
        body, reason = order_body(order, instrument, context)
        if body is None:
            order.status, order.reason = "rejected", reason
            ended.append(order)
            continue
        body["client_order_id"] = client_order_id(instance.id, at, order.id)
        try:
            result = place_order(
                trading,
                instance.account_id,
                body,
                correlation_id=correlation_id,
                now=now,
                closes_position=order.closes,
            )
        except DomainError as error:
            if error.code == "ORDER_ID_CONFLICT":
                # An earlier attempt at this bar placed it when the account looked different
                # (a fill came in between): that order stands.
                sent[order.id] = {"client_order_id": body["client_order_id"], "order_id": None}
                placed += 1
                continue
            order.status, order.reason = "rejected", f"{error.code}: {error.message}"
            ended.append(order)
            continue
        sent[order.id] = {"client_order_id": body["client_order_id"], "order_id": result.order.id}
        placed += 1
    for order in ended:
        if order in broker.working:
            broker.working.remove(order)
        logger.info(
            "strategy order not placed",
            extra={"instance_id": instance.id, "order": order.id, "reason": order.reason},
        )
        strategy.on_order(order)
    if broker.submitted:  # on_order placed more: send those too
        placed += _place(trading, strategy, broker, instance, at, correlation_id, now, sent)
    return placed


def order_body(
    order: StrategyOrder, instrument: Instrument, context: TradingContext
) -> tuple[dict[str, Any] | None, str]:
    """The ``place_order`` body of a strategy order, or None and why it cannot be sent."""
    side = "buy" if order.side > 0 else "sell"
    limit = None if order.closes or order.limit is None else _to_tick(order.limit, instrument)
    stop = None if order.closes or order.stop is None else _to_tick(order.stop, instrument)
    if order.quantity is not None:
        quantity = Decimal(repr(order.quantity))
    else:
        if side == "sell" and not context.account.margin_enabled:
            return None, "a cash account cannot sell short"
        quantity = all_equity_units(context, instrument, limit or stop)
        if quantity <= 0:
            return None, "not enough buying power for one unit"
    quantity = _to_lot(quantity, instrument)
    if quantity < instrument.min_quantity or quantity <= 0:
        return None, f"quantity below the instrument's minimum {instrument.min_quantity}"
    if stop is not None:
        kind = "stop" if limit is None else "stop_limit"
    else:
        kind = "market" if limit is None else "limit"
    body: dict[str, Any] = {
        "symbol": instrument.symbol,
        "side": side,
        "type": kind,
        "quantity": format(quantity, "f"),
        "time_in_force": "gtc",
    }
    if limit is not None:
        body["limit_price"] = format(limit, "f")
    if stop is not None:
        body["stop_price"] = format(stop, "f")
    return {**body, **_exits(order, instrument)}, ""


def _exits(order: StrategyOrder, instrument: Instrument) -> dict[str, Any]:
    """A bracket's (both exits) or an oto's (one) fields, as the backtester runs them."""
    exits = {
        "take_profit": None if order.take_profit is None else {"limit_price": order.take_profit},
        "stop_loss": None if order.stop_loss is None else {"stop_price": order.stop_loss},
    }
    given = {name: leg for name, leg in exits.items() if leg is not None}
    if not given:
        return {}
    fields: dict[str, Any] = {"order_class": "bracket" if len(given) == 2 else "oto"}
    for name, leg in given.items():
        fields[name] = {k: format(_to_tick(v, instrument), "f") for k, v in leg.items()}
    return fields


def all_equity_units(
    context: TradingContext, instrument: Instrument, price: Decimal | None
) -> Decimal:
    """The most units, in whole lots, whose reservation (what risk holds for the order:
    at the limit/stop price, else the last close plus the default price band, plus
    commission) fits the account's buying power now."""
    available = context.buying_power
    if price is None:
        price = context.price * (1 + RiskLimits().price_band_pct / HUNDRED)
    if available <= 0 or price <= 0:
        return ZERO
    execution = context.account.execution
    lot = instrument.lot_size
    units = (available / price / lot).to_integral_value(ROUND_FLOOR) * lot
    while units > 0 and units * price + execution.commission(units, price) > available:
        units -= lot
    return units


def _to_tick(value: float, instrument: Instrument) -> Decimal:
    if not math.isfinite(value) or value <= 0:
        raise StrategyError("ORDER_INVALID", f"price must be a positive number: {value}")
    tick = instrument.tick_size
    return (Decimal(repr(value)) / tick).to_integral_value(ROUND_HALF_EVEN) * tick


def _to_lot(quantity: Decimal, instrument: Instrument) -> Decimal:
    lot = instrument.lot_size
    return ((quantity / lot).to_integral_value(ROUND_FLOOR) * lot).normalize()


# --- order events ------------------------------------------------------------------------


_ENDED_AS = {
    "OrderCanceled": "canceled",
    "OrderExpired": "canceled",
    "OrderDenied": "rejected",
    "OrderRejected": "rejected",
}


def on_order_event(
    instances: InstanceStore,
    trading: TradingStore,
    bars: BarReader,
    event: Envelope,
    now: datetime,
) -> str:
    """Give an order event of an instance's order to its strategy, once per event, with
    its indicators warmed up and its attributes and working orders restored; orders its
    ``on_fill`` / ``on_order`` place or cancel are sent like those of ``on_bar``."""
    if event.type not in ORDER_EVENTS or event.account_id is None:
        return "ignored"
    view = event.payload.get("order") or {}
    parsed = parse_client_order_id(view.get("client_order_id"))
    if parsed is None:
        return "ignored"
    instance_id, order_id = parsed
    for _ in range(SAVE_ATTEMPTS):
        instance = instances.get(event.account_id, instance_id)
        if instance is None:
            return "ignored"
        if event.id in instance.seen_events:
            return "duplicate"
        if not instance.running:
            updated = replace(
                instance,
                seen_events=(*instance.seen_events, event.id)[-SEEN_EVENTS_KEPT:],
                version=instance.version + 1,
            )
        else:
            live = LiveStrategy.rebuild(instance)
            try:
                live.start(bars, now)
                price = _mark(trading, instance.symbol, event)
                if price is not None:
                    live.broker.attach(_context(trading, instance, price, now), 0)
                _notify(live, order_id, event)
                if live.broker.context is not None:
                    live.send(
                        trading,
                        instance.last_bar_start or now,
                        event.correlation_id,
                        now,
                    )
                updated = live.saved(
                    seen_events=(*instance.seen_events, event.id)[-SEEN_EVENTS_KEPT:]
                )
            except StrategyFailed as error:
                if not _failed(instances, instance, error, event.correlation_id, now):
                    continue
                return "failed"
        try:
            instances.save(updated, instance.version)
        except ConflictError:
            continue
        return "applied" if instance.running else "stopped"
    raise ConflictError(["instance kept changing"])


def _notify(live: LiveStrategy, order_id: int, event: Envelope) -> None:
    strategy = live.strategy
    view = event.payload["order"]
    side = 1 if view["side"] == "buy" else -1
    # The handle the strategy holds (self.entry is this object), else one rebuilt.
    order = next((o for o in live.broker.working if o.id == order_id), None)
    if order is None:
        order = StrategyOrder(
            order_id,
            side,
            float(view["quantity"]),
            float(view["limit_price"]) if view.get("limit_price") else None,
            float(view["stop_price"]) if view.get("stop_price") else None,
        )
    order.filled_quantity = float(view.get("filled_quantity") or 0)
    if view.get("average_fill_price"):
        order.fill_price = float(view["average_fill_price"])
    if event.type == "OrderFilled":
        fill = event.payload["fill"]
        quantity = float(fill["quantity"]) * side
        if view["status"] == "filled":
            order.status = "filled"
            live.ended(order_id)  # not working any more when the strategy hears of it
        strategy.on_fill(
            Fill(
                order_id,
                quantity,
                float(fill["price"]),
                float(fill["commission"]),
                -1,
                parse_iso(fill["executed_at"]),
            )
        )
        if view["status"] != "filled":
            return  # partly filled: the order has not ended
    else:
        order.status = _ENDED_AS[event.type]
        order.reason = _reason(event)
        live.ended(order_id)
    strategy.on_order(order)


def _mark(trading: TradingStore, symbol: str, event: Envelope) -> Decimal | None:
    """The price to value the account at: the fill's, else the symbol's latest."""
    if event.type == "OrderFilled":
        return Decimal(str(event.payload["fill"]["price"]))
    latest = trading.latest_price(symbol)
    return latest.price if latest else None


def _reason(event: Envelope) -> str:
    """The first reason's code of a denied or rejected order, else the event type."""
    view = event.payload.get("order") or {}
    for reason in (*(event.payload.get("reject_reasons") or []), view.get("reject_reason")):
        if isinstance(reason, dict) and reason.get("code"):
            return str(reason["code"])
    return event.type


# --- reads ---------------------------------------------------------------------------------


def get_instance(
    instances: InstanceStore, account_id: str, instance_id: str
) -> StrategyInstance | None:
    """The account's instance, or None (another account's id is simply not found)."""
    return instances.get(account_id, instance_id)


def list_instances(
    instances: InstanceStore, account_id: str, limit: int = 100, cursor: str | None = None
) -> Page[StrategyInstance]:
    """The account's instances, newest first."""
    return instances.list_for(account_id, limit, cursor)

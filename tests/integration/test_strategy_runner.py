"""The live strategy runner in moto: bars from the market data store drive instances
through the real SQS handler; orders go through the normal path; state survives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.adapters.strategy_instances import StrategyInstanceStore
from redfire_core.adapters.trading_store import ConflictError, TradingStore
from redfire_core.domain.bars import Bar as StoredBar
from redfire_core.events import Envelope, MarketDataUpdated, iso
from redfire_core.services import strategy_instances as service
from redfire_core.strategies import Bar, Fill, Strategy, StrategyOrder
from redfire_core.strategies.builtin import BUILT_IN
from tests.support.events import LambdaContext, eventbridge_body, sqs_event
from tests.support.pipeline import Pipeline

MINUTE = timedelta(minutes=1)
# sma_cross fast=2 slow=3: falling closes keep the fast SMA below; the jump crosses it.
FALLING = [110, 109, 108, 107, 106, 105, 104, 103, 102, 101]
JUMP = 120


class Recorder(Strategy):
    """Buys one unit on every bar it sees; remembers bars, fills and ended orders."""

    name: ClassVar[str] = "recorder_test"
    parameters: ClassVar[dict[str, Any]] = {"size": 1}

    def on_bar(self, bar: Bar) -> None:
        self.state["bars"] = [*self.state.get("bars", []), bar.close]
        self.buy(self.params["size"])

    def on_fill(self, fill: Fill) -> None:
        self.state["filled"] = self.state.get("filled", 0.0) + fill.quantity

    def on_order(self, order: StrategyOrder) -> None:
        self.state.setdefault("ended", []).append(order.status)


@pytest.fixture(autouse=True)
def recorder_strategy() -> Iterator[None]:
    BUILT_IN[Recorder.name] = Recorder
    yield
    BUILT_IN.pop(Recorder.name, None)


@pytest.fixture
def origin() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) - 30 * MINUTE


def bar(origin: datetime, index: int, close: float) -> StoredBar:
    price = Decimal(str(close))
    return StoredBar(
        "GOOG", "1m", origin + index * MINUTE, price, price + 1, price - 1, price, Decimal(100)
    )


def write(bars: list[StoredBar]) -> None:
    DynamoDbMarketDataStore().write_bars(bars)
    newest = bars[-1]
    DynamoDbMarketDataStore().advance_latest("GOOG", newest.close, newest.end)


def update_event(first: StoredBar, last: StoredBar) -> Envelope:
    return Envelope.wrap(
        MarketDataUpdated(
            symbol="GOOG",
            interval="1m",
            first_start=iso(first.start),
            last_end=iso(last.end),
            open=str(first.open),
            high=str(last.high),
            low=str(last.low),
            close=str(last.close),
            volume="100",
            bar_count=1,
        ),
        account_id=None,
        correlation_id="corr-bars",
        occurred_at=last.end,
    )


def run(*events: Envelope) -> dict[str, Any]:
    from redfire_strategies.runner import handler

    bodies = [eventbridge_body(e.model_dump_json()) for e in events]
    return handler(sqs_event(bodies), LambdaContext())  # type: ignore[no-any-return]


def start(strategy: str = "sma_cross", **params: Any) -> str:
    if strategy == "sma_cross" and not params:
        params = {"fast": 2, "slow": 3}
    instance = service.start_instance(
        StrategyInstanceStore(),
        TradingStore(),
        DynamoDbMarketDataStore(),
        "demo",
        strategy=strategy,
        params=params,
        symbol="GOOG",
        interval="1m",
        now=datetime.now(UTC),
    )
    return instance.id


def strategy_orders(store: TradingStore) -> list[Any]:
    return [
        o
        for o in store.list_orders("demo", 100, None).items
        if (o.client_order_id or "").startswith("si-")
    ]


def test_a_crossover_on_a_new_bar_places_one_sized_market_order(
    seeded: TradingStore, origin: datetime
) -> None:
    write([bar(origin, i, c) for i, c in enumerate(FALLING)])
    instance_id = start()
    jump = bar(origin, 10, JUMP)
    write([jump])

    result = run(update_event(jump, jump))

    assert result["batchItemFailures"] == []
    (order,) = strategy_orders(seeded)
    assert (order.side.value, order.type.value, order.status.value) == (
        "buy",
        "market",
        "submitted",
    )
    # All equity: 100,000 of buying power at 120 plus the 5 % price band risk reserves.
    assert order.quantity == Decimal(100_000) // (Decimal(JUMP) * Decimal("1.05"))
    assert order.client_order_id == f"si-{instance_id}-{int(jump.start.timestamp())}-1"
    saved = StrategyInstanceStore().get("demo", instance_id)
    assert saved is not None and saved.last_bar_start == jump.start and saved.next_order_id == 1


def test_a_redelivered_bar_places_no_second_order(seeded: TradingStore, origin: datetime) -> None:
    write([bar(origin, i, c) for i, c in enumerate(FALLING)])
    start()
    jump = bar(origin, 10, JUMP)
    write([jump])
    event = update_event(jump, jump)

    run(event)
    run(event)
    run(update_event(jump, jump))  # the same bar announced again under a new event id

    assert len(strategy_orders(seeded)) == 1


def test_a_late_bar_does_nothing(seeded: TradingStore, origin: datetime) -> None:
    write([bar(origin, i, 100) for i in range(5)])
    instance_id = start("recorder_test")
    write([bar(origin, 5, 101), bar(origin, 6, 102)])
    run(update_event(bar(origin, 6, 102), bar(origin, 6, 102)))
    before = StrategyInstanceStore().get("demo", instance_id)

    result = run(update_event(bar(origin, 5, 101), bar(origin, 5, 101)))

    assert result["batchItemFailures"] == []
    assert StrategyInstanceStore().get("demo", instance_id) == before
    assert len(strategy_orders(seeded)) == 1


def test_a_bar_from_before_the_start_does_nothing(seeded: TradingStore, origin: datetime) -> None:
    write([bar(origin, i, 100) for i in range(5)])
    instance_id = start("recorder_test")

    run(update_event(bar(origin, 4, 100), bar(origin, 4, 100)))

    saved = StrategyInstanceStore().get("demo", instance_id)
    assert saved is not None and saved.state == {} and strategy_orders(seeded) == []


def test_a_crash_after_placing_is_redelivered_without_a_second_order(
    seeded: TradingStore, origin: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    write([bar(origin, i, 100) for i in range(5)])
    instance_id = start("recorder_test")
    write([bar(origin, 5, 101)])
    event = update_event(bar(origin, 5, 101), bar(origin, 5, 101))
    real_save = StrategyInstanceStore.save

    def crash(self: StrategyInstanceStore, instance: Any, expected_version: int) -> None:
        raise RuntimeError("the container died before the instance was saved")

    monkeypatch.setattr(StrategyInstanceStore, "save", crash)
    with pytest.raises(BatchProcessingError):  # the whole batch failed: SQS redelivers it
        run(event)
    monkeypatch.setattr(StrategyInstanceStore, "save", real_save)
    retried = run(event)

    assert retried["batchItemFailures"] == []
    assert len(strategy_orders(seeded)) == 1
    saved = StrategyInstanceStore().get("demo", instance_id)
    assert saved is not None and saved.state == {"bars": [101.0]}


def test_state_survives_a_cold_start(seeded: TradingStore, origin: datetime) -> None:
    import redfire_strategies.runner as runner

    write([bar(origin, i, 100) for i in range(5)])
    instance_id = start("recorder_test")
    for i, close in ((5, 101), (6, 102)):
        write([bar(origin, i, close)])
        for cached in (runner._instances, runner._trading, runner._bars):
            cached.cache_clear()  # a new container: nothing but the table remembers
        run(update_event(bar(origin, i, close), bar(origin, i, close)))

    saved = StrategyInstanceStore().get("demo", instance_id)
    assert saved is not None and saved.state == {"bars": [101.0, 102.0]}
    assert len(strategy_orders(seeded)) == 2


def test_orders_go_through_risk_and_the_fill_reaches_the_strategy_once(
    seeded: TradingStore, origin: datetime, pipeline: Pipeline
) -> None:
    write([bar(origin, i, 100) for i in range(5)])
    instance_id = start("recorder_test")
    write([bar(origin, 5, 100)])
    run(update_event(bar(origin, 5, 100), bar(origin, 5, 100)))

    pipeline.run_until_quiet()

    (order,) = strategy_orders(seeded)
    assert order.status.value == "filled"
    saved = StrategyInstanceStore().get("demo", instance_id)
    assert saved is not None
    assert saved.state["filled"] == 1.0 and saved.state["ended"] == ["filled"]
    assert len(saved.seen_events) == 1


def test_an_order_risk_denies_ends_rejected_for_the_strategy(
    seeded: TradingStore, origin: datetime, pipeline: Pipeline
) -> None:
    write([bar(origin, i, 100) for i in range(5)])
    instance_id = start("recorder_test", size=5000)  # 500,000 > 100,000 of buying power
    write([bar(origin, 5, 100)])
    run(update_event(bar(origin, 5, 100), bar(origin, 5, 100)))

    pipeline.run_until_quiet()

    (order,) = strategy_orders(seeded)
    assert order.status.value == "denied"
    saved = StrategyInstanceStore().get("demo", instance_id)
    assert saved is not None and saved.state["ended"] == ["rejected"]


def test_a_stopped_instance_ignores_bars_and_leaves_the_running_index(
    seeded: TradingStore, origin: datetime
) -> None:
    write([bar(origin, i, 100) for i in range(5)])
    instance_id = start("recorder_test")
    stopped = service.stop_instance(StrategyInstanceStore(), "demo", instance_id, datetime.now(UTC))
    write([bar(origin, 5, 101)])

    run(update_event(bar(origin, 5, 101), bar(origin, 5, 101)))

    assert stopped is not None and stopped.status == "stopped"
    assert StrategyInstanceStore().running("GOOG", "1m") == []
    assert strategy_orders(seeded) == []


def test_a_stale_version_is_refused(seeded: TradingStore, origin: datetime) -> None:
    write([bar(origin, i, 100) for i in range(5)])
    instance_id = start("recorder_test")
    store = StrategyInstanceStore()
    instance = store.get("demo", instance_id)
    assert instance is not None
    store.save(instance.__class__(**{**instance.__dict__, "version": 2}), expected_version=1)

    with pytest.raises(ConflictError):
        store.save(instance, expected_version=1)


def test_other_events_and_foreign_orders_are_ignored(seeded: TradingStore) -> None:
    order_view = {"client_order_id": "mine-1", "side": "buy", "quantity": "1", "status": "filled"}
    event = Envelope(
        id="01JTESTEVENT0000000000000",
        type="OrderCanceled",
        occurred_at=iso(datetime.now(UTC)),
        account_id="demo",
        correlation_id="c",
        payload={"order": order_view},
    )

    result = run(event)

    assert result["batchItemFailures"] == []
    assert json.dumps(event.payload)  # untouched


class Exploding(Strategy):
    """Raises on every bar it sees."""

    name: ClassVar[str] = "exploding_test"

    def on_bar(self, bar: Bar) -> None:
        raise KeyError("atr")


def stream_events(pipeline: Pipeline, event_type: str) -> list[dict[str, Any]]:
    """Envelopes of ``event_type`` the relay put on the bus for the stream queue."""
    import boto3

    from redfire_core.config import get_settings

    pipeline.relay()
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().declaration.name("stream"))["QueueUrl"]
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            detail = json.loads(message["Body"])["detail"]
            if detail["type"] == event_type:
                found.append(detail)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_a_strategy_that_raises_moves_its_instance_to_error_and_says_so(
    seeded: TradingStore, origin: datetime, pipeline: Pipeline
) -> None:
    BUILT_IN[Exploding.name] = Exploding
    try:
        write([bar(origin, i, 100) for i in range(5)])
        instance_id = start("exploding_test")
        fatal = bar(origin, 5, 101)
        write([fatal])

        result = run(update_event(fatal, fatal))

        assert result["batchItemFailures"] == []  # handled: not retried into the DLQ
        failed = StrategyInstanceStore().get("demo", instance_id)
        assert failed is not None and failed.status == "error"
        error = {
            "code": "STRATEGY_ERROR",
            "message": "KeyError in on_bar: 'atr'",
            "bar_time": iso(fatal.start).replace(".000Z", "Z"),
        }
        assert failed.last_error == error
        assert StrategyInstanceStore().running("GOOG", "1m") == []
        [announced] = stream_events(pipeline, "StrategyInstanceFailed")
        assert announced["payload"]["instance_id"] == instance_id
        assert announced["payload"]["error"] == error
    finally:
        BUILT_IN.pop(Exploding.name, None)


class Protected(Strategy):
    """Buys one unit on its first bar; when it fills, places a protective stop 5 below
    the fill (kept as ``self.stop_order``) and notes the SMA it saw then."""

    name: ClassVar[str] = "protected_test"

    def on_start(self) -> None:
        self.average = self.sma(3)
        self.entry: StrategyOrder | None = None
        self.stop_order: StrategyOrder | None = None

    def on_bar(self, bar: Bar) -> None:
        if self.entry is None:
            self.entry = self.buy(1)

    def on_fill(self, fill: Fill) -> None:
        if fill.order_id == (self.entry.id if self.entry else None):
            self.state["sma_at_fill"] = self.average.value
            self.stop_order = self.sell(1, stop=fill.price - 5)


class PatientEntry(Strategy):
    """A limit entry far below the market that expires after one bar: cancelled by the
    handle kept from the bar it was placed on."""

    name: ClassVar[str] = "patient_test"

    def on_start(self) -> None:
        self.entry: StrategyOrder | None = None
        self.placed_at: datetime | None = None

    def on_bar(self, bar: Bar) -> None:
        self.state.setdefault("working", []).append([o.id for o in self.orders])
        if self.entry is None:
            self.entry = self.buy(1, limit=bar.close - 50)
            self.placed_at = bar.time
        elif self.entry in self.orders and bar.time > self.placed_at:
            self.cancel(self.entry)


@pytest.fixture
def live_strategies() -> Iterator[None]:
    BUILT_IN.update({Protected.name: Protected, PatientEntry.name: PatientEntry})
    yield
    BUILT_IN.pop(Protected.name, None)
    BUILT_IN.pop(PatientEntry.name, None)


def test_an_order_placed_in_on_fill_is_sent_with_warm_indicators(
    seeded: TradingStore, origin: datetime, pipeline: Pipeline, live_strategies: None
) -> None:
    write([bar(origin, i, 100) for i in range(5)])
    instance_id = start("protected_test")
    write([bar(origin, 5, 100)])
    run(update_event(bar(origin, 5, 100), bar(origin, 5, 100)))

    pipeline.run_until_quiet()

    entry, stop = sorted(strategy_orders(seeded), key=lambda o: o.client_order_id or "")
    assert (entry.type.value, entry.status.value) == ("market", "filled")
    assert (stop.side.value, stop.type.value) == ("sell", "stop")
    assert stop.stop_price == entry.average_fill_price - 5
    saved = StrategyInstanceStore().get("demo", instance_id)
    assert saved is not None and saved.state["sma_at_fill"] == 100.0
    assert [o["id"] for o in saved.book["orders"]] == [2]  # the stop works; the entry ended
    assert saved.book["attributes"]["stop_order"]["$order"]["id"] == 2


def test_an_entry_kept_from_an_earlier_bar_is_listed_and_canceled_by_its_handle(
    seeded: TradingStore, origin: datetime, pipeline: Pipeline, live_strategies: None
) -> None:
    write([bar(origin, i, 100) for i in range(5)])
    instance_id = start("patient_test")
    for i in (5, 6, 7):
        write([bar(origin, i, 100)])
        run(update_event(bar(origin, i, 100), bar(origin, i, 100)))
        pipeline.run_until_quiet()

    (entry,) = strategy_orders(seeded)  # placed once, not re-sent every bar
    assert entry.status.value == "canceled"
    saved = StrategyInstanceStore().get("demo", instance_id)
    assert saved is not None
    assert saved.state["working"] == [[], [1], []]
    assert saved.book["orders"] == []


class Noting(Strategy):
    """Buys 10 on its first bar; on every bar notes position, average price and P&L, and
    the last two closes of ``self.data``."""

    name: ClassVar[str] = "noting_test"

    def on_bar(self, bar: Bar) -> None:
        if "noted" not in self.state:
            self.buy(10)
        self.state.setdefault("noted", []).append(
            [self.position, self.position_price, self.position_pnl]
        )
        self.state.setdefault("closes", []).append(self.data.close[-2:])


def test_a_live_strategy_sees_its_positions_average_price_and_pnl(
    seeded: TradingStore, origin: datetime, pipeline: Pipeline
) -> None:
    BUILT_IN[Noting.name] = Noting
    try:
        write([bar(origin, i, 100) for i in range(5)])
        instance_id = start("noting_test")
        for i, close in ((5, 100), (6, 104)):
            write([bar(origin, i, close)])
            run(update_event(bar(origin, i, close), bar(origin, i, close)))
            pipeline.run_until_quiet()

        (order,) = strategy_orders(seeded)
        price = float(order.average_fill_price)
        saved = StrategyInstanceStore().get("demo", instance_id)
        assert saved is not None
        assert saved.state["noted"][1] == [10.0, price, 10 * (104 - price)]
        assert saved.state["closes"] == [[100.0, 100.0], [100.0, 104.0]]  # self.data
    finally:
        BUILT_IN.pop(Noting.name, None)

"""Domain events: one envelope for all, a payload model per type.

The JSON Schemas in ``events/`` are generated from these models
(``redfire schemas``) and a contract test fails when they drift.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from ulid import ULID

SCHEMA_VERSION = 1


def new_id() -> str:
    return str(ULID())


class OrderView(BaseModel):
    """An order as the REST API shows it (decimals as strings, lowercase enums)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    client_order_id: str | None
    status: str
    symbol: str
    side: Literal["buy", "sell"]
    type: str
    quantity: str
    limit_price: str | None
    stop_price: str | None
    trail_price: str | None = None
    trail_percent: str | None = None
    time_in_force: str
    filled_quantity: str
    average_fill_price: str | None
    commission: str = "0"
    reject_reason: dict[str, Any] | None
    reject_reasons: list[dict[str, Any]] | None = None  # a denied order: every reason
    replaces: str | None = None
    replaced_by: str | None = None
    expires_at: str | None = None
    created_at: str
    updated_at: str
    sequence: int | None = None  # the account's order number, given when it was stored
    order_class: str = "simple"  # simple, bracket, oco or oto
    parent_order_id: str | None = None  # a leg: its group's parent order
    legs: list[OrderView] | None = None  # a parent, as the REST API shows it: its legs
    notional: str | None = None  # a notional order's amount (its quantity is 0 until filled)


class FillView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trade_id: str
    order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    quantity: str
    price: str
    commission: str
    executed_at: str


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_type: ClassVar[str]


class OrderSubmitted(Payload):
    event_type = "OrderSubmitted"
    order: OrderView


class OrderAccepted(Payload):
    event_type = "OrderAccepted"
    order: OrderView


class OrderDenied(Payload):
    event_type = "OrderDenied"
    order: OrderView
    reject_reasons: list[dict[str, Any]]


class OrderFilled(Payload):
    event_type = "OrderFilled"
    order: OrderView
    fill: FillView
    # The position's quantity after the fill (Alpaca's trade_updates `position_qty`).
    position_quantity: str | None = None


class OrderRejected(Payload):
    """The gateway refused an accepted order (e.g. a replace whose original had filled)."""

    event_type = "OrderRejected"
    order: OrderView


class OrderCancelRequested(Payload):
    event_type = "OrderCancelRequested"
    order: OrderView


class OrderCanceled(Payload):
    event_type = "OrderCanceled"
    order: OrderView


class OrderReplaced(Payload):
    """The original order is now ``replaced``; ``order`` is the replacement."""

    event_type = "OrderReplaced"
    order: OrderView
    replaced: OrderView


class OrderExpired(Payload):
    event_type = "OrderExpired"
    order: OrderView


class PositionView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: str
    quantity: str
    average_cost: str
    cost_basis: str
    realized_pnl: str


class PositionChanged(Payload):
    event_type = "PositionChanged"
    position: PositionView
    trade_id: str


class AccountBalanceView(BaseModel):
    """An account's money after a change: what moved, not a valuation (GET /v1/account
    adds equity and buying power at the latest prices)."""

    model_config = ConfigDict(extra="forbid")

    currency: str
    cash: str
    reserved: str  # held for open orders
    realized_pnl: str
    commissions: str


class AccountChanged(Payload):
    """Cash or reservations moved: a fill, an accepted order, or a release."""

    event_type = "AccountChanged"
    account: AccountBalanceView
    reason: Literal["fill", "reserved", "released"]
    order_id: str


class MarketDataUpdated(Payload):
    """References and aggregates of a batch of bars, never the bars themselves."""

    event_type = "MarketDataUpdated"
    symbol: str
    interval: str
    first_start: str
    last_end: str
    open: str
    high: str
    low: str
    close: str
    volume: str
    bar_count: int = Field(ge=1)


class DataGapDetected(Payload):
    """Bars the instrument's calendar expects are missing in [start, end); a backfill follows."""

    event_type = "DataGapDetected"
    symbol: str
    interval: str
    start: str
    end: str
    missing_bars: int = Field(ge=1)
    provider: str


class RiskLimitBreached(Payload):
    """Post-trade monitoring found a limit broken; ``state`` is the account's state now."""

    event_type = "RiskLimitBreached"
    code: str
    message: str
    limit: str | None
    actual: str | None
    breaches: list[dict[str, Any]]
    action: Literal["reducing", "halted"]
    state: Literal["active", "reducing", "halted"]
    equity: str
    start_equity: str
    peak_equity: str


class BacktestView(BaseModel):
    """A backtest as ``GET /v1/backtests/{id}`` shows it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    status: Literal["queued", "running", "completed", "failed"]
    strategy: str
    params: dict[str, Any]
    symbol: str
    interval: str
    start: str
    end: str
    cash: str
    commission: str
    slippage_bps: str = "0"
    # With apply_risk_limits, the account's limits for the symbol (as they were when the
    # backtest ran) check every order it places; risk_limits shows what applied.
    apply_risk_limits: bool = False
    risk_limits: dict[str, str] | None = None
    reproducibility_hash: str | None = None
    statistics: dict[str, Any] | None = None
    # {"code", "message"} of a failed backtest; "bar_time" too when the strategy raised
    error: dict[str, Any] | None = None
    reused_from: str | None = None
    created_at: str
    completed_at: str | None = None


class BacktestRequested(Payload):
    event_type = "BacktestRequested"
    backtest: BacktestView


class BacktestCompleted(Payload):
    """A backtest finished (``status`` completed) or could not run (``status`` failed)."""

    event_type = "BacktestCompleted"
    backtest: BacktestView


class StrategyInstanceFailed(Payload):
    """A live instance's strategy raised: the instance is in ``error`` and acts no more."""

    event_type = "StrategyInstanceFailed"
    instance_id: str
    strategy: str
    symbol: str
    interval: str
    status: Literal["error"]
    error: dict[str, Any]  # {code: STRATEGY_ERROR, message, bar_time}


class SweepChunkRequested(Payload):
    """One chunk of a sweep's parameter grid, for one worker."""

    event_type = "SweepChunkRequested"
    sweep_id: str
    chunk: int = Field(ge=0)
    combinations: list[dict[str, Any]]


class SweepCompleted(Payload):
    event_type = "SweepCompleted"
    sweep_id: str
    status: Literal["completed", "failed"]
    maximize: str
    combinations: int = Field(ge=0)
    best: dict[str, Any] | None


class ReconciliationDrift(Payload):
    """The venue's record differs from RedFire's (found by the reconciliation schedule).

    ``kind``: ``order_closed_at_venue`` (open here, final there: ``repaired`` when RedFire's
    order was brought to the venue's state), ``order_missing_at_venue`` (open here, unknown
    there), ``order_unknown`` (open there, unknown or final here), ``position`` (quantity of
    ``symbol``), ``cash``. ``ours`` and ``theirs`` are what each side holds (statuses or
    decimal strings; null where a side has nothing)."""

    event_type = "ReconciliationDrift"
    venue: str
    kind: Literal[
        "order_closed_at_venue", "order_missing_at_venue", "order_unknown", "position", "cash"
    ]
    symbol: str | None
    order_id: str | None
    ours: str | None
    theirs: str | None
    repaired: bool


PAYLOADS: dict[str, type[Payload]] = {
    p.event_type: p
    for p in (
        OrderSubmitted,
        OrderAccepted,
        OrderDenied,
        OrderRejected,
        OrderFilled,
        OrderCancelRequested,
        OrderCanceled,
        OrderReplaced,
        OrderExpired,
        PositionChanged,
        AccountChanged,
        MarketDataUpdated,
        DataGapDetected,
        RiskLimitBreached,
        BacktestRequested,
        BacktestCompleted,
        SweepChunkRequested,
        SweepCompleted,
        StrategyInstanceFailed,
        ReconciliationDrift,
    )
}


class Envelope(BaseModel):
    """What travels as the EventBridge ``detail`` and the outbox row."""

    model_config = ConfigDict(extra="forbid")

    id: str
    type: str
    version: int = SCHEMA_VERSION
    occurred_at: str
    account_id: str | None
    correlation_id: str
    causation_id: str | None = None
    payload: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        payload: Payload,
        *,
        account_id: str | None,
        correlation_id: str,
        causation_id: str | None = None,
        occurred_at: datetime,
    ) -> Envelope:
        return cls(
            id=new_id(),
            type=payload.event_type,
            occurred_at=iso(occurred_at),
            account_id=account_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            payload=payload.model_dump(mode="json"),
        )

    def parsed_payload(self) -> Payload:
        """The typed payload; raises for an unknown type or a payload that breaks its schema."""
        model = PAYLOADS.get(self.type)
        if model is None:
            raise ValueError(f"unknown event type {self.type!r}")
        return model.model_validate(self.payload)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the millisecond: ``2026-11-25T09:30:00.123Z``."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def envelope_schema() -> dict[str, Any]:
    return Envelope.model_json_schema()


def payload_schemas() -> dict[str, dict[str, Any]]:
    return {name: model.model_json_schema() for name, model in PAYLOADS.items()}

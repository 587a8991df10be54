"""PynamoDB item models of RedFire's tables.

Table names depend on the stage, so models are bound to a stage on first use
(``bind``) rather than at import: importing this module reads no environment.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import botocore.session
from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.constants import NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from redfire_core.config import Settings


class DecimalAttribute(Attribute[Decimal]):
    """A DynamoDB number read back as an exact Decimal (PynamoDB's own gives floats)."""

    attr_type = NUMBER

    def serialize(self, value: Decimal) -> str:
        return format(value, "f")

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class _Base(Model):
    class Meta:
        table_name = "unbound"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class WaitingIndex(GlobalSecondaryIndex["OrderItem"]):  # type: ignore[no-untyped-call]
    """What a non-final order waits for: ``SUBMITTED`` (its decision) or ``OPEN#<symbol>``
    (prices, expiry); sorted by created_at#id."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class OpenByAccountIndex(GlobalSecondaryIndex["OrderItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class OrderItem(_Base):
    class Meta:
        table_name = "orders"

    id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    client_order_id = UnicodeAttribute(null=True)
    symbol = UnicodeAttribute()
    side = UnicodeAttribute()
    type = UnicodeAttribute()
    quantity = DecimalAttribute()
    limit_price = DecimalAttribute(null=True)
    stop_price = DecimalAttribute(null=True)
    trail_price = DecimalAttribute(null=True)
    trail_percent = DecimalAttribute(null=True)
    trail_reference = DecimalAttribute(null=True)
    triggered = BooleanAttribute(default=False)
    time_in_force = UnicodeAttribute()
    status = UnicodeAttribute()
    filled_quantity = DecimalAttribute()
    filled_notional = DecimalAttribute()
    commission = DecimalAttribute()
    reserved = DecimalAttribute()
    average_fill_price = DecimalAttribute(null=True)  # derived; stored for readers of the table
    reject_reason = UnicodeAttribute(null=True)  # JSON
    reject_reasons = UnicodeAttribute(null=True)  # JSON
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    accepted_at = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute(null=True)  # when a day order expires (not the table's TTL)
    replaces = UnicodeAttribute(null=True)
    replaced_by = UnicodeAttribute(null=True)
    replaced_filled_quantity = DecimalAttribute(null=True)
    closes_position = BooleanAttribute(default=False)
    # JSON of the execution settings fixed at acceptance (absent on orders accepted before).
    execution = UnicodeAttribute(null=True)
    version = NumberAttribute()
    sequence = NumberAttribute(null=True)  # the account's order number
    venue = UnicodeAttribute(null=True)  # a venue account's route (None: paper)
    venue_order_id = UnicodeAttribute(null=True)
    correlation_id = UnicodeAttribute(null=True)
    order_class = UnicodeAttribute(null=True)  # absent: simple
    parent_order_id = UnicodeAttribute(null=True)  # a leg of an order class
    leg_ids = UnicodeAttribute(null=True)  # a parent's legs, comma-separated
    notional = DecimalAttribute(null=True)  # a notional order's amount
    # The events this write of the order reports (JSON, see trading_store.attach_events):
    # the orders table's stream carries them to the relay, so no outbox row is written.
    events = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)  # "SUBMITTED" | "OPEN#<symbol>" (sparse: not final)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    waiting = WaitingIndex()
    open_by_account = OpenByAccountIndex()


class ClientOrderIdItem(_Base):
    """Claims a client_order_id for one order: the put fails if the id is taken."""

    class Meta:
        table_name = "orders"

    order_id = UnicodeAttribute()
    request_hash = UnicodeAttribute()


class SequenceItem(_Base):
    """An account's order counter (accounts table, sk ``SEQUENCE``): only ever a plain
    ``UpdateItem ADD``, never in a transaction, so concurrent submits never conflict."""

    class Meta:
        table_name = "accounts"

    seq = NumberAttribute(default=0)


class OutboxItem(_Base):
    """An event whose state change wrote no order item (accounts, risk control, backtests):
    the stream carries it to the relay; TTL removes it (the relay never deletes)."""

    class Meta:
        table_name = "orders"

    events = UnicodeAttribute()  # [the envelope] as JSON, the same shape as an order's events
    event_type = UnicodeAttribute()
    ttl = NumberAttribute()


class AccountItem(_Base):
    class Meta:
        table_name = "accounts"

    currency = UnicodeAttribute()
    cash = DecimalAttribute()
    margin_enabled = BooleanAttribute()
    leverage = DecimalAttribute()
    realized_pnl = DecimalAttribute()
    commissions = DecimalAttribute()
    reserved = DecimalAttribute(default=Decimal)
    commission_rate = DecimalAttribute(default=Decimal)
    commission_per_unit = DecimalAttribute(default=Decimal)
    commission_minimum = DecimalAttribute(default=Decimal)
    slippage_bps = DecimalAttribute(default=Decimal)
    max_volume_share = DecimalAttribute(default=Decimal)
    created_at = UnicodeAttribute()
    version = NumberAttribute()
    last_sequence = NumberAttribute(default=0)  # the highest order sequence decided
    # today's risk counters (domain.counters), compact JSON: part of every write that counts
    counters = UnicodeAttribute(null=True)
    gateway = UnicodeAttribute(null=True)  # None = paper; credentials: Secrets Manager
    gateway_mode = UnicodeAttribute(null=True)
    gateway_status = UnicodeAttribute(null=True)
    gateway_error = UnicodeAttribute(null=True)


class ActivityItem(_Base):
    """A line of the cash ledger (accounts table, sk "ACTIVITY#<at>#<id>")."""

    class Meta:
        table_name = "accounts"

    activity_id = UnicodeAttribute()
    type = UnicodeAttribute()
    amount = DecimalAttribute()
    at = UnicodeAttribute()
    symbol = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    trade_id = UnicodeAttribute(null=True)
    description = UnicodeAttribute()


class TradeItem(_Base):
    class Meta:
        table_name = "trades"

    trade_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    symbol = UnicodeAttribute()
    side = UnicodeAttribute()
    quantity = DecimalAttribute()
    price = DecimalAttribute()
    commission = DecimalAttribute()
    executed_at = UnicodeAttribute()


class PositionItem(_Base):
    class Meta:
        table_name = "positions"

    symbol = UnicodeAttribute()
    quantity = DecimalAttribute()
    cost_basis = DecimalAttribute()
    realized_pnl = DecimalAttribute()
    version = NumberAttribute()
    # Set while the position is open (sparse gsi1: the holders of a symbol).
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)


class InstrumentItem(_Base):
    class Meta:
        table_name = "instruments"

    asset_class = UnicodeAttribute()
    currency = UnicodeAttribute()
    tick_size = DecimalAttribute()
    lot_size = DecimalAttribute()
    min_quantity = DecimalAttribute()
    price_precision = NumberAttribute()
    tradable = BooleanAttribute()
    calendar = UnicodeAttribute()


class LatestPriceItem(_Base):
    class Meta:
        table_name = "marketdata"

    price = DecimalAttribute()
    timestamp = UnicodeAttribute()


class BarItem(_Base):
    class Meta:
        table_name = "marketdata"

    open = DecimalAttribute()
    high = DecimalAttribute()
    low = DecimalAttribute()
    close = DecimalAttribute()
    volume = DecimalAttribute()


class KeysByAccountIndex(GlobalSecondaryIndex["ApiKeyItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ApiKeyItem(_Base):
    class Meta:
        table_name = "apikeys"

    account_id = UnicodeAttribute()
    name = UnicodeAttribute()
    scopes = UnicodeAttribute()  # JSON list
    secret_hash = UnicodeAttribute()
    salt = UnicodeAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_account = KeysByAccountIndex()


class AuditItem(_Base):
    class Meta:
        table_name = "audit"

    action = UnicodeAttribute()
    actor = UnicodeAttribute()
    detail = UnicodeAttribute()  # JSON
    at = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    object_id = UnicodeAttribute(null=True)


MODELS: tuple[type[Model], ...] = (
    OrderItem,
    ClientOrderIdItem,
    OutboxItem,
    AccountItem,
    SequenceItem,
    ActivityItem,
    TradeItem,
    PositionItem,
    InstrumentItem,
    LatestPriceItem,
    BarItem,
    AuditItem,
    ApiKeyItem,
)
_bound_stage: str | None = None


class RegionNotConfigured(RuntimeError):
    """No AWS region anywhere: guessing one would read or write another region's tables."""


def region() -> str:
    """Lambda's ``AWS_REGION``, else the region boto3 itself would use: ``AWS_DEFAULT_REGION``
    or the ``region`` of the AWS profile (``AWS_PROFILE``, ``~/.aws/config``)."""
    configured = os.environ.get("AWS_REGION") or _configured_region()
    if not configured:
        raise RegionNotConfigured(
            "no AWS region: set one in your AWS profile (aws configure set region ...) "
            "or in AWS_REGION"
        )
    return configured


def _configured_region() -> str | None:
    value = botocore.session.Session().get_config_variable("region")
    return str(value) if value else None


def bind(settings: Settings) -> None:
    """Point every model at its table of ``settings.stage`` (idempotent, cheap)."""
    global _bound_stage
    if _bound_stage == settings.stage:
        return
    for model in MODELS:
        logical = _logical_name(model)
        model.Meta.table_name = settings.table_name(logical)
        model.Meta.region = region()
        model._connection = None
    _bound_stage = settings.stage


def bind_model(model: type[Model], logical: str, settings: Settings) -> None:
    """Point one model outside ``MODELS`` (a second view of a shared table) at its table."""
    meta: Any = model.Meta
    table = settings.table_name(logical)
    if getattr(meta, "table_name", None) != table:
        meta.table_name = table
        meta.region = region()
        model._connection = None


def _logical_name(model: type[Model]) -> str:
    meta: Any = model.__dict__.get("Meta")
    logical = getattr(meta, "logical", None) or meta.table_name
    if not hasattr(meta, "logical"):
        meta.logical = logical
    return str(logical)

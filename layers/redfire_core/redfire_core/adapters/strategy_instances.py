"""Live strategy instances in the ``strategies`` table (pk = account id, sk = "INST#<id>").

An instance item holds what the runner needs to go on after a cold start: the strategy,
its parameters, the symbol and interval it trades, the start of the last bar it handled
(the dedup watermark), the strategy's ``state``, the next strategy order id, the ids of
the order events it has already applied, and a ``version`` every write is conditional on.
Running instances carry ``gsi1`` keys (``RUNNING#<symbol>#<interval>``) so a bar finds
the instances it drives with one query; stopping removes them (a sparse index). Starting
one charges the account's running-instance quota in the same transaction, stopping it
gives that back (``adapters.quotas``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from redfire_core.adapters import models as m
from redfire_core.adapters.paging import decode_cursor, encode_cursor
from redfire_core.adapters.quotas import QuotaItem, charged, instance_charges, release
from redfire_core.adapters.trading_store import ConflictError, Page, Transaction, outbox_item
from redfire_core.config import Settings, get_settings
from redfire_core.domain.quotas import Quotas
from redfire_core.events import Envelope, iso, parse_iso

SK_PREFIX = "INST#"
CLAIM_PREFIX = "SYMBOL#"  # one running instance per account and symbol (docs/backtesting.md)
RUNNING = "running"
STOPPED = "stopped"
ERROR = "error"  # the strategy raised: it acts on nothing more until started again


@dataclass(frozen=True)
class StrategyInstance:
    """A live strategy instance of one account on one symbol and interval."""

    id: str
    account_id: str
    strategy: str
    params: dict[str, Any]
    symbol: str
    interval: str
    status: str
    created_at: datetime
    stopped_at: datetime | None = None
    last_bar_start: datetime | None = None  # bars starting at or before it are ignored
    state: dict[str, Any] = field(default_factory=dict)
    next_order_id: int = 0  # the strategy's order counter (client order ids derive from it)
    seen_events: tuple[str, ...] = ()  # order events already applied (newest last)
    version: int = 1
    counted: bool = False  # holds one of the account's running instances until stopped
    last_error: dict[str, Any] | None = None  # {code, message, bar_time} when it failed
    # The strategy's working orders (each with its client_order_id and order_id) and its
    # own attributes between invocations (strategies/snapshot.py).
    book: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.status == RUNNING


def running_key(symbol: str, interval: str) -> str:
    return f"RUNNING#{symbol}#{interval}"


class RunningIndex(GlobalSecondaryIndex["StrategyInstanceItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class StrategyInstanceItem(Model):
    class Meta:
        table_name = "strategies"  # bound to the stage's table by StrategyInstanceStore

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    instance_id = UnicodeAttribute()
    strategy = UnicodeAttribute()
    params = UnicodeAttribute()  # JSON object
    symbol = UnicodeAttribute()
    interval = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    stopped_at = UnicodeAttribute(null=True)
    last_bar_start = UnicodeAttribute(null=True)
    state = UnicodeAttribute()  # JSON object
    next_order_id = NumberAttribute()
    seen_events = UnicodeAttribute()  # JSON list
    version = NumberAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    counted = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)  # JSON object
    book = UnicodeAttribute(null=True)  # JSON object: {"orders": [...], "attributes": {...}}
    running = RunningIndex()


class SymbolClaimItem(Model):
    """The account's running instance on a symbol: created with the instance, removed
    when it stops or fails, in the same transactions."""

    class Meta:
        table_name = "strategies"  # bound to the stage's table by StrategyInstanceStore

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    instance_id = UnicodeAttribute()


def _claim(account_id: str, symbol: str, instance_id: str = "") -> SymbolClaimItem:
    return SymbolClaimItem(account_id, CLAIM_PREFIX + symbol, instance_id=instance_id)


class StrategyInstanceStore:
    """Create, read, list and conditionally save instances."""

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        m.bind_model(StrategyInstanceItem, "strategies", settings)
        m.bind_model(QuotaItem, "strategies", settings)
        m.bind_model(SymbolClaimItem, "strategies", settings)
        self._tx_connection: Connection | None = None

    def create(self, instance: StrategyInstance, quotas: Quotas | None = None) -> None:
        """Store a new instance; with ``quotas``, it takes one of the account's running
        instances in the same transaction (``QuotaExceeded`` when none is left)."""
        charges = instance_charges(instance.account_id, quotas or Quotas())
        if charges:
            instance = replace(instance, counted=True)
        claim = _claim(instance.account_id, instance.symbol, instance.id)
        with charged(self._transaction(), charges) as tx:
            tx.save(_item(instance), condition=StrategyInstanceItem.pk.does_not_exist())
            tx.save(claim, condition=SymbolClaimItem.sk.does_not_exist())

    def claimed(self, account_id: str, symbol: str) -> str | None:
        """The id of the account's running instance on ``symbol``, if any."""
        try:
            return str(
                SymbolClaimItem.get(
                    account_id, CLAIM_PREFIX + symbol, consistent_read=True
                ).instance_id
            )
        except DoesNotExist:
            return None

    def get(self, account_id: str, instance_id: str) -> StrategyInstance | None:
        try:
            item = StrategyInstanceItem.get(
                account_id, SK_PREFIX + instance_id, consistent_read=True
            )
        except DoesNotExist:
            return None
        return _instance(item)

    def list_for(
        self, account_id: str, limit: int = 100, cursor: str | None = None
    ) -> Page[StrategyInstance]:
        """The account's instances, newest first."""
        results = StrategyInstanceItem.query(
            account_id,
            StrategyInstanceItem.sk.startswith(SK_PREFIX),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
            consistent_read=True,
        )
        items = [_instance(item) for item in results]
        return Page(items, encode_cursor(results.last_evaluated_key))

    def running(self, symbol: str, interval: str) -> list[tuple[str, str]]:
        """(account id, instance id) of every running instance on ``symbol``/``interval``
        (the index is eventually consistent: callers re-read each instance)."""
        return [
            (item.pk, item.instance_id)
            for item in StrategyInstanceItem.running.query(running_key(symbol, interval))
        ]

    def save(self, instance: StrategyInstance, expected_version: int) -> None:
        """Write ``instance`` if the stored one still has ``expected_version``."""
        try:
            _item(instance).save(condition=StrategyInstanceItem.version == expected_version)
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise ConflictError(["ConditionalCheckFailed"]) from error
            raise

    def stop(
        self, stopped: StrategyInstance, expected_version: int, event: Envelope | None = None
    ) -> None:
        """Write the stopped (or failed) instance if the stored one is still the running one
        at ``expected_version``, giving its running instance back to the quota (once), with
        ``event`` in the outbox in the same transaction."""
        with self._transaction() as tx:
            tx.save(
                _item(stopped),
                condition=(StrategyInstanceItem.version == expected_version)
                & (StrategyInstanceItem.status == RUNNING),
            )
            if stopped.counted:
                release(tx, stopped.account_id, QuotaItem.running_instances)
            if self.claimed(stopped.account_id, stopped.symbol) == stopped.id:
                tx.delete(_claim(stopped.account_id, stopped.symbol))
            if event is not None:
                tx.save(outbox_item(event))

    def _transaction(self) -> Transaction:
        if self._tx_connection is None:
            self._tx_connection = Connection(region=m.region())
        return Transaction(self._tx_connection)


def _item(instance: StrategyInstance) -> StrategyInstanceItem:
    running = instance.running
    return StrategyInstanceItem(
        instance.account_id,
        SK_PREFIX + instance.id,
        instance_id=instance.id,
        strategy=instance.strategy,
        params=json.dumps(instance.params, sort_keys=True),
        symbol=instance.symbol,
        interval=instance.interval,
        status=instance.status,
        created_at=iso(instance.created_at),
        stopped_at=iso(instance.stopped_at) if instance.stopped_at else None,
        last_bar_start=iso(instance.last_bar_start) if instance.last_bar_start else None,
        state=json.dumps(instance.state, sort_keys=True),
        next_order_id=instance.next_order_id,
        seen_events=json.dumps(list(instance.seen_events)),
        version=instance.version,
        counted=1 if instance.counted else None,
        last_error=json.dumps(instance.last_error) if instance.last_error else None,
        book=json.dumps(instance.book, sort_keys=True) if instance.book else None,
        gsi1pk=running_key(instance.symbol, instance.interval) if running else None,
        gsi1sk=f"{instance.account_id}#{instance.id}" if running else None,
    )


def _instance(item: StrategyInstanceItem) -> StrategyInstance:
    return StrategyInstance(
        id=item.instance_id,
        account_id=item.pk,
        strategy=item.strategy,
        params=json.loads(item.params),
        symbol=item.symbol,
        interval=item.interval,
        status=item.status,
        created_at=parse_iso(item.created_at),
        stopped_at=parse_iso(item.stopped_at) if item.stopped_at else None,
        last_bar_start=parse_iso(item.last_bar_start) if item.last_bar_start else None,
        state=json.loads(item.state),
        next_order_id=int(item.next_order_id),
        seen_events=tuple(json.loads(item.seen_events)),
        version=int(item.version),
        counted=bool(item.counted),
        last_error=json.loads(item.last_error) if item.last_error else None,
        book=json.loads(item.book) if item.book else {},
    )

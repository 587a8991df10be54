"""Backtests and parameter sweeps in the ``strategies`` table, their results in S3.

Items (pk = account id):
- ``BT#<id>``: a backtest request, its status and statistics;
- ``BTHASH#<reproducibility hash>``: the finished backtest with that hash (reuse);
- ``SWEEP#<id>``: a sweep's request and progress counters;
- ``SWEEP#<id>#CHUNK#<n>``: a finished chunk's results (created once: a redelivered
  chunk finds it and does not run again).
Every state change that belongs together (a record and its outbox event, and the quota
counters it charges or releases, see ``adapters.quotas``) is one ``TransactWriteItems``;
the outbox rows live in the orders table, whose stream the relay publishes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from redfire_core.adapters import models as m
from redfire_core.adapters.paging import decode_cursor, encode_cursor
from redfire_core.adapters.quotas import (
    QuotaItem,
    charged,
    combination_charges,
    release,
    sweep_charges,
)
from redfire_core.adapters.trading_store import ConflictError, Transaction, outbox_item
from redfire_core.config import Settings, get_settings
from redfire_core.domain.quotas import Quotas
from redfire_core.events import BacktestView, Envelope
from redfire_core.resources import BACKTEST_RESULTS, BUCKETS

TABLE = "strategies"
BACKTEST = "BT#"
HASH = "BTHASH#"
SWEEP = "SWEEP#"
CHUNK = "#CHUNK#"


class BacktestItem(Model):
    class Meta:
        table_name = "unbound"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    view = UnicodeAttribute()  # the BacktestView as JSON: what GET shows
    status = UnicodeAttribute()
    version = NumberAttribute()


class BacktestHashItem(Model):
    class Meta:
        table_name = "unbound"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    backtest_id = UnicodeAttribute()


class SweepItem(Model):
    class Meta:
        table_name = "unbound"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    request = UnicodeAttribute()  # JSON: strategy, grid, constraint, data range, settings
    status = UnicodeAttribute()  # running | completed | failed
    combinations = NumberAttribute()
    chunks = NumberAttribute()
    done_chunks = NumberAttribute()
    done_combinations = NumberAttribute()
    failed_combinations = NumberAttribute()
    best = UnicodeAttribute(null=True)  # JSON: the ranked results once completed
    created_at = UnicodeAttribute()
    completed_at = UnicodeAttribute(null=True)
    counted = NumberAttribute(null=True)  # 1: holds one of the account's running sweeps


class SweepChunkItem(Model):
    class Meta:
        table_name = "unbound"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    results = UnicodeAttribute()  # JSON list of {"params", "statistics"} or {"params", "error"}


_MODELS: tuple[type[Model], ...] = (
    BacktestItem,
    BacktestHashItem,
    SweepItem,
    SweepChunkItem,
    QuotaItem,
)


@dataclass(frozen=True)
class Sweep:
    id: str
    account_id: str
    request: dict[str, Any]
    status: str
    combinations: int
    chunks: int
    done_chunks: int
    done_combinations: int
    failed_combinations: int
    best: list[dict[str, Any]] | None
    created_at: str
    completed_at: str | None
    counted: bool = False  # its finish gives a running sweep back to the account's quota


class BacktestStore:
    def __init__(self, settings: Settings | None = None, s3: Any = None) -> None:
        self.settings = settings or get_settings()
        m.bind(self.settings)
        for model in _MODELS:
            m.bind_model(model, TABLE, self.settings)
        self._s3 = s3
        self._tx_connection: Connection | None = None
        self.bucket = self.settings.bucket_name(BACKTEST_RESULTS)
        self.prefix = BUCKETS[BACKTEST_RESULTS].prefix

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            import boto3  # lazy: only callers of this client pay for importing boto3

            self._s3 = boto3.client("s3")
        return self._s3

    # --- backtests ----------------------------------------------------------------------

    def create_backtest(
        self,
        account_id: str,
        view: BacktestView,
        event: Envelope,
        quotas: Quotas = Quotas(),
        now: datetime | None = None,
    ) -> None:
        """The request and its ``BacktestRequested`` event, together, counted as one
        combination of the day (``QuotaExceeded`` when that passes the quota)."""
        item = BacktestItem(
            account_id, BACKTEST + view.id, view=view.model_dump_json(), status=view.status
        )
        item.version = 1
        charges = combination_charges(account_id, quotas, 1, now) if now else []
        with charged(self._transaction(), charges) as tx:
            tx.save(item, condition=BacktestItem.pk.does_not_exist())
            tx.save(outbox_item(event))

    def get_backtest(self, account_id: str, backtest_id: str) -> tuple[BacktestView, int] | None:
        """The backtest and its version (for a conditional update), or None."""
        try:
            item = BacktestItem.get(account_id, BACKTEST + backtest_id, consistent_read=True)
        except DoesNotExist:
            return None
        return BacktestView.model_validate_json(item.view), int(item.version)

    def list_backtests(
        self, account_id: str, limit: int, cursor: str | None
    ) -> tuple[list[BacktestView], str | None]:
        """Newest first (ids are ULIDs, so the sort key orders by creation)."""
        results = BacktestItem.query(
            account_id,
            BacktestItem.sk.startswith(BACKTEST),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
        )
        views = [BacktestView.model_validate_json(item.view) for item in results]
        return views, encode_cursor(results.last_evaluated_key)

    def save_backtest(
        self,
        account_id: str,
        view: BacktestView,
        version: int,
        event: Envelope | None = None,
    ) -> None:
        """Replace the record read at ``version`` (ConflictError if it moved on); with
        ``event``, the record names its reproducibility hash for reuse and the event goes
        out with it."""
        item = BacktestItem(
            account_id, BACKTEST + view.id, view=view.model_dump_json(), status=view.status
        )
        item.version = version + 1
        with self._transaction() as tx:
            tx.save(item, condition=BacktestItem.version == version)
            produced = view.status == "completed" and not view.reused_from
            if event is not None and produced and view.reproducibility_hash:
                tx.save(
                    BacktestHashItem(
                        account_id, HASH + view.reproducibility_hash, backtest_id=view.id
                    )
                )
            if event is not None:
                tx.save(outbox_item(event))

    def finished_with_hash(self, account_id: str, digest: str) -> BacktestView | None:
        """A completed backtest of this account with this reproducibility hash."""
        try:
            claim = BacktestHashItem.get(account_id, HASH + digest, consistent_read=True)
        except DoesNotExist:
            return None
        found = self.get_backtest(account_id, claim.backtest_id)
        return found[0] if found and found[0].status == "completed" else None

    # --- result files --------------------------------------------------------------------

    def result_key(self, account_id: str, backtest_id: str, name: str) -> str:
        return f"{self.prefix}{account_id}/{backtest_id}/{name}.json"

    def put_results(self, account_id: str, backtest_id: str, files: dict[str, Any]) -> None:
        """Write each file as JSON; the keys are fixed per backtest, so a retry overwrites."""
        for name, body in files.items():
            self.s3.put_object(
                Bucket=self.bucket,
                Key=self.result_key(account_id, backtest_id, name),
                Body=json.dumps(body, separators=(",", ":"), allow_nan=False).encode(),
                ContentType="application/json",
            )

    def result_url(self, account_id: str, backtest_id: str, name: str, expires_in: int) -> str:
        url: str = self.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.result_key(account_id, backtest_id, name)},
            ExpiresIn=expires_in,
        )
        return url

    # --- sweeps --------------------------------------------------------------------------

    def create_sweep(
        self,
        account_id: str,
        sweep_id: str,
        request: dict[str, Any],
        combinations: int,
        created_at: str,
        events: Sequence[Envelope],
        quotas: Quotas = Quotas(),
        now: datetime | None = None,
    ) -> None:
        """The sweep and one ``SweepChunkRequested`` per chunk, in one transaction that
        also charges the account's quotas (``QuotaExceeded`` when one is reached)."""
        charges = sweep_charges(account_id, quotas, combinations, now) if now else []
        item = SweepItem(
            account_id,
            SWEEP + sweep_id,
            request=json.dumps(request, separators=(",", ":")),
            status="running",
            combinations=combinations,
            chunks=len(events),
            done_chunks=0,
            done_combinations=0,
            failed_combinations=0,
            created_at=created_at,
            counted=1 if any(c.attribute is QuotaItem.running_sweeps for c in charges) else None,
        )
        with charged(self._transaction(), charges) as tx:
            tx.save(item, condition=SweepItem.pk.does_not_exist())
            for event in events:
                tx.save(outbox_item(event))

    def get_sweep(self, account_id: str, sweep_id: str) -> Sweep | None:
        try:
            item = SweepItem.get(account_id, SWEEP + sweep_id, consistent_read=True)
        except DoesNotExist:
            return None
        return Sweep(
            id=sweep_id,
            account_id=account_id,
            request=json.loads(item.request),
            status=item.status,
            combinations=int(item.combinations),
            chunks=int(item.chunks),
            done_chunks=int(item.done_chunks),
            done_combinations=int(item.done_combinations),
            failed_combinations=int(item.failed_combinations),
            best=json.loads(item.best) if item.best else None,
            created_at=item.created_at,
            completed_at=item.completed_at,
            counted=bool(item.counted),
        )

    def has_chunk(self, account_id: str, sweep_id: str, chunk: int) -> bool:
        try:
            SweepChunkItem.get(account_id, _chunk_key(sweep_id, chunk), consistent_read=True)
        except DoesNotExist:
            return False
        return True

    def record_chunk(
        self, account_id: str, sweep_id: str, chunk: int, results: list[dict[str, Any]]
    ) -> bool:
        """Store a chunk's results and count it, once: False when it was already stored."""
        failed = sum(1 for r in results if "error" in r)
        item = SweepChunkItem(
            account_id,
            _chunk_key(sweep_id, chunk),
            results=json.dumps(results, separators=(",", ":"), allow_nan=False),
        )
        counter = SweepItem(account_id, SWEEP + sweep_id)
        try:
            with self._transaction() as tx:
                tx.save(item, condition=SweepChunkItem.pk.does_not_exist())
                tx.update(
                    counter,
                    actions=[
                        SweepItem.done_chunks.add(1),
                        SweepItem.done_combinations.add(len(results)),
                        SweepItem.failed_combinations.add(failed),
                    ],
                    condition=SweepItem.pk.exists(),
                )
        except ConflictError:
            return False
        return True

    def chunk_results(self, account_id: str, sweep_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for item in SweepChunkItem.query(
            account_id, SweepChunkItem.sk.startswith(SWEEP + sweep_id + CHUNK)
        ):
            out.extend(json.loads(item.results))
        return out

    def finish_sweep(
        self,
        account_id: str,
        sweep_id: str,
        status: str,
        best: list[dict[str, Any]],
        completed_at: str,
        event: Envelope,
        counted: bool = False,
    ) -> bool:
        """Close a running sweep with its ranking and event (and, when ``counted``, give its
        running sweep back to the quota); False if another worker did."""
        item = SweepItem(account_id, SWEEP + sweep_id)
        try:
            with self._transaction() as tx:
                tx.update(
                    item,
                    actions=[
                        SweepItem.status.set(status),
                        SweepItem.best.set(json.dumps(best, separators=(",", ":"))),
                        SweepItem.completed_at.set(completed_at),
                    ],
                    condition=(SweepItem.status == "running")
                    & (SweepItem.done_chunks == SweepItem.chunks),
                )
                tx.save(outbox_item(event))
                if counted:
                    release(tx, account_id, QuotaItem.running_sweeps)
        except ConflictError:
            return False
        return True

    def _transaction(self) -> Transaction:
        if self._tx_connection is None:
            self._tx_connection = Connection(region=m.region())
        return Transaction(self._tx_connection)


def _chunk_key(sweep_id: str, chunk: int) -> str:
    return f"{SWEEP}{sweep_id}{CHUNK}{chunk:05d}"

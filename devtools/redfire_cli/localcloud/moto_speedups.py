"""Two speed-ups of moto's DynamoDB for the local cloud (it installs them), each keeping
moto's results: a cheaper rollback for ``TransactWriteItems``, and base-table queries
that read the one partition they name.

Rollback.
moto 5 deep-copies every table a transaction touches, once per item of the transaction,
so that it can put the copy back if the transaction is cancelled. A transaction of 15
items on a table of 10,000 orders copies the table 15 times: the local cloud's order
path slowed to ~1 order/s as tables grew. The savepoint here copies only the items the
transaction targets (and remembers how long each table's stream was), and on
cancellation puts those items back and drops the stream records the transaction made:
the same all-or-nothing outcome, at a cost independent of the table's size.

Queries. moto 5 answers a query on a table's key by walking every item of the table and
keeping those of the partition: 60 day-partition queries for two months of 1-minute bars
took 27 s once the table held 25,000 bars. The query here hands moto's own query code
the partition's items alone (GSI queries are left to moto).

Both rely on the local cloud's DynamoDB lock (``moto_server.DynamoDBLockMiddleware``):
no other request can see or change a table between the savepoint and the restore.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

_INSTALLED = False


@dataclass
class _Saved:
    table: Any
    hash_key: Any
    range_key: Any
    item: Any  # a deep copy of the item before the transaction, or None


class Savepoint:
    """The targeted items and stream lengths of one transaction, before it runs."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        self.saved: list[_Saved] = []
        self.streams: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            try:
                _, op = next(iter(entry.items()))
                table = backend.tables[op["TableName"]]
                attrs = op["Item"] if "Item" in op else op["Key"]
                hash_key = DynamoType(attrs[table.hash_key_attr])
                range_key = (
                    DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
                )
            except (KeyError, StopIteration, TypeError, AttributeError):
                continue  # moto refuses this entry before changing anything for it
            current = table.get_item(hash_key, range_key)
            self.saved.append(_Saved(table, hash_key, range_key, copy.deepcopy(current)))
            shard = table.stream_shard
            if shard is not None and id(shard) not in self.streams:
                self.streams[id(shard)] = (shard, len(shard.items))

    def restore(self) -> None:
        for saved in reversed(self.saved):
            items = saved.table.items
            if saved.range_key is None:
                if saved.item is None:
                    items.pop(saved.hash_key, None)
                else:
                    items[saved.hash_key] = saved.item
            elif saved.item is None:
                partition = items.get(saved.hash_key)
                if partition is not None:
                    partition.pop(saved.range_key, None)
            else:
                items[saved.hash_key][saved.range_key] = saved.item
        for shard, length in self.streams.values():
            del shard.items[length:]


class _TablesByReference:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: a table "copy"
    is the table itself (the savepoint does the real work); anything else is copied."""

    def __init__(self) -> None:
        from moto.dynamodb.models.table import Table

        self._table = Table

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _partition_query(original: Any) -> Any:
    @functools.wraps(original)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key)  # .get: the table's defaultdict must not grow
        if partition is None:
            items = []
        elif self.range_key_attr is None:
            items = [partition]
        else:
            items = list(partition.values())
        self.all_items = lambda: items  # moto's query reads the candidates from here
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    return query


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models.table import Table

    Table.query = _partition_query(Table.query)  # type: ignore[method-assign]

    backend_class = backend_module.DynamoDBBackend
    original = backend_class.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        savepoint = Savepoint(self, transact_items)
        try:
            original(self, transact_items)
        except BaseException:
            savepoint.restore()
            raise

    backend_module.copy = _TablesByReference()  # type: ignore[attr-defined,assignment]
    backend_class.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _INSTALLED = True

"""The ``limits`` table: limit overrides, trading states and the day's equity marks.

Items (``pk`` / ``sk``):

- ``<account>`` / ``LIMITS``: overrides, ``{"account": {...}, "symbols": {...}}`` as JSON
- ``<account>`` or ``PLATFORM`` / ``STATE``: trading state, reason, who, when, version
- ``<account>`` / ``COUNTERS#<yyyy-mm-dd>``: the day's start and peak equity (post-trade
  monitoring); TTL (``expires_at``) removes old days

The order, cancel and trade counts and the order rate are not here: they live on the
account's book item (``Account.counters``) and change in the same write as the order,
cancel or fill they count.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from redfire_core.adapters.trading_store import holding_key
from redfire_core.config import Settings, get_settings
from redfire_core.domain.account_ids import PLATFORM_KEY
from redfire_core.domain.counters import SECONDS_PER_DAY
from redfire_core.domain.risk import (
    TradingState,
)
from redfire_core.events import iso

# The port's types, re-exported where the adapter's callers import them.
from redfire_core.ports import Overrides as Overrides
from redfire_core.ports import RiskConflict as RiskConflict
from redfire_core.ports import RiskSnapshot as RiskSnapshot
from redfire_core.ports import StateRecord as StateRecord

PLATFORM = PLATFORM_KEY
LIMITS_SK = "LIMITS"
STATE_SK = "STATE"
HOLDERS_INDEX = "gsi1"  # of the positions table: open positions by symbol
COUNTER_TTL_SECONDS = 3 * SECONDS_PER_DAY
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def day_key(day: int) -> str:
    return "COUNTERS#" + datetime.fromtimestamp(day * SECONDS_PER_DAY, UTC).strftime("%Y-%m-%d")


def _wire(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


class RiskStore:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.table = self.settings.table_name("limits")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("dynamodb")
        return self._client

    # --- reads ------------------------------------------------------------------------

    def snapshot(self, account_id: str) -> RiskSnapshot:
        """Overrides and both trading states: one BatchGetItem."""
        keys = {
            "limits": (account_id, LIMITS_SK),
            "state": (account_id, STATE_SK),
            "global": (PLATFORM, STATE_SK),
        }
        found = self._batch_get(list(keys.values()))
        items = {name: found.get(key, {}) for name, key in keys.items()}
        return RiskSnapshot(
            overrides=_overrides(items["limits"]),
            state=_state(items["state"]),
            global_state=_state(items["global"]),
        )

    def _batch_get(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        request = {
            self.table: {
                "Keys": [_wire({"pk": pk, "sk": sk}) for pk, sk in keys],
                "ConsistentRead": True,
            }
        }
        found: dict[tuple[str, str], dict[str, Any]] = {}
        while request:
            response = self.client.batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(self.table, []):
                item = _plain(raw)
                found[(item["pk"], item["sk"])] = item
            request = response.get("UnprocessedKeys") or {}
        return found

    def get_overrides(self, account_id: str) -> Overrides:
        return _overrides(self._get(account_id, LIMITS_SK))

    def get_state(self, scope: str) -> StateRecord:
        """The trading state of an account, or of the platform (``PLATFORM``)."""
        return _state(self._get(scope, STATE_SK))

    def _get(self, pk: str, sk: str) -> dict[str, Any]:
        response = self.client.get_item(
            TableName=self.table, Key=_wire({"pk": pk, "sk": sk}), ConsistentRead=True
        )
        return _plain(response["Item"]) if "Item" in response else {}

    # --- writes -----------------------------------------------------------------------

    def put_overrides(self, account_id: str, before: Overrides, after: Overrides) -> None:
        """Replace the overrides if nobody changed them since ``before`` was read."""
        item = {
            "pk": account_id,
            "sk": LIMITS_SK,
            "overrides": json.dumps({"account": after.account, "symbols": after.symbols}),
            "version": before.version + 1,
        }
        self.put(self.put_operation(item, before.version))

    def state_put(
        self,
        scope: str,
        before: StateRecord,
        state: TradingState,
        reason: str,
        actor: str,
        now: datetime,
    ) -> dict[str, Any]:
        """The low-level Put of a state change, conditional on the version read."""
        item = {
            "pk": scope,
            "sk": STATE_SK,
            "state": state.value,
            "reason": reason,
            "changed_by": actor,
            "changed_at": iso(now),
            "version": before.version + 1,
        }
        return self.put_operation(item, before.version)

    def put_operation(self, item: dict[str, Any], version: int) -> dict[str, Any]:
        condition = "attribute_not_exists(pk)" if version == 0 else "version = :v"
        operation: dict[str, Any] = {
            "TableName": self.table,
            "Item": _wire(item),
            "ConditionExpression": condition,
        }
        if version:
            operation["ExpressionAttributeValues"] = _wire({":v": version})
        return operation

    def put(self, operation: dict[str, Any]) -> None:
        try:
            self.client.put_item(**operation)
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise RiskConflict(str(error)) from error

    def mark_equity(
        self, account_id: str, equity: Decimal, now: datetime
    ) -> tuple[Decimal, Decimal]:
        """Record ``equity`` on today's counters: the first of the day is the start, the
        highest the peak. Returns (start, peak)."""
        day = int(now.timestamp()) // SECONDS_PER_DAY
        key = _wire({"pk": account_id, "sk": day_key(day)})
        # Read before writing: most marks change nothing (a fill at the market turns cash
        # into a position of the same value), and an eventually consistent read costs a
        # tenth of a write. A stale read is safe: the first mark's write keeps a start
        # already there, and the peak only rises, so a stale peak at or above ``equity``
        # means the stored one is too.
        item = _plain(self.client.get_item(TableName=self.table, Key=key).get("Item", {}))
        if "start_equity" not in item:  # the day's first mark (or a stale read missed it)
            response = self.client.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression=(
                    "SET start_equity = if_not_exists(start_equity, :e), "
                    "peak_equity = if_not_exists(peak_equity, :e), "
                    "expires_at = if_not_exists(expires_at, :x)"
                ),
                ExpressionAttributeValues=_wire(
                    {":e": equity, ":x": day * SECONDS_PER_DAY + COUNTER_TTL_SECONDS}
                ),
                ReturnValues="ALL_NEW",
            )
            item = _plain(response["Attributes"])
        start, peak = Decimal(item["start_equity"]), Decimal(item["peak_equity"])
        if equity > peak:
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=key,
                    UpdateExpression="SET peak_equity = :e",
                    ConditionExpression="peak_equity < :e",
                    ExpressionAttributeValues=_wire({":e": equity}),
                )
                peak = equity
            except self.client.exceptions.ConditionalCheckFailedException:
                peak = Decimal(self._get(account_id, day_key(day))["peak_equity"])
        return start, peak

    def holders(self, symbol: str) -> list[str]:
        """Accounts with an open position in ``symbol``: one query of the positions table's
        sparse gsi1 (``HOLDING#<symbol>``; only open positions carry its keys)."""
        kwargs: dict[str, Any] = {
            "TableName": self.settings.table_name("positions"),
            "IndexName": HOLDERS_INDEX,
            "KeyConditionExpression": "gsi1pk = :h",
            "ExpressionAttributeValues": _wire({":h": holding_key(symbol)}),
            "ProjectionExpression": "gsi1sk",
        }
        accounts: set[str] = set()
        while True:
            response = self.client.query(**kwargs)
            accounts.update(_plain(i)["gsi1sk"] for i in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return sorted(accounts)
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def scan_all(self) -> list[dict[str, Any]]:
        """Every item (tests and diagnostics)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table}
        while True:
            response = self.client.scan(**kwargs)
            items += [_plain(i) for i in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _overrides(item: dict[str, Any]) -> Overrides:
    if not item:
        return Overrides({}, {}, 0)
    data = json.loads(item["overrides"])
    return Overrides(data.get("account", {}), data.get("symbols", {}), int(item["version"]))


def _state(item: dict[str, Any]) -> StateRecord:
    if not item:
        return StateRecord()
    return StateRecord(
        TradingState(item["state"]),
        item.get("reason"),
        item.get("changed_by"),
        item.get("changed_at"),
        int(item["version"]),
    )

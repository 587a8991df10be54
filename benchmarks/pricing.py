"""Published us-east-1 prices, and DynamoDB request units derived from API calls.

Prices are per unit in USD, on-demand/standard, as published on the AWS pricing pages
on ``PRICES_CHECKED``. DynamoDB units follow the documented rules: items sized from
their attributes; writes 1 WRU per KB (2 per item inside TransactWriteItems), sized by
the larger of the old and new item; reads 1 RRU per 4 KB, half when eventually
consistent; a write to an item in a GSI adds the index write.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

# us-east-1, on-demand / standard, USD per unit; see PRICE_SOURCES.
PRICE = {
    "wru": 0.625 / 1e6,
    "rru": 0.125 / 1e6,
    "event": 1.00 / 1e6,
    "sqs": 0.40 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "gb_second": 0.0000133334,
    "http_api_request": 1.00 / 1e6,
}
PRICE_SOURCES = [
    [
        "DynamoDB on-demand, standard table class",
        "$0.625 per million write request units; $0.125 per million read request units",
        "aws.amazon.com/dynamodb/pricing/on-demand (price in force since the 2024-11-01 "
        "on-demand reduction)",
    ],
    [
        "EventBridge custom events",
        "$1.00 per million events (each 64 KB chunk is one event)",
        "aws.amazon.com/eventbridge/pricing",
    ],
    [
        "SQS standard queues",
        "$0.40 per million requests (64 KB chunks), after the first 1M free each month",
        "aws.amazon.com/sqs/pricing",
    ],
    [
        "Lambda, arm64",
        "$0.20 per million requests; $0.0000133334 per GB-second (first 7.5B GB-s/month)",
        "aws.amazon.com/lambda/pricing",
    ],
    [
        "API Gateway HTTP API",
        "$1.00 per million requests (first 300M/month)",
        "aws.amazon.com/api-gateway/pricing",
    ],
]
PRICES_CHECKED = "2026-11-25"


@dataclass(frozen=True)
class CostLine:
    name: str
    units: float  # per order
    price: float  # USD per unit
    price_label: str

    @property
    def per_million(self) -> float:
        return self.units * self.price * 1e6

    def row(self) -> list[str]:
        return [self.name, f"{self.units:g}", self.price_label, f"${self.per_million:.2f}"]


# --- DynamoDB request units -------------------------------------------------------------


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value (low-level JSON form)."""
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: item}) for item in data)
    if kind == "L":
        return 3 + sum(1 + attribute_size(item) for item in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in data.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


class CapacityModel:
    """Request units of DynamoDB calls, remembering item sizes and GSI membership by key."""

    def __init__(self, key_names: dict[str, tuple[str, ...]], gsi_keys: dict[str, set[str]]):
        self.key_names = key_names  # physical table -> key attribute names
        self.gsi_keys = gsi_keys  # physical table -> GSI partition key attributes
        self.items: dict[tuple[str, str], tuple[int, bool]] = {}  # -> (size, in a GSI)
        self.wru_by_table: Counter[str] = Counter()

    def _key(self, table: str, item_or_key: dict[str, Any]) -> tuple[str, str]:
        return table, json.dumps([item_or_key.get(n) for n in self.key_names[table]])

    def _write(
        self, table: str, item: dict[str, Any] | None, key: dict[str, Any], factor: int
    ) -> float:
        """WRU of writing ``item`` (None = delete) under ``key``; GSI writes are standard."""
        old_size, old_indexed = self.items.get(self._key(table, key), (0, False))
        if item is None:
            size, indexed = old_size, False
            self.items.pop(self._key(table, key), None)
        else:
            size = item_size(item)
            indexed = bool(self.gsi_keys.get(table, set()) & item.keys())
            self.items[self._key(table, key)] = (size, indexed)
        units = factor * max(1, math.ceil(max(size, old_size) / 1024))
        if indexed:
            units += max(1, math.ceil(size / 1024))
        elif old_indexed:
            units += 1  # the item leaves the index
        self.wru_by_table[table] += units
        return units

    def _read(self, items: list[dict[str, Any]], consistent: bool, factor: float = 1) -> float:
        size = sum(item_size(i) for i in items)
        return factor * max(1, math.ceil(size / 4096)) * (1 if consistent else 0.5)

    def units(self, op: str, p: dict[str, Any], r: dict[str, Any]) -> tuple[float, float]:
        """(WRU, RRU) of one DynamoDB call: operation name, parameters, parsed response."""
        if op == "PutItem":
            return self._write(p["TableName"], p["Item"], p["Item"], 1), 0
        if op == "UpdateItem":  # the new image is unknown here: keep the old size
            size = self.items.get(self._key(p["TableName"], p["Key"]), (0, False))[0]
            self.wru_by_table[p["TableName"]] += max(1, math.ceil(size / 1024))
            return max(1, math.ceil(size / 1024)), 0
        if op == "DeleteItem":
            return self._write(p["TableName"], None, p["Key"], 1), 0
        if op == "GetItem":
            item = r.get("Item")
            return 0, self._read([item] if item else [], p.get("ConsistentRead", False))
        if op in ("Query", "Scan"):
            return 0, self._read(r.get("Items", []), p.get("ConsistentRead", False))
        if op == "TransactWriteItems":
            wru = 0.0
            for entry in p["TransactItems"]:
                (kind, spec), *_ = entry.items()
                if kind == "Put":
                    wru += self._write(spec["TableName"], spec["Item"], spec["Item"], 2)
                elif kind == "Delete":
                    wru += self._write(spec["TableName"], None, spec["Key"], 2)
                else:  # Update, ConditionCheck: assume an item of at most 1 KB
                    wru += 2
                    self.wru_by_table[spec["TableName"]] += 2
            return wru, 0
        if op == "TransactGetItems":
            items = [e["Item"] for e in r.get("Responses", []) if "Item" in e]
            return 0, self._read(items, True, factor=2)
        if op == "BatchWriteItem":
            wru = 0.0
            for table, requests in p["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        wru += self._write(table, item, item, 1)
                    else:
                        wru += self._write(table, None, request["DeleteRequest"]["Key"], 1)
            return wru, 0
        if op == "BatchGetItem":
            items = [i for found in r.get("Responses", {}).values() for i in found]
            return 0, self._read(items, False)
        return 0, 0

"""Published us-east-1 prices, and the billed units of the calls an order makes.

Prices are per unit in USD, on-demand/standard, as published on the AWS pricing pages
on ``PRICES_CHECKED``. The arithmetic follows the documented billing rules and is pure
(no AWS, no clock), so ``tests/unit/test_pricing.py`` pins it:

- DynamoDB writes: 1 WRU per KB of the larger of the item before and after the write,
  2 per KB inside ``TransactWriteItems`` (prepare and commit); plus, per GSI, the index
  writes the change causes (a put when the item gains the index keys, a delete when it
  loses them, both when a key value changes, an update when a projected attribute
  changes), 1 WRU per KB of the index entry, not doubled (indexes are updated after the
  transaction commits). Reads: 1 RRU per 4 KB (half when eventually consistent; 2x in
  ``TransactGetItems``); a batch rounds each item, a query the total.
- SQS through a Lambda event source mapping: one ``ReceiveMessage`` and one
  ``DeleteMessageBatch`` per batch, plus EventBridge's ``SendMessage`` per message.
- X-Ray (active tracing): Lambda samples the first request each second and 5% of the rest.
- CloudWatch Logs: ingestion of the bytes logged plus 26 bytes per log event.
"""

from __future__ import annotations

import math
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
    "stream_read_lambda": 0.0,  # GetRecords made by a Lambda trigger: free
    "stream_read": 0.02 / 1e5,  # other GetRecords callers (none here)
    "archive_gb": 0.10,  # EventBridge archive, per GB of events archived
    "pipes_request": 0.40 / 1e6,  # EventBridge Pipes (not used on the order path)
    "xray_trace": 5.00 / 1e6,
    "logs_ingested_gb": 0.50,
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
        "DynamoDB Streams",
        "GetRecords invoked by AWS Lambda for a DynamoDB trigger: no charge; other "
        "callers $0.02 per 100,000 stream read request units",
        "aws.amazon.com/dynamodb/pricing/on-demand (Change data capture)",
    ],
    [
        "EventBridge archive; Pipes",
        "archive $0.10 per GB of events archived; Pipes $0.40 per million requests (64 KB)",
        "aws.amazon.com/eventbridge/pricing",
    ],
    [
        "X-Ray",
        "$5.00 per million traces recorded (first 100,000 per month free)",
        "aws.amazon.com/xray/pricing",
    ],
    [
        "CloudWatch Logs (Lambda logs)",
        "$0.50 per GB ingested (first 10 TB/month tier), message bytes + 26 bytes per event",
        "aws.amazon.com/cloudwatch/pricing",
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

Item = dict[str, Any]  # an item in DynamoDB's low-level JSON form


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


def item_size(item: Item | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def kilobytes(size: int) -> int:
    """Write units of one item write: 1 per started KB, at least 1."""
    return max(1, math.ceil(size / 1024))


@dataclass(frozen=True)
class TableShape:
    """What the arithmetic needs of a table: its GSIs' key attributes (projection ALL)."""

    gsi_keys: dict[str, tuple[str, ...]]  # index name -> its key attributes


@dataclass(frozen=True)
class WriteUnits:
    table: float
    indexes: dict[str, float]  # index name -> WRU

    @property
    def total(self) -> float:
        return self.table + sum(self.indexes.values())


def _indexed(item: Item | None, keys: tuple[str, ...]) -> bool:
    return bool(item) and all(k in item for k in keys)  # type: ignore[operator]


def index_write_units(old: Item | None, new: Item | None, keys: tuple[str, ...]) -> float:
    """WRU one GSI (projection ALL) costs for a table write from ``old`` to ``new``."""
    before, after = _indexed(old, keys), _indexed(new, keys)
    if not before and not after:
        return 0
    if after and not before:
        return kilobytes(item_size(new))  # put into the index
    if before and not after:
        return kilobytes(item_size(old))  # delete from the index
    assert old is not None and new is not None
    if any(old[k] != new[k] for k in keys):  # key changed: delete, then put
        return kilobytes(item_size(old)) + kilobytes(item_size(new))
    if old != new:  # a projected attribute changed: update the entry
        return kilobytes(max(item_size(old), item_size(new)))
    return 0


def write_units(
    shape: TableShape, old: Item | None, new: Item | None, *, transactional: bool = False
) -> WriteUnits:
    """Units of one item write (put, update or delete: ``new`` None) on a table."""
    table = kilobytes(max(item_size(old), item_size(new))) * (2 if transactional else 1)
    indexes = {name: index_write_units(old, new, keys) for name, keys in shape.gsi_keys.items()}
    return WriteUnits(table, {k: v for k, v in indexes.items() if v})


def read_units(
    sizes: list[int], *, consistent: bool, per_item: bool, transactional: bool = False
) -> float:
    """RRU of a read returning items of ``sizes`` bytes: per item (GetItem, batches,
    transactions) or summed (Query, Scan); at least one unit either way."""
    if per_item:
        units = sum(max(1, math.ceil(s / 4096)) for s in sizes) if sizes else 1
    else:
        units = max(1, math.ceil(sum(sizes) / 4096))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


# --- the other services -----------------------------------------------------------------


def eventbridge_events(entry_sizes: list[int]) -> int:
    """Billed events of a PutEvents call: each entry in 64 KB chunks."""
    return sum(max(1, math.ceil(size / 65536)) for size in entry_sizes)


def sqs_requests_per_message(batch_size: float) -> float:
    """SQS requests per message through EventBridge and a Lambda event source mapping that
    hands the consumer ``batch_size`` messages at a time: EventBridge's SendMessage, and a
    share of the batch's ReceiveMessage and DeleteMessageBatch."""
    return 1 + 2 / batch_size


def xray_traces_per_second(requests_per_second: float) -> float:
    """Traces Lambda's active tracing records: the first request each second, 5% of the rest."""
    if requests_per_second <= 0:
        return 0.0
    return min(1.0, requests_per_second) + 0.05 * max(0.0, requests_per_second - 1)


LOG_EVENT_OVERHEAD_BYTES = 26


def log_ingestion_bytes(message_bytes: int, events: int) -> int:
    """Bytes CloudWatch Logs bills for ``events`` log events holding ``message_bytes``."""
    return message_bytes + LOG_EVENT_OVERHEAD_BYTES * events


CPU_OF_ONE_VCPU_MB = 1769  # Lambda gives a function one full vCPU at 1,769 MB


def billed_milliseconds(cpu_ms: float, waiting_ms: float, memory_mb: int) -> int:
    """Billed duration of an invocation: its CPU time stretched by the CPU share its memory
    buys (below 1,769 MB a function gets a fraction of a vCPU), plus time spent waiting
    on AWS calls, rounded up to the millisecond."""
    stretch = max(1.0, CPU_OF_ONE_VCPU_MB / memory_mb)
    return max(1, math.ceil(cpu_ms * stretch + waiting_ms))


def gb_seconds(milliseconds: float, memory_mb: int) -> float:
    return memory_mb / 1024 * milliseconds / 1000

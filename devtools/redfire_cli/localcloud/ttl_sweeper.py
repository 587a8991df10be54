"""Deletes items whose TTL has passed, since moto never expires anything.

Each delete is conditional on the item still being expired, so an item whose TTL was
pushed forward between the scan and the delete survives, as it would on AWS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redfire_core.resources import Declaration

SWEEP_INTERVAL_SECONDS = 30.0


@dataclass(frozen=True)
class TtlTable:
    name: str
    key_attributes: tuple[str, ...]
    ttl_attribute: str


def ttl_tables(declaration: Declaration) -> list[TtlTable]:
    """The declared tables that have a TTL attribute."""
    return [
        TtlTable(
            declaration.name(t.logical),
            tuple(k for k in (t.partition_key, t.sort_key) if k),
            t.ttl_attribute,
        )
        for t in declaration.tables.values()
        if t.ttl_attribute
    ]


class TtlSweeper:
    def __init__(
        self,
        tables: list[TtlTable],
        dynamodb_client: Any,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tables = tables
        self.dynamodb = dynamodb_client
        self.clock = clock

    def sweep(self) -> int:
        """Delete every expired item of every table; how many were deleted."""
        now = {":now": {"N": str(int(self.clock()))}}
        return sum(self._sweep_table(table, now) for table in self.tables)

    def _sweep_table(self, table: TtlTable, now: dict[str, Any]) -> int:
        names = {"#ttl": table.ttl_attribute} | {
            f"#k{i}": key for i, key in enumerate(table.key_attributes)
        }
        projection = ", ".join(n for n in names if n != "#ttl")
        deleted = 0
        for page in self.dynamodb.get_paginator("scan").paginate(
            TableName=table.name,
            FilterExpression="#ttl < :now",
            ProjectionExpression=projection,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=now,
        ):
            for key in page.get("Items", []):
                try:
                    self.dynamodb.delete_item(
                        TableName=table.name,
                        Key=key,
                        ConditionExpression="#ttl < :now",
                        ExpressionAttributeNames={"#ttl": table.ttl_attribute},
                        ExpressionAttributeValues=now,
                    )
                    deleted += 1
                except self.dynamodb.exceptions.ConditionalCheckFailedException:
                    pass  # refreshed since the scan: no longer expired
        return deleted

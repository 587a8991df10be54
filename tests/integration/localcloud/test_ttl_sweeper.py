"""moto never expires items by TTL; the sweeper deletes the expired ones, and only those."""

from __future__ import annotations

from typing import Any

from redfire_cli.localcloud.provision import Provisioner
from redfire_cli.localcloud.ttl_sweeper import TtlSweeper, ttl_tables
from redfire_core.resources import IDEMPOTENCY, ORDERS, Declaration

DECLARATION = Declaration("itest")
NOW = 1_800_000_000


def test_only_items_whose_ttl_has_passed_are_deleted(client: Any, moto: Any) -> None:
    # Given the orders table with an expired row, a live row and a row without TTL
    Provisioner(DECLARATION, moto.endpoint_url).create_table(ORDERS)
    dynamodb = client("dynamodb")
    table = DECLARATION.name(ORDERS.logical)
    rows = {"expired": NOW - 1, "live": NOW + 60, "no-ttl": None}
    for sk, expires in rows.items():
        item = {"pk": {"S": "demo"}, "sk": {"S": sk}}
        if expires is not None:
            item[ORDERS.ttl_attribute or ""] = {"N": str(expires)}
        dynamodb.put_item(TableName=table, Item=item)

    # When the sweeper runs at NOW
    sweeper = TtlSweeper(ttl_tables(DECLARATION), dynamodb, clock=lambda: NOW)
    Provisioner(DECLARATION, moto.endpoint_url).create_table(IDEMPOTENCY)
    for other in DECLARATION.tables.values():  # every other table the sweeper visits
        if other.ttl_attribute and other not in (ORDERS, IDEMPOTENCY):
            Provisioner(DECLARATION, moto.endpoint_url).create_table(other)
    deleted = sweeper.sweep()

    # Then only the expired row is gone
    left = dynamodb.scan(TableName=table)["Items"]
    assert deleted == 1
    assert sorted(i["sk"]["S"] for i in left) == ["live", "no-ttl"]


def test_the_sweeper_covers_every_declared_table_with_a_ttl() -> None:
    # Given the declaration, when the sweeper lists its tables, then each TTL table is there
    swept = {t.name: t.ttl_attribute for t in ttl_tables(DECLARATION)}
    expected = {
        DECLARATION.name(t.logical): t.ttl_attribute
        for t in DECLARATION.tables.values()
        if t.ttl_attribute
    }
    assert swept == expected and swept

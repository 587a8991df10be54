"""One lock serialises DynamoDB requests to moto; everything else stays concurrent."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from redfire_cli.localcloud.moto_server import DynamoDBLockMiddleware
from redfire_cli.localcloud.provision import Provisioner
from redfire_core.resources import Declaration, Table


class ConcurrencyProbe:
    """A WSGI app that measures how many requests it serves at the same moment."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self._guard = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self._guard:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.05)
        with self._guard:
            self.active -= 1
        start_response("200 OK", [])
        return [b"{}"]


def call_concurrently(app: DynamoDBLockMiddleware, target: str, count: int = 8) -> None:
    def one(_: int) -> None:
        app({"HTTP_X_AMZ_TARGET": target}, lambda status, headers: None)

    with ThreadPoolExecutor(count) as pool:
        list(pool.map(one, range(count)))


@pytest.mark.parametrize("target", ["DynamoDB_20120810.PutItem", "DynamoDBStreams_20120810.X"])
def test_dynamodb_requests_run_one_at_a_time(target: str) -> None:
    # Given the middleware around an app that measures concurrency
    probe = ConcurrencyProbe()

    # When eight DynamoDB requests arrive at once
    call_concurrently(DynamoDBLockMiddleware(probe), target)

    # Then the app never served two at the same time
    assert probe.peak == 1


def test_other_requests_are_not_serialised() -> None:
    # Given the middleware around an app that measures concurrency
    probe = ConcurrencyProbe()

    # When eight SQS requests arrive at once (long polls must not block each other)
    call_concurrently(DynamoDBLockMiddleware(probe), "AmazonSQS.ReceiveMessage")

    # Then they overlap
    assert probe.peak > 1


@pytest.mark.slow
def test_cancelled_transactions_do_not_erase_concurrent_writes(client: Any, moto: Any) -> None:
    # Given a table of 300 items (so moto's copy per transaction takes a while), four
    # writers and two clients whose transactions put an item and then fail a condition
    # (without the lock this loses 2-20 of the 400 writes here)
    declaration = Declaration("itest")
    Provisioner(declaration, moto.endpoint_url).create_table(Table("locked"))
    table = declaration.name("locked")
    clients = [client("dynamodb") for _ in range(6)]
    for n in range(300):
        clients[0].put_item(
            TableName=table, Item={"pk": {"S": "seed"}, "sk": {"S": str(n)}, "d": {"S": "x" * 100}}
        )

    def write(worker: int) -> None:
        for n in range(100):
            clients[worker].put_item(
                TableName=table, Item={"pk": {"S": f"w{worker}"}, "sk": {"S": str(n)}}
            )

    def fail_transactions(worker: int) -> None:
        dynamodb = clients[worker]
        for _ in range(100):
            with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
                dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": table,
                                "Item": {"pk": {"S": "tx"}, "sk": {"S": "tx"}},
                            }
                        },
                        {
                            "ConditionCheck": {
                                "TableName": table,
                                "Key": {"pk": {"S": "none"}, "sk": {"S": "none"}},
                                "ConditionExpression": "attribute_exists(pk)",
                            }
                        },
                    ]
                )

    # When they all run at once through the local moto server
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(write, w) for w in range(4)]
        futures += [pool.submit(fail_transactions, w) for w in (4, 5)]
        for future in futures:
            future.result()

    # Then every acknowledged write is still there and no cancelled one is
    scanned = client("dynamodb").get_paginator("scan").paginate(TableName=table, Select="COUNT")
    assert sum(page["Count"] for page in scanned) == 300 + 400

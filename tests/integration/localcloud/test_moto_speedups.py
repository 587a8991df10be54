"""The local cloud's savepoint rollback of ``TransactWriteItems`` keeps moto's outcome:
a cancelled transaction changes no item and leaves no stream record; a committed one
changes every item and records each change once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

TABLE = "savepoint-test"


@pytest.fixture
def dynamodb(client: Callable[[str], Any]) -> Any:
    ddb = client("dynamodb")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )  # fmt: skip
    for sk, v in (("a", "1"), ("c", "1")):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "p"}, "sk": {"S": sk}, "v": {"N": v}})
    return ddb


def items(ddb: Any) -> dict[str, str]:
    found = ddb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return {item["sk"]["S"]: item["v"]["N"] for item in found}


def stream_records(client: Callable[[str], Any], ddb: Any) -> list[str]:
    streams = client("dynamodbstreams")
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    return [f"{r['eventName']} {r['dynamodb']['Keys']['sk']['S']}" for r in records]


def transaction(c_condition: str) -> list[dict[str, Any]]:
    key = {"pk": {"S": "p"}}
    return [
        {"Update": {"TableName": TABLE, "Key": {**key, "sk": {"S": "a"}},
                    "UpdateExpression": "SET v = :two",
                    "ExpressionAttributeValues": {":two": {"N": "2"}}}},
        {"Put": {"TableName": TABLE, "Item": {**key, "sk": {"S": "b"}, "v": {"N": "2"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Delete": {"TableName": TABLE, "Key": {**key, "sk": {"S": "c"}},
                    "ConditionExpression": c_condition}},
    ]  # fmt: skip


def test_a_cancelled_transaction_changes_nothing_and_streams_nothing(
    dynamodb: Any, client: Callable[[str], Any]
) -> None:
    before = stream_records(client, dynamodb)

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=transaction("attribute_not_exists(pk)"))

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert items(dynamodb) == {"a": "1", "c": "1"}
    assert stream_records(client, dynamodb) == before == ["INSERT a", "INSERT c"]


def test_a_committed_transaction_changes_every_item_once(
    dynamodb: Any, client: Callable[[str], Any]
) -> None:
    dynamodb.transact_write_items(TransactItems=transaction("attribute_exists(pk)"))

    assert items(dynamodb) == {"a": "2", "b": "2"}
    assert stream_records(client, dynamodb)[2:] == ["MODIFY a", "INSERT b", "REMOVE c"]
    # A write after a cancelled transaction keeps numbering and content straight.
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=transaction("attribute_exists(pk)"))
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "p"}, "sk": {"S": "d"}, "v": {"N": "4"}})
    assert items(dynamodb) == {"a": "2", "b": "2", "d": "4"}
    assert stream_records(client, dynamodb)[5:] == ["INSERT d"]


def test_queries_read_their_partition_with_paging_and_conditions(dynamodb: Any) -> None:
    for pk in ("p", "q"):
        for n in range(30):
            item = {"pk": {"S": pk}, "sk": {"S": f"{n:03d}"}, "v": {"N": str(n)}}
            dynamodb.put_item(TableName=TABLE, Item=item)
    found, request = (
        [],
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": "q"},
                ":lo": {"S": "005"},
                ":hi": {"S": "024"},
            },
            "Limit": 7,
            "ScanIndexForward": False,
        },
    )
    while True:
        page = dynamodb.query(**request)
        found += [item["sk"]["S"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert found == [f"{n:03d}" for n in range(24, 4, -1)]
    empty = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "nobody"}},
    )
    assert empty["Items"] == [] and empty["Count"] == 0
    # The miss did not add a partition to the table (its items are a defaultdict).
    assert dynamodb.scan(TableName=TABLE, Select="COUNT")["Count"] == 62

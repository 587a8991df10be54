"""The local cloud provisions exactly what the resource declaration says."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from redfire_cli.localcloud.provision import (
    LOCAL_VISIBILITY_TIMEOUT_SECONDS,
    LocalResources,
    Provisioner,
)
from redfire_core.resources import BUCKETS, QUEUES, RULES, STREAM_CONSUMERS, TABLES, Declaration

DECLARATION = Declaration("local")
SECRET = "ab" * 32


@pytest.fixture
def resources(moto: Any) -> LocalResources:
    return Provisioner(DECLARATION, moto.endpoint_url).provision(SECRET)


def test_every_declared_table_exists_with_its_keys_indexes_ttl_and_stream(
    client: Any, resources: LocalResources
) -> None:
    dynamodb = client("dynamodb")
    for table in TABLES.values():
        name = DECLARATION.name(table.logical)
        described = dynamodb.describe_table(TableName=name)["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
        assert keys.get("HASH") == table.partition_key and keys.get("RANGE") == table.sort_key
        indexes = {g["IndexName"] for g in described.get("GlobalSecondaryIndexes", [])}
        assert indexes == {g.name for g in table.gsis}
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl.get("AttributeName") == table.ttl_attribute
        if table.stream:
            assert described["StreamSpecification"]["StreamViewType"] == table.stream
    assert set(resources.streams) == {t.logical for t in TABLES.values() if t.stream}
    assert set(resources.stream_failures) == set(STREAM_CONSUMERS)


def test_every_queue_has_its_dlq_after_the_declared_receive_count(
    client: Any, resources: LocalResources
) -> None:
    sqs = client("sqs")
    for queue in QUEUES.values():
        attributes = sqs.get_queue_attributes(
            QueueUrl=resources.queues[queue.logical].url, AttributeNames=["All"]
        )["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == resources.dlqs[queue.logical].arn
        assert int(redrive["maxReceiveCount"]) == queue.max_receive_count
        assert int(attributes["VisibilityTimeout"]) == LOCAL_VISIBILITY_TIMEOUT_SECONDS
        # a queue nothing sends to but functions (the venue queues) has no policy at all
        policy = json.loads(attributes.get("Policy", '{"Statement": []}'))
        senders = {"events.amazonaws.com"} if queue_has_rules(queue.logical) else set()
        if any(b.notify_queue == queue.logical for b in BUCKETS.values()):
            senders.add("s3.amazonaws.com")
        assert {s["Principal"]["Service"] for s in policy["Statement"]} == senders


def queue_has_rules(logical: str) -> bool:
    return any(rule.queue == logical for rule in RULES.values())


# What a rule with a ``detail`` filter routes, and what it leaves out.
FILTERED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "to-orders-replacements": (
        {"payload": {"order": {"replaces": "01JD0000000000000000000001"}}},
        {"payload": {"order": {"replaces": None}}},
    ),
    "to-strategy-runner-orders": (
        {"payload": {"order": {"client_order_id": "si-inst1-1764000000-3"}}},
        {"payload": {"order": {"client_order_id": "my-bot-7"}}},
    ),
}


def publish(client: Any, detail_type: str, detail: dict[str, Any]) -> None:
    client("events").put_events(
        Entries=[
            {
                "Source": "redfire",
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": DECLARATION.bus_name,
            }
        ]
    )


@pytest.mark.parametrize("rule", list(RULES.values()), ids=lambda r: r.logical)
def test_each_rule_delivers_its_events_to_its_queue(
    client: Any, resources: LocalResources, rule: Any
) -> None:
    # Given the provisioned bus, when an event of the rule's first detail type is published
    routed, _ = FILTERED.get(rule.logical, ({}, {}))
    publish(client, rule.detail_types[0], {"probe": rule.logical, **routed})

    # Then it lands in the rule's queue
    messages = client("sqs").receive_message(
        QueueUrl=resources.queues[rule.queue].url, WaitTimeSeconds=1
    )["Messages"]
    assert json.loads(messages[0]["Body"])["detail"] == {"probe": rule.logical, **routed}


@pytest.mark.parametrize("logical", list(FILTERED))
def test_a_filtered_rule_sends_nothing_its_consumer_would_ignore(
    client: Any, resources: LocalResources, logical: str
) -> None:
    # Given a rule whose consumer acts on some events of its types only (a plain order's
    # acceptance, a bot's own order), when such an event is published
    rule = RULES[logical]
    assert rule.detail is not None
    _, ignored = FILTERED[logical]
    publish(client, rule.detail_types[0], ignored)

    # Then its queue gets nothing (no SQS request, no invocation)
    response = client("sqs").receive_message(
        QueueUrl=resources.queues[rule.queue].url, WaitTimeSeconds=1
    )
    assert response.get("Messages", []) == []


def test_every_rule_with_a_filter_has_its_examples_here() -> None:
    assert {r.logical for r in RULES.values() if r.detail} == set(FILTERED)


def test_the_jwt_secret_is_stored_under_the_declared_name(
    client: Any, resources: LocalResources
) -> None:
    secret = client("secretsmanager").get_secret_value(SecretId=DECLARATION.jwt_secret_name)
    assert secret["SecretString"] == SECRET


def test_an_upload_under_the_ingest_prefix_notifies_the_ingest_queue(
    client: Any, resources: LocalResources
) -> None:
    # Given the provisioned uploads bucket, when a file is put under ingest/ and one outside it
    bucket = BUCKETS["marketdata-uploads"]
    name = DECLARATION.bucket_name(bucket.logical)
    client("s3").put_object(Bucket=name, Key="elsewhere/x.csv", Body=b"x")
    client("s3").put_object(Bucket=name, Key=f"{bucket.prefix}import/J/GOOG/1d/x.csv", Body=b"x")

    # Then exactly one object-created notification reaches the declared queue
    messages = (
        client("sqs")
        .receive_message(
            QueueUrl=resources.queues[str(bucket.notify_queue)].url, MaxNumberOfMessages=10
        )
        .get("Messages", [])
    )
    keys = [  # keys are URL-encoded in S3 event records, as on AWS
        urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        for message in messages
        for record in json.loads(message["Body"]).get("Records", [])
    ]
    assert keys == [f"{bucket.prefix}import/J/GOOG/1d/x.csv"]

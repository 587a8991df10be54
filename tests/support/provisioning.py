"""Creates every declared resource with boto3 (tests and the local cloud share the idea)."""

from __future__ import annotations

import json

import boto3

from redfire_core.resources import QUEUES, RULES, TABLES, Declaration


def provision(declaration: Declaration, jwt_secret: str) -> None:
    dynamodb = boto3.client("dynamodb")
    for table in TABLES.values():
        keys = [{"AttributeName": table.partition_key, "KeyType": "HASH"}]
        if table.sort_key:
            keys.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
        spec = {
            "TableName": declaration.name(table.logical),
            "KeySchema": keys,
            "AttributeDefinitions": [
                {"AttributeName": n, "AttributeType": t} for n, t in table.attribute_types().items()
            ],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if table.gsis:
            spec["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": g.name,
                    "KeySchema": [{"AttributeName": g.partition_key, "KeyType": "HASH"}]
                    + ([{"AttributeName": g.sort_key, "KeyType": "RANGE"}] if g.sort_key else []),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for g in table.gsis
            ]
        if table.stream:
            spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
        dynamodb.create_table(**spec)
    sqs = boto3.client("sqs")
    events = boto3.client("events")
    bus_arn = events.create_event_bus(Name=declaration.bus_name)["EventBusArn"]
    queue_arns = {}
    for queue in QUEUES.values():
        dlq_url = sqs.create_queue(QueueName=declaration.name(queue.dlq_logical))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        url = sqs.create_queue(
            QueueName=declaration.name(queue.logical),
            Attributes={
                "RedrivePolicy": json.dumps(
                    {
                        "deadLetterTargetArn": dlq_arn,
                        "maxReceiveCount": str(queue.max_receive_count),
                    }
                ),
                "VisibilityTimeout": "0",
            },
        )["QueueUrl"]
        queue_arns[queue.logical] = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
    for rule in RULES.values():
        name = declaration.name(rule.logical)
        events.put_rule(
            Name=name,
            EventBusName=declaration.bus_name,
            EventPattern=json.dumps(rule.event_pattern()),
        )
        events.put_targets(
            Rule=name,
            EventBusName=declaration.bus_name,
            Targets=[{"Id": rule.queue, "Arn": queue_arns[rule.queue]}],
        )
    boto3.client("secretsmanager").create_secret(
        Name=declaration.jwt_secret_name, SecretString=jwt_secret
    )
    del bus_arn

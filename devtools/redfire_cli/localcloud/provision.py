"""Create every declared resource in moto: tables, bus, queues with DLQs, rules, secret.

Loops over ``redfire_core.resources``; no resource is named here. One local departure
from the declaration: queues get a visibility timeout of ``LOCAL_VISIBILITY_TIMEOUT_SECONDS``
instead of the declared minute, so a failed message returns (and after
``max_receive_count`` receives reaches its DLQ) in seconds. That is safe locally because
one poller thread per queue handles a batch at a time, so nothing else can receive a
message while its batch is still being handled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from redfire_cli.localcloud import aws
from redfire_core.resources import (
    ARCHIVE_RETENTION_DAYS,
    BUCKETS,
    EVENT_SOURCE,
    QUEUES,
    RULES,
    STREAM_CONSUMERS,
    Bucket,
    Declaration,
    Queue,
    Table,
)

LOCAL_VISIBILITY_TIMEOUT_SECONDS = 2
MAX_SQS_RETENTION_SECONDS = 14 * 86400


@dataclass(frozen=True)
class QueueAddress:
    url: str
    arn: str


@dataclass
class LocalResources:
    """Addresses of what was created, for the pollers."""

    queues: dict[str, QueueAddress] = field(default_factory=dict)  # by queue logical name
    dlqs: dict[str, QueueAddress] = field(default_factory=dict)  # by queue logical name
    streams: dict[str, str] = field(default_factory=dict)  # stream ARN by table logical name
    # Where the stream poller sends records that kept failing (Lambda's OnFailure).
    stream_failures: dict[str, QueueAddress] = field(default_factory=dict)


def stream_failure_queue_logical(table_logical: str) -> str:
    """The local on-failure destination of a table's stream consumer."""
    return f"{table_logical}-stream-failures"


class Provisioner:
    """Creates the declaration of one stage in the moto server the clients point at."""

    def __init__(
        self,
        declaration: Declaration,
        endpoint_url: str | None = None,
        visibility_timeout_seconds: int = LOCAL_VISIBILITY_TIMEOUT_SECONDS,
    ) -> None:
        self.declaration = declaration
        self.visibility_timeout_seconds = visibility_timeout_seconds
        self.dynamodb = aws.client("dynamodb", endpoint_url)
        self.sqs = aws.client("sqs", endpoint_url)
        self.events = aws.client("events", endpoint_url)
        self.secrets = aws.client("secretsmanager", endpoint_url)
        self.s3 = aws.client("s3", endpoint_url)

    def provision(self, jwt_secret: str) -> LocalResources:
        resources = LocalResources()
        for table in self.declaration.tables.values():
            stream_arn = self.create_table(table)
            if stream_arn:
                resources.streams[table.logical] = stream_arn
        for table_logical in STREAM_CONSUMERS:
            resources.stream_failures[table_logical] = self.create_queue(
                self.declaration.name(stream_failure_queue_logical(table_logical))
            )
        bus_arn = self.events.create_event_bus(Name=self.declaration.bus_name)["EventBusArn"]
        self.events.create_archive(
            ArchiveName=self.declaration.archive_name,
            EventSourceArn=bus_arn,
            EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
            RetentionDays=ARCHIVE_RETENTION_DAYS,
        )
        for queue in QUEUES.values():
            main, dlq = self.create_queue_with_dlq(queue)
            resources.queues[queue.logical], resources.dlqs[queue.logical] = main, dlq
        self.create_rules(resources.queues)
        for bucket in BUCKETS.values():
            self.create_bucket(bucket, resources.queues)
        self.secrets.create_secret(Name=self.declaration.jwt_secret_name, SecretString=jwt_secret)
        return resources

    def create_bucket(self, bucket: Bucket, queues: dict[str, QueueAddress]) -> None:
        """The bucket and, as declared, object-created notifications to its queue."""
        name = self.declaration.bucket_name(bucket.logical)
        self.s3.create_bucket(Bucket=name)
        if bucket.notify_queue:
            self._allow_s3(queues[bucket.notify_queue], name)
            rules = [{"Name": "prefix", "Value": bucket.prefix}] if bucket.prefix else []
            self.s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {
                            "QueueArn": queues[bucket.notify_queue].arn,
                            "Events": ["s3:ObjectCreated:*"],
                            "Filter": {"Key": {"FilterRules": rules}},
                        }
                    ]
                },
            )

    def _allow_s3(self, queue: QueueAddress, bucket_name: str) -> None:
        """Add to the queue's policy: S3 may send the bucket's notifications (as in CDK)."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["Policy"])
        policy = json.loads(
            attributes.get("Attributes", {}).get("Policy")
            or '{"Version": "2012-10-17", "Statement": []}'
        )
        policy["Statement"].append(
            {
                "Sid": f"from-{bucket_name}",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue.arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket_name}"}},
            }
        )
        self.sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"Policy": json.dumps(policy)})

    def create_table(self, table: Table) -> str | None:
        """Create one table (with its TTL and stream); its stream ARN if it has one."""
        name = self.declaration.name(table.logical)
        attribute_types = dict(table.attribute_types())
        for gsi in table.gsis:
            attribute_types.update(dict(gsi.key_types))
        request: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": n, "AttributeType": t} for n, t in attribute_types.items()
            ],
            "KeySchema": _key_schema(table.partition_key, table.sort_key),
        }
        if table.gsis:
            request["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": gsi.name,
                    "KeySchema": _key_schema(gsi.partition_key, gsi.sort_key),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for gsi in table.gsis
            ]
        if table.stream:
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": table.stream,
            }
        description = self.dynamodb.create_table(**request)["TableDescription"]
        if table.ttl_attribute:
            self.dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        stream_arn = description.get("LatestStreamArn")
        return str(stream_arn) if stream_arn else None

    def create_queue(self, name: str, attributes: dict[str, str] | None = None) -> QueueAddress:
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        return QueueAddress(url, arn)

    def create_queue_with_dlq(self, queue: Queue) -> tuple[QueueAddress, QueueAddress]:
        """The queue and its DLQ, with the declared redrive after ``max_receive_count``."""
        retention = min(queue.dlq_retention_days * 86400, MAX_SQS_RETENTION_SECONDS)
        dlq = self.create_queue(
            self.declaration.name(queue.dlq_logical),
            {"MessageRetentionPeriod": str(retention)},
        )
        redrive = {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": queue.max_receive_count}
        main = self.create_queue(
            self.declaration.name(queue.logical),
            {
                "VisibilityTimeout": str(self.visibility_timeout_seconds),
                "RedrivePolicy": json.dumps(redrive),
            },
        )
        return main, dlq

    def create_rules(self, queues: dict[str, QueueAddress]) -> None:
        """Each rule targets its queue; each queue lets EventBridge send from its rules."""
        statements: dict[str, list[dict[str, Any]]] = {}
        for rule in RULES.values():
            name = self.declaration.name(rule.logical)
            rule_arn = self.events.put_rule(
                Name=name,
                EventBusName=self.declaration.bus_name,
                EventPattern=json.dumps(rule.event_pattern()),
                State="ENABLED",
            )["RuleArn"]
            target = queues[rule.queue]
            self.events.put_targets(
                Rule=name,
                EventBusName=self.declaration.bus_name,
                Targets=[{"Id": f"{rule.queue}-queue", "Arn": target.arn}],
            )
            statements.setdefault(rule.queue, []).append(
                {
                    "Sid": f"from-{rule.logical}",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": target.arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            )
        for queue_logical, queue_statements in statements.items():
            policy = {"Version": "2012-10-17", "Statement": queue_statements}
            self.sqs.set_queue_attributes(
                QueueUrl=queues[queue_logical].url, Attributes={"Policy": json.dumps(policy)}
            )


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return schema

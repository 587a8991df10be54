"""Storage beyond the tables: the buckets (market data uploads: object created -> ingest
queue; backtest results) and, on stages with ``timestream_enabled``, the Timestream
database and table."""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_timestream as timestream
from constructs import Construct

from redfire_core.resources import BUCKETS, FUNCTIONS, TIMESERIES, Bucket, Declaration
from redfire_infra.function_factory import DeclaredFunction
from redfire_infra.nag import acknowledge
from redfire_infra.naming import construct_id
from redfire_infra.stage_config import StageConfig

# Why each bucket has no server access logs (cdk-nag AwsSolutions-S1).
NO_ACCESS_LOGS_BECAUSE = {
    "marketdata-uploads": "Objects are transient ingest inputs (expired by lifecycle); every "
    "ingest is recorded as a job with its counts, so access logs would add no audit value.",
    "backtest-results": "Objects are derived data, reproducible from the backtest request "
    "recorded in DynamoDB; reads go through short-lived presigned links the API issues to "
    "the owning account only.",
}


class MarketDataStorage(Construct):
    """Buckets from ``BUCKETS``; Timestream from ``TIMESERIES`` when the stage enables it;
    grants from each function's ``buckets_read``/``buckets_write``/``uses_timestream``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        declaration: Declaration,
        config: StageConfig,
        queues: dict[str, sqs.Queue],
        functions: dict[str, DeclaredFunction],
    ) -> None:
        super().__init__(scope, id)
        self.buckets: dict[str, s3.Bucket] = {}
        for logical, spec in BUCKETS.items():
            # No bucket_name: S3 names are global, so CloudFormation names the buckets
            # (``redfire-<stage>-...-<random>``) and functions get the names in their
            # environment; the CLI reads them from the stack's outputs.
            bucket = s3.Bucket(
                self,
                construct_id(logical),
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=True,
                lifecycle_rules=_lifecycle_rules(spec),
                removal_policy=RemovalPolicy.DESTROY
                if not config.protects_data
                else RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
                # Only where the data is disposable: `cdk destroy` of dev empties the bucket
                # through CDK's one custom resource; staging and prod keep their objects.
                auto_delete_objects=not config.protects_data,
            )
            acknowledge(bucket, "AwsSolutions-S1", NO_ACCESS_LOGS_BECAUSE[logical])
            if spec.notify_queue:
                self._notify(bucket, spec.prefix, queues[spec.notify_queue])
            CfnOutput(
                Stack.of(self),
                spec.output_name,
                value=bucket.bucket_name,
                description=f"{logical} bucket ({spec.environment_variable})",
            )
            self.buckets[logical] = bucket

        for name, function_spec in FUNCTIONS.items():
            role = functions[name].role
            grants = [(logical, "s3:GetObject") for logical in function_spec.buckets_read] + [
                (logical, "s3:PutObject") for logical in function_spec.buckets_write
            ]
            for logical, action in grants:
                prefix = BUCKETS[logical].prefix
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=[action],
                        resources=[self.buckets[logical].arn_for_objects(f"{prefix}*")],
                    )
                )
            for logical in sorted({logical for logical, _ in grants}):
                functions[name].function.add_environment(
                    BUCKETS[logical].environment_variable, self.buckets[logical].bucket_name
                )
                acknowledge(
                    role,
                    f"AwsSolutions-IAM5[Resource::<{_arn_token(self.buckets, logical)}>/"
                    f"{BUCKETS[logical].prefix}*]",
                    "Object keys carry an id chosen when the object is written (ingest job, "
                    "backtest), so objects are granted by the bucket's prefix; one action "
                    "(GetObject or PutObject) per grant.",
                )
        self.database: timestream.CfnDatabase | None = None
        self.table: timestream.CfnTable | None = None
        if config.timestream_enabled:
            database_name, table_name = declaration.timestream_names()
            self.database = timestream.CfnDatabase(
                self, "TimestreamDatabase", database_name=database_name
            )
            self.table = timestream.CfnTable(
                self,
                "TimestreamBars",
                database_name=database_name,
                table_name=table_name,
                retention_properties={
                    "MemoryStoreRetentionPeriodInHours": str(TIMESERIES.memory_retention_hours),
                    "MagneticStoreRetentionPeriodInDays": str(TIMESERIES.magnetic_retention_days),
                },
                # Backfills write records older than the memory store retention.
                magnetic_store_write_properties={"EnableMagneticStoreWrites": True},
            )
            self.table.add_dependency(self.database)
            for name, function_spec in FUNCTIONS.items():
                if not function_spec.uses_timestream:
                    continue
                declared = functions[name]
                declared.function.add_environment("REDFIRE_MARKETDATA_STORE", "timestream")
                declared.role.add_to_policy(
                    iam.PolicyStatement(
                        sid="TimestreamBars",
                        actions=[
                            "timestream:WriteRecords",
                            "timestream:Select",
                            "timestream:DescribeTable",
                        ],
                        resources=[self.table.attr_arn],
                    )
                )
                declared.role.add_to_policy(
                    iam.PolicyStatement(
                        sid="TimestreamEndpoints",
                        actions=["timestream:DescribeEndpoints", "timestream:SelectValues"],
                        resources=["*"],
                    )
                )

    def _notify(self, bucket: s3.Bucket, prefix: str, queue: sqs.Queue) -> None:
        """Object created -> queue, on the bucket itself (no notifications custom resource,
        which would add a Lambda function outside the declaration)."""
        # The bucket depends on this policy (S3 checks it when the configuration is
        # written), so the policy cannot name the bucket: it names this account's buckets
        # of the stack, whose generated names start with the lower-cased stack name.
        stack_prefix = Stack.of(self).stack_name.lower()
        policy = queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:s3:::{stack_prefix}-*"},
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                },
            )
        )
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        filter_ = (
            s3.CfnBucket.NotificationFilterProperty(
                s3_key=s3.CfnBucket.S3KeyFilterProperty(
                    rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=prefix)]
                )
            )
            if prefix
            else None
        )
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(
                    event="s3:ObjectCreated:*", queue=queue.queue_arn, filter=filter_
                )
            ]
        )
        # S3 checks that it may send to the queue when the configuration is written.
        if policy.policy_dependable is not None:
            bucket.node.add_dependency(policy.policy_dependable)


def _lifecycle_rules(spec: Bucket) -> list[s3.LifecycleRule]:
    """Replaced and deleted versions expire (versioning undoes mistakes, not forever), as do
    the bucket's objects when it declares an age and unfinished multipart uploads."""
    rules = [
        s3.LifecycleRule(
            id="noncurrent-versions",
            noncurrent_version_expiration=Duration.days(spec.noncurrent_version_expire_days),
            abort_incomplete_multipart_upload_after=Duration.days(1),
        ),
        # S3 refuses this flag beside an expiration age, hence a rule of its own.
        s3.LifecycleRule(id="expired-delete-markers", expired_object_delete_marker=True),
    ]
    if spec.expire_days:
        rules.append(s3.LifecycleRule(id="objects", expiration=Duration.days(spec.expire_days)))
    return rules


def _arn_token(buckets: dict[str, s3.Bucket], logical: str) -> str:
    """cdk-nag's name of a bucket's ARN in a finding: ``<LogicalId.Arn>``."""
    return f"{Stack.of(buckets[logical]).get_logical_id(buckets[logical].node.default_child)}.Arn"  # type: ignore[arg-type]

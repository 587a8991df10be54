"""The one place a Lambda function is defined: ``DeclaredFunction`` builds any entry of
``redfire_core.resources.FUNCTIONS`` with the house defaults and a least-privilege role."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from redfire_core.resources import STREAM_CONSUMERS, Declaration, Function
from redfire_infra.bundling import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, function_code
from redfire_infra.nag import acknowledge
from redfire_infra.plugin_layer import PLUGINS_LAYER
from redfire_infra.stage_config import StageConfig

METRICS_NAMESPACE = "RedFire"
LIVE_ALIAS = "live"  # with SnapStart, triggers invoke this alias

# Item-level actions only: no table management, no PartiQL, no stream reads.
TABLE_READ_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)
TABLE_WRITE_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
INDEX_READ_ACTIONS = ("dynamodb:Query", "dynamodb:Scan")
# Accounts' venue credentials (``Declaration.venue_secrets_prefix``): the venue functions read
# them; the API stores, replaces and deletes them (PUT /v1/account/gateway).
VENUE_SECRET_ACTIONS = {
    "read": ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
    "write": (
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:DeleteSecret",
        "secretsmanager:DescribeSecret",
        "secretsmanager:TagResource",
    ),
}


@dataclass(frozen=True)
class SharedResources:
    """What a declared function may be granted access to."""

    tables: dict[str, dynamodb.Table]
    bus: events.IEventBus
    jwt_secret: secretsmanager.ISecret
    layers: dict[str, lambda_.ILayerVersion]  # LAYERS key -> layer version
    queues: dict[str, sqs.IQueue] = field(default_factory=dict)  # QUEUES key -> queue


class DeclaredFunction(Construct):
    """arm64 python3.12 function with the layers it declares, JSON logs, X-Ray, its own log
    group and a role granting exactly the tables, bus and secret its declaration names."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        spec: Function,
        declaration: Declaration,
        config: StageConfig,
        shared: SharedResources,
    ) -> None:
        super().__init__(scope, id)
        self.spec = spec
        name = declaration.name(spec.name)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{name}: {spec.purpose}",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=config.log_retention,
            removal_policy=config.stateful_removal_policy,
        )
        layers = [shared.layers[name] for name in spec.layers]
        if spec.loads_plugins and PLUGINS_LAYER in shared.layers:  # the stage has plug-ins
            layers.append(shared.layers[PLUGINS_LAYER])
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            description=spec.purpose or None,
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=spec.handler,
            code=function_code(spec.asset),
            layers=layers,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            # SnapStart (cdk.json "snapstart"): init runs once per published version.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if config.snapstart else None,
            # Each cached snapshot is billed while its version lives: a deploy deletes the
            # version it replaces (the alias has moved on by then) instead of keeping it.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY)
            if config.snapstart
            else None,
            # Opt-in per stage: SQS consumers are capped by their event source mapping instead.
            reserved_concurrent_executions=config.reserved_concurrency.get(spec.name),
            environment={
                "REDFIRE_STAGE": declaration.stage,
                "POWERTOOLS_SERVICE_NAME": spec.name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                **config.caps_environment,  # the API checks changes; risk and orders apply them
                **config.tracing_environment,
            },
        )
        # What every trigger invokes: the function, or with SnapStart, which only applies to
        # published versions, the "live" alias of the version this deploy publishes.
        self.target: lambda_.IFunction = self.function
        if config.snapstart:
            self.target = lambda_.Alias(
                self,
                "Live",
                alias_name=LIVE_ALIAS,
                version=self.function.current_version,
                description="the version SnapStart snapshotted; every trigger invokes it",
            )
        # Writing its own log group is all the logging the function needs (no managed policy).
        self.log_group.grant_write(self.role)
        self._grant_tables(declaration, shared.tables)
        if spec.publishes_events:
            shared.bus.grant_put_events_to(self.role)
        for queue in spec.queues_send:
            shared.queues[queue].grant_send_messages(self.role)
        if spec.reads_jwt_secret:
            shared.jwt_secret.grant_read(self.role)
        if spec.venue_secrets:
            self._grant_venue_secrets(declaration, spec.venue_secrets)
        for variable, value in stage_environment(spec, config).items():
            self.function.add_environment(variable, value)

        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "python3.12 is deliberate: the layer's wheels are built for cp312 and the project "
            "supports Python <3.13; moving runtime is a planned upgrade of both together.",
        )
        wildcard_reason = (
            "Only actions that take no resource use '*': xray:PutTraceSegments and "
            "xray:PutTelemetryRecords (active tracing)"
        )
        if spec.name in STREAM_CONSUMERS.values():
            wildcard_reason += " and dynamodb:ListStreams (the table stream event source)"
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", wildcard_reason + ".")

    def _grant_venue_secrets(self, declaration: Declaration, access: str) -> None:
        """The accounts' venue credentials, under the stage's prefix only. Secrets Manager
        appends six random characters to a secret's ARN, hence the trailing wildcard."""
        stack = Stack.of(self)
        prefix = declaration.venue_secrets_prefix
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="VenueCredentials",
                actions=list(VENUE_SECRET_ACTIONS[access]),
                resources=[
                    stack.format_arn(
                        service="secretsmanager",
                        resource="secret",
                        resource_name=f"{prefix}*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
            f"<AWS::AccountId>:secret:{prefix}*]",
            "One secret per account under the stage's venue prefix, created when an admin "
            "routes an account to a venue: the names are not known at deploy time, and "
            "the prefix holds venue credentials only.",
        )

    def _grant_tables(self, declaration: Declaration, tables: dict[str, dynamodb.Table]) -> None:
        """Read on ``tables_read``, read-write on ``tables_write``; GSIs by name, no wildcard."""
        readable = dict.fromkeys((*self.spec.tables_read, *self.spec.tables_write))
        if readable:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadDeclaredTables",
                    actions=list(TABLE_READ_ACTIONS),
                    resources=[tables[logical].table_arn for logical in readable],
                )
            )
        index_arns = [
            f"{tables[logical].table_arn}/index/{index_name}"
            for logical in readable
            for index_name in (gsi.name for gsi in declaration.tables[logical].gsis)
        ]
        if index_arns:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="QueryDeclaredIndexes",
                    actions=list(INDEX_READ_ACTIONS),
                    resources=index_arns,
                )
            )
        mutable = [t for t in self.spec.tables_write if not declaration.tables[t].append_only]
        if mutable:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="WriteDeclaredTables",
                    actions=list(TABLE_WRITE_ACTIONS),
                    resources=[tables[logical].table_arn for logical in mutable],
                )
            )
        appendable = [t for t in self.spec.tables_write if declaration.tables[t].append_only]
        if appendable:
            # Append-only tables (audit): create items, never update or delete them.
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="AppendToDeclaredTables",
                    actions=["dynamodb:PutItem"],
                    resources=[tables[logical].table_arn for logical in appendable],
                )
            )


def stage_environment(spec: Function, config: StageConfig) -> dict[str, str]:
    """The stage's settings a function reads, by what the declaration says it does."""
    environment: dict[str, str] = {}
    if spec.loads_plugins:
        environment |= config.gateway_environment
    if spec.fetches_market_data:
        environment |= config.provider_environment
    if spec.reads_jwt_secret:
        # Token checkers also accept the stage's external identity provider, if it has one.
        environment |= config.jwks_environment
    if spec.name == "api":
        environment |= config.api_environment
    if spec.enforces_quotas:
        environment |= config.quota_environment
    return environment

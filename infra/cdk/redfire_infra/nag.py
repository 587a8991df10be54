"""cdk-nag wiring: the AwsSolutions pack on the whole app, acknowledgements per resource;
and the one list of checkov checks that do not apply here, each with its reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Acknowledgment, App, Aspects, CfnResource, IAspect, Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

NAG_PACK = "AwsSolutions"


def add_nag_checks(app: App) -> None:
    """Run the AwsSolutions rules on every synth; an unacknowledged finding fails it."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Record a reviewed finding (e.g. ``AwsSolutions-L1``) on one construct and its children,
    never on the stack. The ``<pack>::`` form makes CDK list the finding with its reason under
    ``suppressedViolations`` in ``validation-report.json``, an audit trail of every waiver."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{NAG_PACK}::{finding}", reason=reason))


# --- checkov -----------------------------------------------------------------------------

_NO_CMK = (
    "Encrypted at rest with an AWS managed key. A customer managed KMS key costs $1 a month "
    "each plus requests, against an idle-cost budget of a few dollars per stage, and would "
    "protect against no threat this stack faces: access is controlled by IAM per function."
)


@dataclass(frozen=True)
class ScannerSkip:
    """A checkov check that does not apply to one type of resource, and why."""

    check: str
    resource: type[CfnResource]
    reason: str
    # Skip only the resources of that type this is true for (e.g. without the setting).
    applies: Callable[[Any], bool] = lambda _resource: True


CHECKOV_SKIPS: tuple[ScannerSkip, ...] = (
    ScannerSkip(
        "CKV_AWS_115",
        lambda_.CfnFunction,
        "Reserved concurrency is opt-in per stage (reserved_concurrency in cdk.json): a deploy "
        "fails when reservations leave under 100 unreserved executions and new accounts may "
        "have 10. SQS consumers are capped by their event source mapping's MaximumConcurrency.",
        lambda function: function.reserved_concurrent_executions is None,
    ),
    ScannerSkip(
        "CKV_AWS_116",
        lambda_.CfnFunction,
        "No function is invoked asynchronously by a source without a DLQ of its own: SQS "
        "consumers dead-letter through their queue's redrive policy, the stream consumer "
        "through its event source mapping's on-failure queue, schedules through the Scheduler "
        "target's DLQ; the API and WebSocket functions are invoked synchronously.",
    ),
    ScannerSkip(
        "CKV_AWS_117",
        lambda_.CfnFunction,
        "The functions reach only AWS service endpoints and public market data APIs, and no "
        "private network resource: a VPC would add NAT or endpoint costs and protect nothing.",
    ),
    ScannerSkip(
        "CKV_AWS_173",
        lambda_.CfnFunction,
        "Environment variables hold names, URLs and switches, never secrets (the JWT key is "
        "read from Secrets Manager at run time); Lambda encrypts them with its AWS managed key.",
    ),
    ScannerSkip("CKV_AWS_119", dynamodb.CfnTable, _NO_CMK),
    ScannerSkip("CKV_AWS_149", secretsmanager.CfnSecret, _NO_CMK),
    ScannerSkip("CKV_AWS_158", logs.CfnLogGroup, _NO_CMK),
    ScannerSkip(
        "CKV_AWS_27",
        sqs.CfnQueue,
        "The queue is encrypted with SQS-managed SSE (SqsManagedSseEnabled); checkov's check "
        "only recognizes a KMS key (KmsMasterKeyId).",
        lambda queue: queue.sqs_managed_sse_enabled is True,
    ),
    ScannerSkip(
        "CKV_AWS_26",
        sns.CfnTopic,
        "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, "
        "and a customer managed key costs $1 a month; the topic carries alarm names and "
        "states, no data, and refuses publishing without TLS.",
        lambda topic: topic.kms_master_key_id is None,
    ),
    ScannerSkip(
        "CKV_AWS_18",
        s3.CfnBucket,
        "Server access logs would add no audit value; each bucket's reason is acknowledged "
        "for cdk-nag AwsSolutions-S1 (market_data.NO_ACCESS_LOGS_BECAUSE).",
        lambda bucket: bucket.logging_configuration is None,
    ),
    ScannerSkip(
        "CKV_AWS_95",
        apigwv2.CfnStage,
        "WebSocket access logs are opt-in per stage (websocket_access_logs): they need API "
        "Gateway's account-wide CloudWatch role (docs/deploy.md).",
        lambda stage: stage.access_log_settings is None,
    ),
)


@jsii.implements(IAspect)
class CheckovSkips:
    """Writes ``Metadata: checkov: skip:`` on every resource a ``CHECKOV_SKIPS`` entry
    applies to, so checkov reports the skip with its reason instead of a failure."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        skips = [
            {"id": skip.check, "comment": skip.reason}
            for skip in CHECKOV_SKIPS
            if isinstance(node, skip.resource) and skip.applies(node)
        ]
        if skips:
            node.add_metadata("checkov", {"skip": skips})


def add_checkov_skips(app: App) -> None:
    Aspects.of(app).add(CheckovSkips())

"""EventBridge Scheduler schedules from ``Declaration(stage).schedules()``."""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from redfire_core.resources import SCHEDULES_DLQ_LOGICAL, Declaration, Schedule
from redfire_infra.event_routing import encrypted_queue
from redfire_infra.function_factory import DeclaredFunction
from redfire_infra.nag import acknowledge
from redfire_infra.naming import construct_id

DLQ_RETENTION = Duration.days(14)
SCHEDULE_GROUP_LOGICAL = "schedules"


def _retry_policy(spec: Schedule) -> scheduler.CfnSchedule.RetryPolicyProperty | None:
    """A periodic tick is superseded by the next one: retry it only within its own period."""
    if not spec.expression.startswith("rate("):
        return None
    return scheduler.CfnSchedule.RetryPolicyProperty(
        maximum_event_age_in_seconds=max(60, spec.rate_seconds()),
        maximum_retry_attempts=2,
    )


class Schedules(Construct):
    """Each schedule invokes its function with the declared payload, through a role that may
    invoke that one function (and send to the schedules' DLQ) and nothing else."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        declaration: Declaration,
        functions: dict[str, DeclaredFunction],
    ) -> None:
        super().__init__(scope, id)
        # The stage's own group: Scheduler's metrics carry a ScheduleGroup dimension, so the
        # stage's failed invocations can be alarmed on apart from any other stage's.
        self.group = scheduler.CfnScheduleGroup(
            self, "Group", name=declaration.name(SCHEDULE_GROUP_LOGICAL)
        )
        self.group_name = declaration.name(SCHEDULE_GROUP_LOGICAL)
        self.schedules: dict[str, scheduler.CfnSchedule] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        specs = declaration.schedules()
        if not specs:
            return
        dlq = encrypted_queue(
            self,
            construct_id(SCHEDULES_DLQ_LOGICAL),
            queue_name=declaration.name(SCHEDULES_DLQ_LOGICAL),
            retention_period=DLQ_RETENTION,
        )
        acknowledge(
            dlq,
            "AwsSolutions-SQS3",
            "This queue is itself a DLQ: the dead-letter target of the stage's EventBridge "
            "Scheduler schedules, which no redrive policy names.",
        )
        self.dead_letter_queues[SCHEDULES_DLQ_LOGICAL] = dlq
        for spec in specs:
            name = declaration.name(spec.logical)
            target = functions[spec.function].target  # the alias with SnapStart
            role = iam.Role(
                self,
                construct_id(spec.logical, "Role"),
                assumed_by=iam.ServicePrincipal(
                    "scheduler.amazonaws.com",
                    conditions={
                        "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                    },
                ),
                description=f"{name}: invoke {declaration.name(spec.function)}",
                inline_policies={
                    "InvokeTarget": iam.PolicyDocument(
                        statements=[
                            iam.PolicyStatement(
                                actions=["lambda:InvokeFunction"],
                                resources=[target.function_arn],
                            ),
                            iam.PolicyStatement(
                                actions=["sqs:SendMessage"], resources=[dlq.queue_arn]
                            ),
                        ]
                    )
                },
            )
            self.schedules[spec.logical] = scheduler.CfnSchedule(
                self,
                construct_id(spec.logical),
                name=name,
                group_name=self.group.ref,
                description=spec.purpose or None,
                schedule_expression=spec.expression,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=target.function_arn,
                    role_arn=role.role_arn,
                    input=json.dumps(spec.payload, sort_keys=True),
                    retry_policy=_retry_policy(spec),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                        arn=dlq.queue_arn
                    ),
                ),
            )

"""The event bus with its archive, the SQS queues with their DLQs, and the rules between."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from redfire_core.resources import (
    ARCHIVE_RETENTION_DAYS,
    EVENT_SOURCE,
    QUEUES,
    RULES,
    Declaration,
)
from redfire_infra.naming import construct_id


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """The declaration's EventBridge pattern (``detail-type`` etc.) as the L2 struct."""
    return events.EventPattern(**{key.replace("-", "_"): value for key, value in pattern.items()})


def encrypted_queue(scope: Construct, id: str, **props: Any) -> sqs.Queue:
    """An SQS queue with SQS-managed encryption that refuses requests without TLS."""
    return sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        **props,
    )


TARGET_RETRY_ATTEMPTS = 185  # EventBridge's maximum: retries span the whole event age
TARGET_MAX_EVENT_AGE_HOURS = 24


class EventRouting(Construct):
    """Bus ``redfire-<stage>-bus`` routing domain events by detail-type to SQS queues."""

    def __init__(self, scope: Construct, id: str, *, declaration: Declaration) -> None:
        super().__init__(scope, id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=declaration.bus_name)
        self.archive = self.bus.archive(
            "Archive",
            archive_name=declaration.archive_name,
            description="every RedFire domain event, for replay",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            retention=Duration.days(ARCHIVE_RETENTION_DAYS),
        )

        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for logical, spec in QUEUES.items():
            dlq = encrypted_queue(
                self,
                construct_id(spec.dlq_logical),
                queue_name=declaration.name(spec.dlq_logical),
                retention_period=Duration.days(spec.dlq_retention_days),
            )
            self.queues[logical] = encrypted_queue(
                self,
                construct_id(logical, "Queue"),
                queue_name=declaration.name(logical),
                visibility_timeout=Duration.seconds(spec.visibility_timeout_seconds),
                dead_letter_queue=sqs.DeadLetterQueue(
                    queue=dlq, max_receive_count=spec.max_receive_count
                ),
            )
            self.dead_letter_queues[spec.dlq_logical] = dlq

        self.rules: dict[str, events.Rule] = {}
        for logical, rule in RULES.items():
            self.rules[logical] = events.Rule(
                self,
                construct_id(logical, "Rule"),
                rule_name=declaration.name(logical),
                event_bus=self.bus,
                event_pattern=event_pattern(rule.event_pattern()),
                targets=[
                    targets.SqsQueue(
                        self.queues[rule.queue],
                        # A delivery EventBridge cannot make lands in the queue's DLQ.
                        dead_letter_queue=self.dead_letter_queues[QUEUES[rule.queue].dlq_logical],
                        retry_attempts=TARGET_RETRY_ATTEMPTS,
                        max_event_age=Duration.hours(TARGET_MAX_EVENT_AGE_HOURS),
                    )
                ],
            )

"""Alarms on every dead-letter queue and one dashboard: errors and duration per function,
DLQ depth. Alarms notify the stage's alarm e-mail when one is configured."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from redfire_core.resources import Declaration
from redfire_infra.function_factory import DeclaredFunction
from redfire_infra.naming import construct_id
from redfire_infra.stage_config import StageConfig

_PERIOD = Duration.minutes(1)


class Observability(Construct):
    """``<dlq>-not-empty`` alarms and the ``redfire-<stage>`` dashboard."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        declaration: Declaration,
        config: StageConfig,
        functions: dict[str, DeclaredFunction],
        dead_letter_queues: dict[str, sqs.IQueue],
    ) -> None:
        super().__init__(scope, id)
        self.alarm_topic: sns.Topic | None = None
        if config.alarm_email:
            self.alarm_topic = sns.Topic(
                self,
                "AlarmTopic",
                topic_name=declaration.name("alarms"),
                enforce_ssl=True,
            )
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))

        self.dlq_alarms: dict[str, cloudwatch.Alarm] = {}
        for logical, dlq in dead_letter_queues.items():
            alarm = dlq.metric_approximate_number_of_messages_visible(
                period=_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ).create_alarm(
                self,
                construct_id(logical, "NotEmpty"),
                alarm_name=declaration.name(f"{logical}-not-empty"),
                alarm_description=f"messages are waiting in {declaration.name(logical)}",
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            if self.alarm_topic is not None:
                alarm.add_alarm_action(cw_actions.SnsAction(self.alarm_topic))
            self.dlq_alarms[logical] = alarm

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=declaration.name("dashboard")
        )
        lambdas = {name: declared.function for name, declared in functions.items()}
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="function errors",
                left=[fn.metric_errors(period=_PERIOD, label=name) for name, fn in lambdas.items()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="function duration p99 (ms)",
                left=[
                    fn.metric_duration(period=_PERIOD, statistic="p99", label=name)
                    for name, fn in lambdas.items()
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="dead-letter queue depth",
                left=[
                    dlq.metric_approximate_number_of_messages_visible(
                        period=_PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label=logical
                    )
                    for logical, dlq in dead_letter_queues.items()
                ],
                width=24,
            )
        )

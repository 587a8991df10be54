"""Alarms and the dashboard of a stage, and the one SNS topic every alarm notifies.

The topic exists on every stage; its e-mail subscription comes from the ``AlarmEmail``
stack parameter (default: the stage's ``alarm_email`` in cdk.json), so an operator can set
or change the address at deploy time (``--parameters AlarmEmail=...``) without editing
cdk.json. ``NotifyOnAlarm`` (an Aspect) gives every alarm of the stack the topic as its
action, wherever in the stack the alarm was made.

Alarms are billed per metric they read ($0.10 per metric per month at list price), so each
watches what a person must act on, and no more: per function one alarm on
``Errors + Throttles`` (2 metrics), per dead-letter queue one on its depth, the outbox
stream's iterator age, the stage's schedule group's target errors, and per venue function
its reconciliation drift and its gateway errors (refused credentials).
"""

from __future__ import annotations

import jsii
from aws_cdk import Aspects, CfnCondition, CfnParameter, Duration, Fn, IAspect, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from redfire_core.resources import STREAM_CONSUMERS, Declaration
from redfire_infra.function_factory import METRICS_NAMESPACE, DeclaredFunction
from redfire_infra.naming import construct_id
from redfire_infra.stage_config import StageConfig

_PERIOD = Duration.minutes(1)
ALARM_EMAIL_PARAMETER = "AlarmEmail"
# The outbox relay publishes within seconds; a minute behind means the stream consumer is
# failing or throttled and events (fills, state changes) reach nobody.
STREAM_ITERATOR_AGE_ALARM_MS = 60_000
SCHEDULER_NAMESPACE = "AWS/Scheduler"
# Custom metrics of the venue functions (venue_reconciliation's sweep; the intake).
RECONCILIATION_DRIFT_METRIC = "ReconciliationDrift"
VENUE_GATEWAY_ERRORS_METRIC = "VenueGatewayErrors"
# redfire_core.observability.STAGE_DIMENSION (not imported: it builds Powertools' objects).
STAGE_DIMENSION = "stage"


@jsii.implements(IAspect)
class NotifyOnAlarm:
    """Every CloudWatch alarm in the scope notifies ``topic`` (once), including alarms that
    other constructs create later (DLQ alarms of new queues, schedule DLQs)."""

    def __init__(self, topic: sns.ITopic) -> None:
        self.topic = topic
        self._done: set[str] = set()

    def visit(self, node: IConstruct) -> None:
        path = node.node.path
        if path in self._done:
            return
        if isinstance(node, cloudwatch.Alarm):
            node.add_alarm_action(cw_actions.SnsAction(self.topic))
            self._done.add(path)
            self._done.add(node.node.default_child.node.path)  # type: ignore[union-attr]
        elif isinstance(node, cloudwatch.CfnAlarm):  # a bare L1 alarm
            actions = node.alarm_actions
            existing = list(actions) if isinstance(actions, list) else []
            node.alarm_actions = [*existing, self.topic.topic_arn]
            self._done.add(path)


class Observability(Construct):
    """The alarm topic and its subscription, the alarms, and the ``redfire-<stage>`` dashboard."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        declaration: Declaration,
        config: StageConfig,
        functions: dict[str, DeclaredFunction],
        dead_letter_queues: dict[str, sqs.IQueue],
        schedule_group: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.alarm_email = CfnParameter(
            stack,
            ALARM_EMAIL_PARAMETER,
            type="String",
            default=config.alarm_email or "",
            allowed_pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
            description="Address that receives this stage's alarms (empty: nobody is "
            "subscribed; confirm the subscription e-mail AWS sends after the deploy).",
        )
        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=declaration.name("alarms"),
            display_name=f"RedFire {declaration.stage} alarms",
            enforce_ssl=True,
        )
        has_email = CfnCondition(
            self,
            "HasAlarmEmail",
            expression=Fn.condition_not(Fn.condition_equals(self.alarm_email.value_as_string, "")),
        )
        subscription = sns.CfnSubscription(
            self,
            "AlarmEmailSubscription",
            topic_arn=self.alarm_topic.topic_arn,
            protocol="email",
            endpoint=self.alarm_email.value_as_string,
        )
        subscription.cfn_options.condition = has_email
        Aspects.of(stack).add(NotifyOnAlarm(self.alarm_topic))

        self.dlq_alarms: dict[str, cloudwatch.Alarm] = {}
        for logical, dlq in dead_letter_queues.items():
            self.dlq_alarms[logical] = dlq.metric_approximate_number_of_messages_visible(
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

        self.function_alarms: dict[str, cloudwatch.Alarm] = {}
        for name, declared in functions.items():
            fn = declared.function
            failures = cloudwatch.MathExpression(
                # FILL: a function that ran without a throttle has no Throttles datapoint.
                expression="FILL(errors, 0) + FILL(throttles, 0)",
                using_metrics={
                    "errors": fn.metric_errors(period=_PERIOD, statistic=cloudwatch.Stats.SUM),
                    "throttles": fn.metric_throttles(
                        period=_PERIOD, statistic=cloudwatch.Stats.SUM
                    ),
                },
                period=_PERIOD,
                label=f"{name} errors + throttles",
            )
            self.function_alarms[name] = failures.create_alarm(
                self,
                construct_id(name, "Failing"),
                alarm_name=declaration.name(f"{name}-errors-throttles"),
                alarm_description=f"{declaration.name(name)} failed or was throttled",
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

        self.venue_alarms: dict[str, cloudwatch.Alarm] = {}
        for name, declared in functions.items():
            if declared.spec.venue_secrets == "read":  # a venue function
                self._venue_alarms(declaration, name)

        self.stream_alarms: dict[str, cloudwatch.Alarm] = {}
        for table, consumer in STREAM_CONSUMERS.items():
            self.stream_alarms[consumer] = (
                functions[consumer]
                .function.metric("IteratorAge", period=_PERIOD, statistic=cloudwatch.Stats.MAXIMUM)
                .create_alarm(
                    self,
                    construct_id(consumer, "StreamBehind"),
                    alarm_name=declaration.name(f"{consumer}-stream-behind"),
                    alarm_description=f"{declaration.name(consumer)} is more than "
                    f"{STREAM_ITERATOR_AGE_ALARM_MS // 1000} s behind the {table} stream",
                    threshold=STREAM_ITERATOR_AGE_ALARM_MS,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=3,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )

        self.schedule_alarm: cloudwatch.Alarm | None = None
        if schedule_group is not None:
            # Scheduler counts an invocation the target refused (Lambda throttled the async
            # invoke, a permission is missing) as a target error; a function that failed is
            # caught by its own Errors alarm, an exhausted retry by the schedule's DLQ.
            self.schedule_alarm = cloudwatch.Metric(
                namespace=SCHEDULER_NAMESPACE,
                metric_name="TargetErrorCount",
                dimensions_map={"ScheduleGroup": schedule_group},
                period=_PERIOD,
                statistic=cloudwatch.Stats.SUM,
            ).create_alarm(
                self,
                "SchedulesFailing",
                alarm_name=declaration.name("schedules-failing"),
                alarm_description=f"schedules of {schedule_group} could not invoke their target",
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

        if config.dashboard:
            self._dashboard(declaration, functions, dead_letter_queues)

    def _venue_alarms(self, declaration: Declaration, function: str) -> None:
        """A venue's books differ from RedFire's (``ReconciliationDrift``, counted by the
        reconcile schedule), and an account's venue refused its credentials
        (``VenueGatewayErrors``: the gateway is in ``error`` and new orders are denied)."""
        for metric_name, suffix, period, description in (
            (
                RECONCILIATION_DRIFT_METRIC,
                "drift",
                Duration.minutes(5),  # the reconcile schedule's period
                "the venue's orders, positions or cash differ from RedFire's",
            ),
            (
                VENUE_GATEWAY_ERRORS_METRIC,
                "gateway-errors",
                _PERIOD,
                "an account's venue credentials were refused: its gateway is in error",
            ),
        ):
            alarm_name = f"{function}-{suffix}"
            self.venue_alarms[alarm_name] = cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=metric_name,
                # Powertools publishes every custom metric with these two dimensions.
                dimensions_map={"service": function, STAGE_DIMENSION: declaration.stage},
                period=period,
                statistic=cloudwatch.Stats.SUM,
            ).create_alarm(
                self,
                construct_id(alarm_name),
                alarm_name=declaration.name(alarm_name),
                alarm_description=f"{declaration.name(function)}: {description}",
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

    def _dashboard(
        self,
        declaration: Declaration,
        functions: dict[str, DeclaredFunction],
        dead_letter_queues: dict[str, sqs.IQueue],
    ) -> None:
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

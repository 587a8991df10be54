"""A stage deploys on any AWS account and its alarms reach someone (issue 20, items 2, 7, 9).

Every stage's template: no fixed global names (CloudFormation names the buckets; functions
and the CLI get the names from the environment and the stack's outputs), an SNS topic with
the e-mail as a stack parameter, an action on every alarm wherever it was made, an
errors-and-throttles alarm per function, the stream's iterator age and failed schedules.
"""

from __future__ import annotations

import pytest

from redfire_core.resources import BUCKETS, FUNCTIONS, STREAM_CONSUMERS, Declaration
from tests.infra.conftest import Synthesis

pytestmark = pytest.mark.slow

STAGES = ["dev", "staging", "prod"]


@pytest.fixture(params=STAGES)
def stage(request: pytest.FixtureRequest) -> Synthesis:
    synthesis: Synthesis = request.getfixturevalue(request.param)
    return synthesis


def _function(synthesis: Synthesis, name: str) -> tuple[str, dict]:
    return synthesis.named(
        "AWS::Lambda::Function", "FunctionName", Declaration(synthesis.stage).name(name)
    )


def _alarm_metric_refs(alarm: dict) -> list[dict]:
    """Every metric an alarm reads (single metric, or each metric of its math expression)."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return [properties]
    return [
        {**query["MetricStat"]["Metric"], "Stat": query["MetricStat"]["Stat"]}
        for query in properties.get("Metrics", [])
        if "MetricStat" in query
    ]


# --- item 2: no fixed global names ------------------------------------------------------


def test_no_bucket_has_a_fixed_global_name(stage: Synthesis) -> None:
    buckets = stage.resources("AWS::S3::Bucket")
    assert len(buckets) == len(BUCKETS)
    for logical_id, bucket in buckets.items():
        assert "BucketName" not in bucket["Properties"], logical_id


@pytest.mark.parametrize("logical", sorted(BUCKETS))
def test_the_stack_outputs_every_bucket_name_for_the_cli(stage: Synthesis, logical: str) -> None:
    bucket_id, _ = stage.bucket(logical)
    assert stage.template["Outputs"][BUCKETS[logical].output_name]["Value"] == {"Ref": bucket_id}


def test_functions_find_their_buckets_in_their_environment(stage: Synthesis) -> None:
    for name, spec in FUNCTIONS.items():
        _, function = _function(stage, name)
        variables = function["Properties"]["Environment"]["Variables"]
        for logical in BUCKETS:
            variable = BUCKETS[logical].environment_variable
            if logical in (*spec.buckets_read, *spec.buckets_write):
                assert variables[variable] == {"Ref": stage.bucket(logical)[0]}, (name, logical)
            else:
                assert variable not in variables, (name, logical)


def test_uploads_may_notify_the_ingest_queue_without_naming_the_bucket(stage: Synthesis) -> None:
    policies = [
        statement
        for policy in stage.resources("AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Principal") == {"Service": "s3.amazonaws.com"}
    ]
    (statement,) = policies
    source = statement["Condition"]["ArnLike"]["aws:SourceArn"]
    assert source["Fn::Join"][1][-1] == f":s3:::redfire-{stage.stage}-*"
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]


# --- item 9: teardown -------------------------------------------------------------------


def test_only_dev_buckets_are_emptied_by_cdk_destroy_and_no_other_custom_resource(
    stage: Synthesis,
) -> None:
    custom = {
        logical_id: resource["Type"]
        for logical_id, resource in stage.template["Resources"].items()
        if resource["Type"].startswith("Custom::")
        or resource["Type"] == "AWS::CloudFormation::CustomResource"
    }
    if stage.stage == "dev":
        assert sorted(custom.values()) == ["Custom::S3AutoDeleteObjects"] * len(BUCKETS)
        for bucket in stage.resources("AWS::S3::Bucket").values():
            assert bucket["DeletionPolicy"] == "Delete"
    else:
        assert custom == {}
        for bucket in stage.resources("AWS::S3::Bucket").values():
            assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"


# --- item 7: alarms reach someone -------------------------------------------------------


def test_each_stage_has_an_alarm_topic_and_the_email_is_a_stack_parameter(
    stage: Synthesis,
) -> None:
    declared = stage.stack.config.alarm_email  # cdk.json's, or the fixture's override
    topic_id, _ = stage.named(
        "AWS::SNS::Topic", "TopicName", Declaration(stage.stage).name("alarms")
    )
    parameter = stage.template["Parameters"]["AlarmEmail"]
    assert parameter["Type"] == "String"
    assert parameter["Default"] == (declared or "")
    subscription, *more = stage.resources("AWS::SNS::Subscription").values()
    assert not more
    assert subscription["Properties"] == {
        "Endpoint": {"Ref": "AlarmEmail"},
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
    }
    # No address, no subscription (an empty endpoint would fail the deploy).
    condition = stage.template["Conditions"][subscription["Condition"]]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def test_every_alarm_notifies_the_alarm_topic(stage: Synthesis) -> None:
    topic_id, _ = stage.named(
        "AWS::SNS::Topic", "TopicName", Declaration(stage.stage).name("alarms")
    )
    alarms = stage.resources("AWS::CloudWatch::Alarm")
    assert alarms
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"].get("AlarmActions") == [{"Ref": topic_id}], logical_id


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_has_an_errors_and_throttles_alarm(stage: Synthesis, name: str) -> None:
    function_id, _ = _function(stage, name)
    watched = {
        metric["MetricName"]
        for alarm in stage.resources("AWS::CloudWatch::Alarm").values()
        for metric in _alarm_metric_refs(alarm)
        if metric.get("Namespace") == "AWS/Lambda"
        and {"Name": "FunctionName", "Value": {"Ref": function_id}} in metric["Dimensions"]
        and alarm["Properties"]["Threshold"] == 0
    }
    assert {"Errors", "Throttles"} <= watched


def test_the_stream_consumer_alarms_when_it_falls_behind(stage: Synthesis) -> None:
    for consumer in STREAM_CONSUMERS.values():
        function_id, _ = _function(stage, consumer)
        (alarm,) = [
            a["Properties"]
            for a in stage.resources("AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("MetricName") == "IteratorAge"
            and {"Name": "FunctionName", "Value": {"Ref": function_id}}
            in a["Properties"]["Dimensions"]
        ]
        assert alarm["Statistic"] == "Maximum"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_failed_schedules_of_the_stage_raise_an_alarm(stage: Synthesis) -> None:
    (group_id, group), *_ = stage.resources("AWS::Scheduler::ScheduleGroup").items()
    group_name = group["Properties"]["Name"]
    for schedule in stage.resources("AWS::Scheduler::Schedule").values():
        assert schedule["Properties"]["GroupName"] == {"Ref": group_id}
    (alarm,) = [
        a["Properties"]
        for a in stage.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/Scheduler"
    ]
    assert alarm["MetricName"] == "TargetErrorCount"
    assert alarm["Dimensions"] == [{"Name": "ScheduleGroup", "Value": group_name}]


def test_an_alarm_made_anywhere_in_the_stack_notifies_the_topic() -> None:
    # Given a stack with the aspect, an L2 alarm and a bare L1 alarm made by other code
    from aws_cdk import App, Aspects, Stack
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_sns as sns
    from aws_cdk.assertions import Template

    from redfire_infra.observability import NotifyOnAlarm

    stack = Stack(App(), "Probe")
    topic = sns.Topic(stack, "Topic")
    Aspects.of(stack).add(NotifyOnAlarm(topic))
    metric = cloudwatch.Metric(namespace="Probe", metric_name="Count")
    metric.create_alarm(stack, "L2", threshold=0, evaluation_periods=1)
    cloudwatch.CfnAlarm(
        stack,
        "L1",
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=1,
        metric_name="Count",
        namespace="Probe",
        period=60,
        statistic="Sum",
        threshold=0,
    )
    # When synthesized, then both notify the topic, once
    alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    topic_ref = {"Ref": stack.get_logical_id(topic.node.default_child)}  # type: ignore[arg-type]
    assert [a["Properties"]["AlarmActions"] for a in alarms.values()] == [[topic_ref]] * 2


# --- item 6: the market data provider's host, per stage -----------------------------------


def test_functions_that_fetch_market_data_get_the_stage_binance_host(stage: Synthesis) -> None:
    host = stage.stack.config.binance_base_url
    assert host == "https://data-api.binance.vision"  # cdk.json: reachable from US regions
    for name, spec in FUNCTIONS.items():
        _, function = _function(stage, name)
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables.get("REDFIRE_BINANCE_BASE_URL") == (
            host if spec.fetches_market_data else None
        ), name

"""Every stage's template deploys on a fresh AWS account, a failed first deploy can be retried,
and consumers stay within what a new account's Lambda concurrency allows (issues 13 and 20)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from redfire_cli.localcloud.stream_poller import matches_filter
from redfire_core.resources import (
    MIN_MAX_RECEIVE_COUNT,
    QUEUES,
    SCHEDULES_DLQ_LOGICAL,
    STREAM_CONSUMERS,
    STREAM_FILTERS,
    Declaration,
)
from tests.infra.conftest import STAGES, Synthesis, cdk_json_context

pytestmark = pytest.mark.slow

STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::SecretsManager::Secret",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
)


def _synthesis(request: pytest.FixtureRequest, stage: str) -> Synthesis:
    synthesis: Synthesis = request.getfixturevalue(stage)
    return synthesis


def _arn(logical_id: str) -> dict:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _websocket_stage(synthesis: Synthesis) -> tuple[str, dict[str, Any]]:
    (api_id,) = [
        logical_id
        for logical_id, api in synthesis.resources("AWS::ApiGatewayV2::Api").items()
        if api["Properties"]["ProtocolType"] == "WEBSOCKET"
    ]
    (found,) = [
        (logical_id, stage)
        for logical_id, stage in synthesis.resources("AWS::ApiGatewayV2::Stage").items()
        if stage["Properties"]["ApiId"] == {"Ref": api_id}
    ]
    return found


def _depends_on(resource: dict[str, Any]) -> list[str]:
    depends = resource.get("DependsOn", [])
    return [depends] if isinstance(depends, str) else list(depends)


# --- issue 20 item 1: WebSocket access logs and API Gateway's account role --------------------


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_logging_websocket_access_sets_the_api_gateway_account_role_first(
    request: pytest.FixtureRequest, stage: str
) -> None:
    # Given a stage's template
    synthesis = _synthesis(request, stage)
    _, ws_stage = _websocket_stage(synthesis)
    accounts = synthesis.resources("AWS::ApiGateway::Account")
    if "AccessLogSettings" not in ws_stage["Properties"]:
        # Then a stage without WebSocket access logs leaves the account setting alone
        assert accounts == {}
        return
    # Then access logs come with the account-wide CloudWatch role, set before the stage
    ((account_id, account),) = accounts.items()
    assert account_id in _depends_on(ws_stage)
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = synthesis.template["Resources"][role_id]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(
        role["Properties"]["ManagedPolicyArns"]
    )
    # and outlive the stack, because every API of the account and region relies on them
    assert role["DeletionPolicy"] == account["DeletionPolicy"] == "RetainExceptOnCreate"


@pytest.mark.parametrize("stage", STAGES)
def test_websocket_access_logs_are_on_only_where_the_stage_opts_in(
    request: pytest.FixtureRequest, stage: str
) -> None:
    synthesis = _synthesis(request, stage)
    _, ws_stage = _websocket_stage(synthesis)
    opted_in = synthesis.stack.config.websocket_access_logs
    assert ("AccessLogSettings" in ws_stage["Properties"]) is opted_in
    assert bool(synthesis.resources("AWS::ApiGateway::Account")) is opted_in
    if opted_in:
        fmt = json.loads(ws_stage["Properties"]["AccessLogSettings"]["Format"])
        assert fmt["routeKey"] == "$context.routeKey"


def test_no_stage_in_cdk_json_takes_over_the_account_logging_role_by_default() -> None:
    for stage, settings in cdk_json_context()["redfire:stages"].items():
        assert settings.get("websocket_access_logs", False) is False, stage


# --- issue 20 item 3: a failed first deploy leaves nothing behind -----------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_stateful_resources_are_kept_except_when_the_deploy_creating_them_rolls_back(
    request: pytest.FixtureRequest, stage: str
) -> None:
    synthesis = _synthesis(request, stage)
    retains = cdk_json_context()["redfire:stages"][stage]["removal_policy"] == "retain"
    expected = ("RetainExceptOnCreate", "Retain") if retains else ("Delete", "Delete")
    for resource_type in STATEFUL_TYPES:
        resources = synthesis.resources(resource_type)
        assert resources, resource_type
        for logical_id, resource in resources.items():
            policies = (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy"))
            assert policies == expected, logical_id


@pytest.mark.parametrize("stage", STAGES)
def test_no_table_is_protected_against_the_rollback_of_its_first_deploy(
    request: pytest.FixtureRequest, stage: str
) -> None:
    # Deletion protection would make the rollback's DeleteTable fail and leave the table
    # behind; it is a stage setting to turn on once the first deploy succeeded.
    synthesis = _synthesis(request, stage)
    assert synthesis.stack.config.table_deletion_protection is False
    for table in synthesis.resources("AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is False


# --- issue 20 item 4, issue 13 item 16: concurrency on a new account --------------------------


def _sqs_mappings(synthesis: Synthesis) -> dict[str, dict[str, Any]]:
    """Queue logical name -> the event source mapping that polls it."""
    queue_ids = {
        queue_id: logical
        for logical in QUEUES
        for queue_id in [
            synthesis.named(
                "AWS::SQS::Queue", "QueueName", Declaration(synthesis.stage).name(logical)
            )[0]
        ]
    }
    mappings = {}
    for mapping in synthesis.resources("AWS::Lambda::EventSourceMapping").values():
        source = mapping["Properties"]["EventSourceArn"].get("Fn::GetAtt", [None])[0]
        if source in queue_ids:
            mappings[queue_ids[source]] = mapping["Properties"]
    return mappings


@pytest.mark.parametrize("stage", STAGES)
def test_every_queue_a_lambda_polls_dead_letters_after_at_least_five_receives(
    request: pytest.FixtureRequest, stage: str
) -> None:
    # A throttled consumer hands messages back unprocessed, and each hand-back is a receive.
    synthesis = _synthesis(request, stage)
    polled = {
        mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for mapping in synthesis.resources("AWS::Lambda::EventSourceMapping").values()
        if synthesis.template["Resources"][
            mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        ]["Type"]
        == "AWS::SQS::Queue"
    }
    assert len(polled) == len(QUEUES)
    for queue_id in polled:
        redrive = synthesis.template["Resources"][queue_id]["Properties"]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] >= MIN_MAX_RECEIVE_COUNT, queue_id


@pytest.mark.parametrize("stage", STAGES)
def test_every_sqs_consumer_is_capped_by_the_stage_maximum_concurrency(
    request: pytest.FixtureRequest, stage: str
) -> None:
    synthesis = _synthesis(request, stage)
    mappings = _sqs_mappings(synthesis)
    assert set(mappings) == set(QUEUES)
    for logical, mapping in mappings.items():
        expected = synthesis.stack.config.max_concurrency(logical)
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": expected}, logical


def test_a_stage_setting_overrides_a_consumer_maximum_concurrency(prod: Synthesis) -> None:
    # Given prod synthesized with queue_max_concurrency {"risk": 4} (tests/infra/conftest.py)
    assert _sqs_mappings(prod)["risk"]["ScalingConfig"] == {"MaximumConcurrency": 4}
    assert QUEUES["risk"].max_concurrency != 4


@pytest.mark.parametrize("stage", STAGES)
def test_functions_reserve_concurrency_only_where_the_stage_opts_in(
    request: pytest.FixtureRequest, stage: str
) -> None:
    synthesis = _synthesis(request, stage)
    reserved = {
        function["Properties"]["FunctionName"]: function["Properties"].get(
            "ReservedConcurrentExecutions"
        )
        for function in synthesis.resources("AWS::Lambda::Function").values()
        if "FunctionName" in function["Properties"]  # not CDK's bucket-emptying provider (dev)
    }
    declaration = Declaration(stage)
    expected = {
        name: synthesis.stack.config.reserved_concurrency.get(
            name.removeprefix(declaration.name(""))
        )
        for name in reserved
    }
    assert reserved == expected
    cdk_json = cdk_json_context()["redfire:stages"][stage]
    assert cdk_json.get("reserved_concurrency", {}) == {}, "reservations are opt-in"


def test_a_stage_can_reserve_concurrency_for_one_function(prod: Synthesis) -> None:
    # Given prod synthesized with reserved_concurrency {"orders": 5} (tests/infra/conftest.py)
    _, orders = prod.named(
        "AWS::Lambda::Function", "FunctionName", Declaration("prod").name("orders")
    )
    assert orders["Properties"]["ReservedConcurrentExecutions"] == 5


# --- issue 13 item 16: every schedule has a DLQ with an alarm ---------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_every_schedule_dead_letters_to_a_queue_that_raises_an_alarm(
    request: pytest.FixtureRequest, stage: str
) -> None:
    synthesis = _synthesis(request, stage)
    schedules = synthesis.resources("AWS::Scheduler::Schedule")
    assert schedules
    dlq_id, _ = synthesis.named(
        "AWS::SQS::Queue", "QueueName", Declaration(stage).name(SCHEDULES_DLQ_LOGICAL)
    )
    alarms = [
        alarm["Properties"]
        for alarm in synthesis.resources("AWS::CloudWatch::Alarm").values()
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
        in alarm["Properties"].get("Dimensions", [])
    ]
    (alarm,) = alarms
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    for logical_id, schedule in schedules.items():
        target = schedule["Properties"]["Target"]
        assert target["DeadLetterConfig"] == {"Arn": _arn(dlq_id)}, logical_id
        # the schedule's own role may send there (Scheduler sends as the target's role)
        role = synthesis.template["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
        statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        assert {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": _arn(dlq_id)} in (
            statements
        ), logical_id


def test_the_schedule_dlq_alarm_notifies_like_every_other_alarm(prod: Synthesis) -> None:
    dlq_id, _ = prod.named(
        "AWS::SQS::Queue", "QueueName", Declaration("prod").name(SCHEDULES_DLQ_LOGICAL)
    )
    actions = {
        json.dumps(alarm["Properties"].get("AlarmActions"), sort_keys=True)
        for alarm in prod.resources("AWS::CloudWatch::Alarm").values()
    }
    (schedule_alarm,) = [
        alarm["Properties"]
        for alarm in prod.resources("AWS::CloudWatch::Alarm").values()
        if dlq_id in json.dumps(alarm["Properties"].get("Dimensions", []))
    ]
    assert schedule_alarm.get("AlarmActions")
    assert actions == {json.dumps(schedule_alarm["AlarmActions"], sort_keys=True)}


# --- issue 13 item 16: versioned buckets --------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_every_bucket_is_versioned_and_expires_the_versions_it_replaces(
    request: pytest.FixtureRequest, stage: str
) -> None:
    synthesis = _synthesis(request, stage)
    for logical_id, bucket in synthesis.resources("AWS::S3::Bucket").items():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id
        rules = props["LifecycleConfiguration"]["Rules"]
        assert any(
            rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays", 0) > 0
            and rule["Status"] == "Enabled"
            for rule in rules
        ), logical_id
        assert any(rule.get("ExpiredObjectDeleteMarker") for rule in rules), logical_id


# --- issue 20 item 8 / issue 14: the stream consumer is invoked for writes carrying events ---


def _stream_record(event_name: str, sk: str, *, carries_events: bool) -> dict[str, Any]:
    image: dict[str, Any] = {"pk": {"S": "acct-1"}, "sk": {"S": sk}}
    if carries_events:
        image["events"] = {"S": "[]"}
    record: dict[str, Any] = {"eventName": event_name, "dynamodb": {"Keys": image}}
    if event_name != "REMOVE":
        record["dynamodb"]["NewImage"] = image
    return record


@pytest.mark.parametrize("stage", STAGES)
def test_a_stream_consumer_mapping_filters_to_the_records_it_needs(
    request: pytest.FixtureRequest, stage: str
) -> None:
    synthesis = _synthesis(request, stage)
    declaration = Declaration(stage)
    for table, consumer in STREAM_CONSUMERS.items():
        table_id, _ = synthesis.named("AWS::DynamoDB::Table", "TableName", declaration.name(table))
        (mapping,) = [
            m["Properties"]
            for m in synthesis.resources("AWS::Lambda::EventSourceMapping").values()
            if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
        ]
        (filter_,) = mapping["FilterCriteria"]["Filters"]
        assert json.loads(filter_["Pattern"]) == STREAM_FILTERS[table], consumer


def test_the_orders_stream_filter_passes_writes_carrying_events_and_nothing_else() -> None:
    pattern = STREAM_FILTERS["orders"]
    for event_name, sk in (
        ("INSERT", "ORDER#01J"),
        ("MODIFY", "ORDER#01J"),
        ("INSERT", "OUTBOX#1"),
    ):
        assert matches_filter(pattern, _stream_record(event_name, sk, carries_events=True))
    for event_name, sk, carries in (
        ("MODIFY", "ORDER#01J", False),  # a write that reports nothing
        ("INSERT", "CID#client-1", False),
        ("REMOVE", "OUTBOX#01J", True),  # TTL's removal of a relayed row
    ):
        record = _stream_record(event_name, sk, carries_events=carries)
        assert not matches_filter(pattern, record), (event_name, sk)

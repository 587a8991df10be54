"""The synthesized template provisions exactly what ``redfire_core.resources`` declares."""

from __future__ import annotations

import json

import pytest

from redfire_core.resources import (
    ARCHIVE_RETENTION_DAYS,
    BUCKETS,
    FUNCTIONS,
    QUEUES,
    RULES,
    SCHEDULES,
    SCHEDULES_DLQ_LOGICAL,
    STREAM_CONSUMERS,
    TABLES,
    Declaration,
)
from tests.infra.conftest import AUTO_DELETE_PROVIDER, Synthesis, cdk_json_context


def _stage_settings_of(stage: str) -> dict:
    return dict(cdk_json_context()["redfire:stages"][stage])


pytestmark = pytest.mark.slow

DEV = Declaration("dev")


def _ref(logical_id: str) -> dict:
    return {"Ref": logical_id}


def _arn(logical_id: str) -> dict:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


@pytest.mark.parametrize("logical", sorted(TABLES))
def test_every_declared_table_has_its_keys_indexes_ttl_and_stream(
    dev: Synthesis, logical: str
) -> None:
    spec = TABLES[logical]
    _, table = dev.named("AWS::DynamoDB::Table", "TableName", DEV.name(logical))
    props = table["Properties"]

    expected_keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        expected_keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    assert props["KeySchema"] == expected_keys
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == (
        spec.attribute_types()
    )
    expected_indexes = {
        gsi.name: [{"AttributeName": gsi.partition_key, "KeyType": "HASH"}]
        + ([{"AttributeName": gsi.sort_key, "KeyType": "RANGE"}] if gsi.sort_key else [])
        for gsi in spec.gsis
    }
    assert {
        index["IndexName"]: index["KeySchema"] for index in props.get("GlobalSecondaryIndexes", [])
    } == expected_indexes
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {
            "AttributeName": spec.ttl_attribute,
            "Enabled": True,
        }
    else:
        assert "TimeToLiveSpecification" not in props
    if spec.stream:
        assert props["StreamSpecification"] == {"StreamViewType": spec.stream}
    else:
        assert "StreamSpecification" not in props


@pytest.mark.parametrize("logical", sorted(TABLES))
def test_every_table_is_on_demand_with_point_in_time_recovery(dev: Synthesis, logical: str) -> None:
    _, table = dev.named("AWS::DynamoDB::Table", "TableName", DEV.name(logical))
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_no_table_exists_beyond_the_declaration(dev: Synthesis) -> None:
    names = {t["Properties"]["TableName"] for t in dev.resources("AWS::DynamoDB::Table").values()}
    assert names == {DEV.name(logical) for logical in TABLES}


@pytest.mark.parametrize("logical", sorted(QUEUES))
def test_every_declared_queue_has_a_dlq_with_declared_max_receive_count(
    dev: Synthesis, logical: str
) -> None:
    spec = QUEUES[logical]
    _, queue = dev.named("AWS::SQS::Queue", "QueueName", DEV.name(logical))
    dlq_id, dlq = dev.named("AWS::SQS::Queue", "QueueName", DEV.name(spec.dlq_logical))

    assert queue["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": _arn(dlq_id),
        "maxReceiveCount": spec.max_receive_count,
    }
    assert queue["Properties"]["VisibilityTimeout"] == spec.visibility_timeout_seconds
    assert dlq["Properties"]["MessageRetentionPeriod"] == spec.dlq_retention_days * 86400


def test_every_queue_is_encrypted_and_refuses_requests_without_tls(dev: Synthesis) -> None:
    policies = dev.resources("AWS::SQS::QueuePolicy").values()
    for queue_id, queue in dev.resources("AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        denies_plain_http = [
            statement
            for policy in policies
            if _ref(queue_id) in policy["Properties"]["Queues"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Deny"
            and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert denies_plain_http, f"{queue_id} accepts requests without TLS"


@pytest.mark.parametrize("logical", sorted(QUEUES))
def test_every_queue_is_polled_by_its_declared_consumer_with_partial_batch_responses(
    dev: Synthesis, logical: str
) -> None:
    spec = QUEUES[logical]
    queue_id, _ = dev.named("AWS::SQS::Queue", "QueueName", DEV.name(logical))
    function_id, _ = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name(spec.consumer))
    mappings = [
        m["Properties"]
        for m in dev.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == _arn(queue_id)
    ]
    assert len(mappings) == 1
    assert mappings[0]["FunctionName"] == _ref(function_id)
    assert mappings[0]["BatchSize"] == spec.batch_size
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("logical", sorted(RULES))
def test_every_declared_rule_routes_its_event_pattern_to_its_queue(
    dev: Synthesis, logical: str
) -> None:
    spec = RULES[logical]
    bus_id, _ = dev.named("AWS::Events::EventBus", "Name", DEV.bus_name)
    queue_id, _ = dev.named("AWS::SQS::Queue", "QueueName", DEV.name(spec.queue))
    _, rule = dev.named("AWS::Events::Rule", "Name", DEV.name(logical))
    props = rule["Properties"]

    assert props["EventBusName"] == _ref(bus_id)
    assert props["EventPattern"] == spec.event_pattern()
    assert [target["Arn"] for target in props["Targets"]] == [_arn(queue_id)]


@pytest.mark.parametrize("logical", sorted(RULES))
def test_every_rule_target_retries_then_dead_letters_to_its_queues_dlq(
    dev: Synthesis, logical: str
) -> None:
    spec = RULES[logical]
    dlq_id, _ = dev.named("AWS::SQS::Queue", "QueueName", DEV.name(QUEUES[spec.queue].dlq_logical))
    _, rule = dev.named("AWS::Events::Rule", "Name", DEV.name(logical))
    (target,) = rule["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": _arn(dlq_id)}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0


@pytest.mark.parametrize("logical", sorted(QUEUES))
def test_every_dlq_has_an_alarm_on_its_first_message(dev: Synthesis, logical: str) -> None:
    dlq_id, _ = dev.named("AWS::SQS::Queue", "QueueName", DEV.name(QUEUES[logical].dlq_logical))
    watched = [
        alarm["Properties"]
        for alarm in dev.resources("AWS::CloudWatch::Alarm").values()
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
        in alarm["Properties"].get("Dimensions", [])
    ]
    assert len(watched) == 1
    assert watched[0]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert watched[0]["Threshold"] == 0
    assert watched[0]["ComparisonOperator"] == "GreaterThanThreshold"


def test_no_rule_exists_beyond_the_declaration(dev: Synthesis) -> None:
    names = {r["Properties"]["Name"] for r in dev.resources("AWS::Events::Rule").values()}
    assert names == {DEV.name(logical) for logical in RULES}


def test_the_bus_archives_every_redfire_event_for_the_declared_retention(dev: Synthesis) -> None:
    bus_id, _ = dev.named("AWS::Events::EventBus", "Name", DEV.bus_name)
    (archive,) = dev.resources("AWS::Events::Archive").values()
    assert archive["Properties"]["SourceArn"] == _arn(bus_id)
    assert archive["Properties"]["RetentionDays"] == ARCHIVE_RETENTION_DAYS
    assert archive["Properties"]["EventPattern"] == {"source": ["redfire"]}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_declared_function_has_its_handler_runtime_architecture_and_limits(
    dev: Synthesis, name: str
) -> None:
    spec = FUNCTIONS[name]
    _, function = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name(name))
    props = function["Properties"]

    assert props["Handler"] == spec.handler
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_seconds
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    variables = dict(props["Environment"]["Variables"])
    # The functions that post to WebSocket connections are told the management endpoint.
    assert ("REDFIRE_WS_MANAGEMENT_URL" in variables) is spec.manages_websockets
    variables.pop("REDFIRE_WS_MANAGEMENT_URL", None)
    # ... the stage's provider host to those that fetch market data ...
    assert variables.pop("REDFIRE_BINANCE_BASE_URL", None) == (
        _stage_settings_of("dev").get("binance_base_url") if spec.fetches_market_data else None
    )
    # ... and the names CloudFormation gave the buckets they may use.
    for logical in (*spec.buckets_read, *spec.buckets_write):
        assert "Ref" in variables.pop(BUCKETS[logical].environment_variable)
    # Every function gets the stage's caps on risk limits and execution settings.
    assert variables.pop("REDFIRE_LIMIT_CAPS").startswith("{")
    # Every function knows whether the stage traces deeply (X-Ray SDK); dev does not.
    assert variables.pop("REDFIRE_DEEP_TRACING") == "false"
    # The API function gets the stage's GraphQL limits and its Alpaca decision wait.
    assert (variables.pop("REDFIRE_ALPACA_DECISION_WAIT_SECONDS", None) == "2") is (name == "api")
    graphql = {k for k in variables if k.startswith("REDFIRE_GRAPHQL_")}
    assert bool(graphql) is (name == "api")
    variables = {k: v for k, v in variables.items() if k not in graphql}
    # The functions that take work requests get the stage's quotas (test_quota_config.py).
    quotas = {k for k in variables if k.startswith("REDFIRE_QUOTA_")}
    assert bool(quotas) is spec.enforces_quotas
    variables = {k: v for k, v in variables.items() if k not in quotas}
    assert variables == {
        "REDFIRE_STAGE": "dev",
        "POWERTOOLS_SERVICE_NAME": name,
        "POWERTOOLS_METRICS_NAMESPACE": "RedFire",
    }
    assert len(props["Layers"]) == len(spec.layers)  # which ones: test_stack.py


def test_no_function_exists_beyond_the_declaration(dev: Synthesis) -> None:
    names = {
        f["Properties"].get("FunctionName", logical_id)
        for logical_id, f in dev.resources("AWS::Lambda::Function").items()
        if not logical_id.startswith(AUTO_DELETE_PROVIDER)
    }
    assert names == {DEV.name(name) for name in FUNCTIONS}


@pytest.mark.parametrize("table", sorted(STREAM_CONSUMERS))
def test_every_stream_consumer_retries_boundedly_then_reports_to_a_dlq(
    dev: Synthesis, table: str
) -> None:
    table_id, _ = dev.named("AWS::DynamoDB::Table", "TableName", DEV.name(table))
    function_id, _ = dev.named(
        "AWS::Lambda::Function", "FunctionName", DEV.name(STREAM_CONSUMERS[table])
    )
    (mapping,) = [
        m["Properties"]
        for m in dev.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    ]
    assert mapping["FunctionName"] == _ref(function_id)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    dlq_arn = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    assert dev.template["Resources"][dlq_arn["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (stage, sorted(s.logical for s in Declaration(stage).schedules()))
        for stage in ("dev", "prod")
    ],
)
def test_each_stage_gets_exactly_its_declared_schedules(
    request: pytest.FixtureRequest, stage: str, expected: list[str]
) -> None:
    synthesis: Synthesis = request.getfixturevalue(stage)
    names = sorted(
        s["Properties"]["Name"] for s in synthesis.resources("AWS::Scheduler::Schedule").values()
    )
    assert names == [Declaration(stage).name(logical) for logical in expected]


@pytest.mark.parametrize("logical", sorted(s.logical for s in DEV.schedules()))
def test_a_schedule_invokes_its_function_with_the_declared_payload(
    dev: Synthesis, logical: str
) -> None:
    spec = SCHEDULES[logical]
    function_id, _ = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name(spec.function))
    _, schedule = dev.named("AWS::Scheduler::Schedule", "Name", DEV.name(logical))
    props = schedule["Properties"]

    assert props["ScheduleExpression"] == spec.expression
    assert props["State"] == "ENABLED"
    assert props["Target"]["Arn"] == _arn(function_id)
    assert json.loads(props["Target"]["Input"]) == spec.payload


@pytest.mark.parametrize("logical", sorted(s.logical for s in DEV.schedules()))
def test_a_schedule_role_may_invoke_only_its_function_and_send_to_the_schedule_dlq(
    dev: Synthesis, logical: str
) -> None:
    spec = SCHEDULES[logical]
    function_id, _ = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name(spec.function))
    _, schedule = dev.named("AWS::Scheduler::Schedule", "Name", DEV.name(logical))
    role_id = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    role = dev.template["Resources"][role_id]["Properties"]

    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    dlq_id, _ = dev.named("AWS::SQS::Queue", "QueueName", DEV.name(SCHEDULES_DLQ_LOGICAL))
    assert statements == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": _arn(function_id)},
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": _arn(dlq_id)},
    ]
    assert not [
        p
        for p in dev.resources("AWS::IAM::Policy").values()
        if _ref(role_id) in p["Properties"]["Roles"]
    ]


def test_the_jwt_signing_key_is_a_generated_secret_with_the_declared_name(
    dev: Synthesis,
) -> None:
    _, secret = dev.named("AWS::SecretsManager::Secret", "Name", DEV.jwt_secret_name)
    assert "GenerateSecretString" in secret["Properties"]


def test_the_positions_table_indexes_holders_by_symbol_and_risk_may_query_it(
    dev: Synthesis,
) -> None:
    # Given the positions table: its gsi1 finds the holders of a symbol without a scan
    table_id, table = dev.named("AWS::DynamoDB::Table", "TableName", DEV.name("positions"))
    (index,) = table["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "gsi1"
    assert index["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}

    # Then the risk function (post-trade monitoring) may query that index
    _, function = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name("risk"))
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in dev.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    querying = [s for s in statements if "dynamodb:Query" in json.dumps(s["Action"])]
    assert any(
        table_id in json.dumps(s["Resource"]) and "/index/gsi1" in json.dumps(s["Resource"])
        for s in querying
    ), querying


def test_the_orders_table_has_two_indexes_and_the_risk_timeout_sweep_queries_gsi1(
    dev: Synthesis,
) -> None:
    # Given the orders table: gsi1 says what an order waits for (SUBMITTED, OPEN#<symbol>),
    # gsi2 holds an account's open orders; no third index of submitted orders (issue 14)
    table_id, table = dev.named("AWS::DynamoDB::Table", "TableName", DEV.name("orders"))
    indexes = {i["IndexName"]: i for i in table["Properties"]["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == ["gsi1", "gsi2"]
    assert indexes["gsi1"]["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert indexes["gsi1"]["Projection"] == {"ProjectionType": "ALL"}

    # Then the risk function (its risk-timeout sweep reads SUBMITTED) may query gsi1
    _, function = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name("risk"))
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    querying = [
        statement
        for policy in dev.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "dynamodb:Query" in json.dumps(statement["Action"])
    ]
    assert any(
        table_id in json.dumps(s["Resource"]) and "/index/gsi1" in json.dumps(s["Resource"])
        for s in querying
    ), querying
    assert "/index/gsi3" not in json.dumps(dev.resources("AWS::IAM::Policy"))

"""Stage-dependent behaviour, the HTTP API, alarms and the Docker-free layer build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Token

from redfire_core.resources import FUNCTIONS, QUEUES, STREAM_CONSUMERS, Declaration
from tests.infra.conftest import PROD_ALARM_EMAIL, Synthesis, cdk_json_context

pytestmark = pytest.mark.slow

DEV = Declaration("dev")
PROD = Declaration("prod")


def _stage_settings(stage: str) -> dict:
    return cdk_json_context()["redfire:stages"][stage]


def test_the_stack_is_named_after_its_stage(dev: Synthesis, prod: Synthesis) -> None:
    assert dev.stack.stack_name == "RedFire-dev"
    assert prod.stack.stack_name == "RedFire-prod"


def test_the_template_is_environment_agnostic_so_synth_needs_no_credentials(
    dev: Synthesis,
) -> None:
    assert Token.is_unresolved(dev.stack.account)
    assert Token.is_unresolved(dev.stack.region)


def test_dev_tables_are_deleted_with_the_stack(dev: Synthesis) -> None:
    for table in dev.resources("AWS::DynamoDB::Table").values():
        assert table["DeletionPolicy"] == "Delete"
        assert table["Properties"]["DeletionProtectionEnabled"] is False


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_log_group_keeps_logs_for_the_stage_retention(
    request: pytest.FixtureRequest, stage: str
) -> None:
    synthesis: Synthesis = request.getfixturevalue(stage)
    retention = _stage_settings(stage)["log_retention_days"]
    log_groups = synthesis.resources("AWS::Logs::LogGroup").values()
    # one per function, one for the HTTP API's access logs, one for the WebSocket API's if on
    websocket = synthesis.stack.config.websocket_access_logs
    assert len(log_groups) == len(FUNCTIONS) + 1 + websocket
    for log_group in log_groups:
        assert log_group["Properties"]["RetentionInDays"] == retention


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_logs_to_its_own_log_group(dev: Synthesis, name: str) -> None:
    log_group_id, _ = dev.named(
        "AWS::Logs::LogGroup", "LogGroupName", f"/aws/lambda/{DEV.name(name)}"
    )
    _, function = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name(name))
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id}


def test_every_request_reaches_the_api_function_through_the_default_route(
    dev: Synthesis,
) -> None:
    function_id, _ = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name("api"))
    (route,) = _of_http_api(dev, "AWS::ApiGatewayV2::Route")
    assert route["Properties"]["RouteKey"] == "$default"
    integration_id = route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
    integration = dev.template["Resources"][integration_id]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert integration["PayloadFormatVersion"] == "2.0"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_api_stage_throttles_and_writes_access_logs_as_configured(
    request: pytest.FixtureRequest, stage: str
) -> None:
    synthesis: Synthesis = request.getfixturevalue(stage)
    settings = _stage_settings(stage)
    (api_stage,) = _of_http_api(synthesis, "AWS::ApiGatewayV2::Stage")
    props = api_stage["Properties"]
    assert props["StageName"] == "$default"
    assert props["AutoDeploy"] is True
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] == settings["api_throttle_rate"]
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] == settings["api_throttle_burst"]
    assert json.loads(props["AccessLogSettings"]["Format"])["status"] == "$context.status"


def test_every_dead_letter_queue_raises_an_alarm_as_soon_as_it_holds_a_message(
    dev: Synthesis,
) -> None:
    dlq_names = [DEV.name(q.dlq_logical) for q in QUEUES.values()] + [
        DEV.name(f"{consumer}-stream-dlq") for consumer in STREAM_CONSUMERS.values()
    ]
    alarms = list(dev.resources("AWS::CloudWatch::Alarm").values())
    for dlq_name in dlq_names:
        dlq_id, _ = dev.named("AWS::SQS::Queue", "QueueName", dlq_name)
        (alarm,) = [
            a["Properties"]
            for a in alarms
            if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
            in a["Properties"].get("Dimensions", [])
        ]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["Threshold"] == 0
        assert alarm["TreatMissingData"] == "notBreaching"


def test_alarms_notify_the_stage_alarm_email_when_one_is_configured(prod: Synthesis) -> None:
    topic_id, _ = prod.named("AWS::SNS::Topic", "TopicName", PROD.name("alarms"))
    (subscription,) = prod.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert prod.template["Parameters"]["AlarmEmail"]["Default"] == PROD_ALARM_EMAIL
    assert subscription["Properties"]["TopicArn"] == {"Ref": topic_id}
    for alarm in prod.resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_only_a_stage_that_opts_in_pays_for_a_dashboard(prod: Synthesis) -> None:
    # $3.00 a month at list price: more than half of an idle prod stage's goal.
    assert prod.stack.config.dashboard is False
    assert prod.resources("AWS::CloudWatch::Dashboard") == {}


def test_a_dashboard_shows_the_stage_at_a_glance(dev: Synthesis) -> None:
    assert dev.stack.config.dashboard is True  # dev opts in (cdk.json)
    _, dashboard = dev.named("AWS::CloudWatch::Dashboard", "DashboardName", DEV.name("dashboard"))
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in ("Errors", "Duration", "ApproximateNumberOfMessagesVisible"):
        assert metric in body


def _layer_dir(synthesis: Synthesis, layer_name: str = "core") -> Path:
    _, layer = synthesis.named("AWS::Lambda::LayerVersion", "LayerName", DEV.name(layer_name))
    object_key = layer["Properties"]["Content"]["S3Key"]
    asset_hash = object_key.removesuffix(".zip")
    return synthesis.outdir / f"asset.{asset_hash}"


def test_the_layer_is_built_without_docker_with_arm64_native_extensions(dev: Synthesis) -> None:
    site_packages = _layer_dir(dev) / "python"
    native = [path.name for path in site_packages.glob("pydantic_core/*.so")]
    assert native, "pydantic_core has no compiled extension in the layer"
    assert all("cpython-312-aarch64-linux-gnu" in name for name in native), native
    assert not list(site_packages.rglob("*x86_64*.so"))


def test_the_layer_ships_redfire_core_and_leaves_out_what_lambda_provides(
    dev: Synthesis,
) -> None:
    site_packages = _layer_dir(dev) / "python"
    assert (site_packages / "redfire_core" / "resources.py").is_file()
    for provided in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3"):
        assert not (site_packages / provided).exists(), provided
    for needed in ("pydantic", "aws_lambda_powertools", "pynamodb", "jwt", "ulid"):
        assert (site_packages / needed).is_dir(), needed
    # The web stack, cryptography and pyarrow are layers of their own (resources.LAYERS).
    for elsewhere in ("fastapi", "mangum", "strawberry", "cryptography", "pyarrow"):
        assert not (site_packages / elsewhere).exists(), elsewhere


def test_the_layers_ship_bytecode_compiled_for_the_runtime_only(dev: Synthesis) -> None:
    # Lambda cannot write /opt, so sources without bytecode are compiled on every cold start.
    for layer_name in ("core", "web"):
        site_packages = _layer_dir(dev, layer_name) / "python"
        compiled = {path.name.split(".")[-2] for path in site_packages.rglob("*.pyc")}
        assert compiled == {"cpython-312"}, (layer_name, compiled)
    core = _layer_dir(dev) / "python" / "redfire_core"
    assert (core / "__pycache__" / "resources.cpython-312.pyc").is_file()


def test_each_function_gets_only_the_layers_it_declares(dev: Synthesis) -> None:
    layer_ids = {
        logical_id: resource["Properties"]["LayerName"]
        for logical_id, resource in dev.resources("AWS::Lambda::LayerVersion").items()
    }
    for name, spec in FUNCTIONS.items():
        _, function = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name(name))
        attached = {layer_ids[ref["Ref"]] for ref in function["Properties"]["Layers"]}
        assert attached == {DEV.name(layer) for layer in spec.layers}, name


def test_the_layer_reads_parquet_on_arm64_without_pyarrows_build_files(dev: Synthesis) -> None:
    # Given the layer, then pyarrow's parquet extension is there, built for Lambda
    pyarrow = _layer_dir(dev, "parquet") / "python" / "pyarrow"
    native = [path.name for path in pyarrow.glob("_parquet.*.so")]
    assert native == ["_parquet.cpython-312-aarch64-linux-gnu.so"], native
    # and its headers, sources and test suite, which nothing runs, are left out
    for pruned in ("include", "includes", "src", "tests"):
        assert not (pyarrow / pruned).exists(), pruned
    assert not list(pyarrow.glob("*.pyx")) and not list(pyarrow.glob("*.pxd"))


def _of_http_api(synthesis: Synthesis, resource_type: str) -> list[dict]:
    """The resources of ``resource_type`` that belong to the HTTP API (not the WebSocket one)."""
    (api_id,) = [
        logical_id
        for logical_id, api in synthesis.resources("AWS::ApiGatewayV2::Api").items()
        if api["Properties"]["ProtocolType"] == "HTTP"
    ]
    return [
        resource
        for resource in synthesis.resources(resource_type).values()
        if resource["Properties"]["ApiId"] == {"Ref": api_id}
    ]

"""The venue functions in the template (issue 17): their own layers, with no venue SDK on
the paper path and each function under Lambda's 250 MB; venue credentials granted under
the stage's prefix only; queues, schedules and alarms from the declaration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from redfire_core.resources import CORE_LAYER, FUNCTIONS, LAYERS, Declaration
from redfire_infra.layer_contents import layer_distributions
from tests.infra.conftest import Synthesis

pytestmark = pytest.mark.slow

DEV = Declaration("dev")
VENUES = ("venue-alpaca", "venue-ccxt")
VENUE_SDKS = {"alpaca-py", "pandas", "numpy", "ccxt"}
# Lambda's limit on a function's code and layers, unzipped.
LAMBDA_UNZIPPED_LIMIT_MB = 250


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _function(synthesis: Synthesis, name: str) -> dict[str, Any]:
    return synthesis.named("AWS::Lambda::Function", "FunctionName", DEV.name(name))[1]


def _statements(synthesis: Synthesis, name: str) -> list[dict[str, Any]]:
    role_id = _function(synthesis, name)["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synthesis.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _asset_dir(synthesis: Synthesis, code: dict[str, Any]) -> Path:
    return synthesis.outdir / f"asset.{code['S3Key'].removesuffix('.zip')}"


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1_000_000


def test_the_paper_paths_layers_hold_no_venue_sdk() -> None:
    # Given what each layer installs (the locked closure of its requires)
    contents = layer_distributions()
    # Then the layers of every function but the venue ones hold none of the venue stacks
    paper_layers = {
        layer for name, f in FUNCTIONS.items() if name not in VENUES for layer in f.layers
    }
    for layer in paper_layers:
        assert VENUE_SDKS.isdisjoint(contents[layer]), layer
    # and each venue stack is in its own function's layer only
    assert {"alpaca-py", "pandas", "numpy"} <= contents["venue-alpaca"]
    assert "ccxt" in contents["venue-ccxt"] and "ccxt" not in contents["venue-alpaca"]
    assert "alpaca-py" not in contents["venue-ccxt"]
    assert FUNCTIONS["venue-alpaca"].layers == (CORE_LAYER, "venue-alpaca")
    assert FUNCTIONS["venue-ccxt"].layers == (CORE_LAYER, "venue-ccxt")


def test_the_synthesized_paper_layers_contain_no_venue_package(dev: Synthesis) -> None:
    layer_dirs = {
        resource["Properties"]["LayerName"]: _asset_dir(dev, resource["Properties"]["Content"])
        for resource in dev.resources("AWS::Lambda::LayerVersion").values()
    }
    for name in LAYERS:
        site_packages = layer_dirs[DEV.name(name)] / "python"
        present = {p for p in ("alpaca", "pandas", "numpy", "ccxt") if (site_packages / p).exists()}
        expected = {
            "venue-alpaca": {"alpaca", "pandas", "numpy"},
            "venue-ccxt": {"ccxt"},
        }.get(name, set())
        assert present == expected, name


@pytest.mark.parametrize("name", VENUES)
def test_a_venue_function_runs_arm64_python312_under_lambdas_size_limit(
    dev: Synthesis, name: str, record_property: Any
) -> None:
    function = _function(dev, name)["Properties"]
    assert function["Architectures"] == ["arm64"] and function["Runtime"] == "python3.12"
    layer_dirs = {
        logical_id: _asset_dir(dev, resource["Properties"]["Content"])
        for logical_id, resource in dev.resources("AWS::Lambda::LayerVersion").items()
    }
    sizes = {"code": _size_mb(_asset_dir(dev, function["Code"]))}
    for ref in function["Layers"]:
        sizes[ref["Ref"]] = _size_mb(layer_dirs[ref["Ref"]])
    total = sum(sizes.values())
    record_property("unzipped_mb", json.dumps({k: round(v, 1) for k, v in sizes.items()}))
    print(f"{name}: {total:.1f} MB unzipped ({sizes})")
    assert total < LAMBDA_UNZIPPED_LIMIT_MB, sizes


@pytest.mark.parametrize("name", VENUES)
def test_a_venue_function_is_fed_by_its_queue_with_partial_batch_responses(
    dev: Synthesis, name: str
) -> None:
    queue_id, _ = dev.named("AWS::SQS::Queue", "QueueName", DEV.name(name))
    function_id, _ = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name(name))
    (mapping,) = [
        m["Properties"]
        for m in dev.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"].get("EventSourceArn") == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert mapping["FunctionName"] == {"Ref": function_id}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("name", VENUES)
def test_the_reconcile_schedule_invokes_the_venue_function_every_5_minutes(
    dev: Synthesis, name: str
) -> None:
    kind = name.removeprefix("venue-")
    _, schedule = dev.named("AWS::Scheduler::Schedule", "Name", DEV.name(f"venue-reconcile-{kind}"))
    function_id, _ = dev.named("AWS::Lambda::Function", "FunctionName", DEV.name(name))
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == "rate(5 minutes)"
    assert properties["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert json.loads(properties["Target"]["Input"]) == {"action": "reconcile"}


def _venue_secret_statements(synthesis: Synthesis, name: str) -> list[dict[str, Any]]:
    return [s for s in _statements(synthesis, name) if s.get("Sid") == "VenueCredentials"]


def _resource_text(statement: dict[str, Any]) -> str:
    return json.dumps(statement["Resource"])


@pytest.mark.parametrize("name", VENUES)
def test_a_venue_function_reads_only_the_stages_venue_credentials(
    dev: Synthesis, name: str
) -> None:
    (statement,) = _venue_secret_statements(dev, name)
    assert sorted(_as_list(statement["Action"])) == [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
    ]
    assert ":secret:redfire/dev/venues/*" in _resource_text(statement)


def test_only_the_api_writes_venue_credentials_and_only_the_venue_functions_read_them(
    dev: Synthesis,
) -> None:
    (statement,) = _venue_secret_statements(dev, "api")
    assert "secretsmanager:PutSecretValue" in statement["Action"]
    assert "secretsmanager:GetSecretValue" not in statement["Action"]
    assert ":secret:redfire/dev/venues/*" in _resource_text(statement)
    for name in FUNCTIONS:
        if name not in (*VENUES, "api"):
            assert _venue_secret_statements(dev, name) == [], name


@pytest.mark.parametrize("name", VENUES)
def test_a_venue_function_may_send_to_its_own_queue_only(dev: Synthesis, name: str) -> None:
    queue_ids = {
        logical_id: resource["Properties"]["QueueName"]
        for logical_id, resource in dev.resources("AWS::SQS::Queue").items()
    }
    sent_to = {
        queue_ids[resource["Fn::GetAtt"][0]]
        for statement in _statements(dev, name)
        if "sqs:SendMessage" in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
        if isinstance(resource, dict) and "Fn::GetAtt" in resource
    }
    assert sent_to == {DEV.name(name)}


@pytest.mark.parametrize("name", VENUES)
@pytest.mark.parametrize(
    ("suffix", "metric"),
    [("drift", "ReconciliationDrift"), ("gateway-errors", "VenueGatewayErrors")],
)
def test_drift_and_gateway_errors_raise_an_alarm(
    dev: Synthesis, name: str, suffix: str, metric: str
) -> None:
    _, alarm = dev.named("AWS::CloudWatch::Alarm", "AlarmName", DEV.name(f"{name}-{suffix}"))
    properties = alarm["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == ("RedFire", metric)
    assert {d["Name"]: d["Value"] for d in properties["Dimensions"]} == {
        "service": name,
        "stage": "dev",
    }
    assert properties["Threshold"] == 0
    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert properties["AlarmActions"], "the alarm notifies the stage's topic"

"""SnapStart per stage (cdk.json ``snapstart``): off by default (dev, staging as in cdk.json);
on (the prod fixture turns it on) every declared function snapshots its published version,
and every trigger (queues, streams, HTTP and WebSocket integrations, schedules) invokes
the ``live`` alias of that version, not ``$LATEST``, which SnapStart does not apply to."""

from __future__ import annotations

import json
from typing import Any

import pytest

from redfire_core.resources import FUNCTIONS, Declaration
from redfire_infra.stage_config import StageConfig, StageConfigError
from tests.infra.conftest import Synthesis, cdk_json_context

pytestmark = pytest.mark.slow  # synthesizes the stack (seconds)


def _functions(synthesis: Synthesis, stage: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Declared function name -> (logical id, properties)."""
    declaration = Declaration(stage)
    found = {}
    for name in FUNCTIONS:
        logical_id, resource = synthesis.named(
            "AWS::Lambda::Function", "FunctionName", declaration.name(name)
        )
        found[name] = (logical_id, resource["Properties"])
    return found


def _aliases(synthesis: Synthesis) -> dict[str, str]:
    """Function logical id -> logical id of its alias."""
    return {
        resource["Properties"]["FunctionName"]["Ref"]: logical_id
        for logical_id, resource in synthesis.resources("AWS::Lambda::Alias").items()
    }


def test_snapstart_is_off_unless_a_stage_asks_for_it() -> None:
    stages = cdk_json_context()["redfire:stages"]
    assert all(settings.get("snapstart") is False for settings in stages.values())
    assert StageConfig.from_settings("x", {**stages["dev"], "snapstart": False}).snapstart is False
    with pytest.raises(StageConfigError, match="snapstart"):
        StageConfig.from_settings("x", {**stages["dev"], "snapstart": "yes"})


def test_without_snapstart_triggers_invoke_the_function(dev: Synthesis) -> None:
    functions = _functions(dev, "dev")
    assert not dev.resources("AWS::Lambda::Alias")
    assert not dev.resources("AWS::Lambda::Version")
    for _, properties in functions.values():
        assert "SnapStart" not in properties
    function_ids = {logical_id for logical_id, _ in functions.values()}
    for mapping in dev.resources("AWS::Lambda::EventSourceMapping").values():
        assert mapping["Properties"]["FunctionName"]["Ref"] in function_ids


def test_with_snapstart_every_function_snapshots_its_published_version(
    prod: Synthesis,
) -> None:
    functions = _functions(prod, "prod")
    aliases = _aliases(prod)
    versions = {
        resource["Properties"]["FunctionName"]["Ref"]: logical_id
        for logical_id, resource in prod.resources("AWS::Lambda::Version").items()
    }
    # A replaced version is deleted, so its cached snapshot stops being billed.
    for resource in prod.resources("AWS::Lambda::Version").values():
        assert resource.get("DeletionPolicy") == "Delete"
    for name, (logical_id, properties) in functions.items():
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}, name
        assert logical_id in versions, name
        alias = prod.template["Resources"][aliases[logical_id]]["Properties"]
        assert alias["Name"] == "live"
        assert alias["FunctionVersion"] == {"Fn::GetAtt": [versions[logical_id], "Version"]}


def test_with_snapstart_every_trigger_invokes_the_alias(prod: Synthesis) -> None:
    functions = _functions(prod, "prod")
    aliases = _aliases(prod)
    alias_ids = set(aliases.values())
    # Queue and stream consumers
    mappings = prod.resources("AWS::Lambda::EventSourceMapping").values()
    assert mappings
    for mapping in mappings:  # "<function name>:live", the name taken from the alias
        target = json.dumps(mapping["Properties"]["FunctionName"])
        assert ":live" in target and any(alias_id in target for alias_id in alias_ids), target
    # the HTTP API and the WebSocket API integrations
    integrations = prod.resources("AWS::ApiGatewayV2::Integration").values()
    for name in ("api", "ws"):
        alias_id = aliases[functions[name][0]]
        assert any(alias_id in json.dumps(i["Properties"]["IntegrationUri"]) for i in integrations)
    for integration in integrations:
        uri = json.dumps(integration["Properties"]["IntegrationUri"])
        assert any(alias_id in uri for alias_id in alias_ids), uri
    # the schedules, and the permissions API Gateway and the scheduler invoke with
    for schedule in prod.resources("AWS::Scheduler::Schedule").values():
        assert schedule["Properties"]["Target"]["Arn"]["Ref"] in alias_ids
    for permission in prod.resources("AWS::Lambda::Permission").values():
        if "apigateway" in json.dumps(permission["Properties"]["Principal"]):
            assert permission["Properties"]["FunctionName"]["Ref"] in alias_ids

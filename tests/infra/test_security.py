"""cdk-nag passes with only reviewed, resource-scoped acknowledgements, and every function's
role grants exactly what its declaration asks for."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Validations

from redfire_core.resources import FUNCTIONS, Declaration
from tests.infra.conftest import AUTO_DELETE_PROVIDER, Synthesis

pytestmark = pytest.mark.slow

DEV = Declaration("dev")
# Actions AWS offers no resource-level permission for: the only ones allowed on "*".
ACTIONS_WITHOUT_RESOURCES = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "dynamodb:ListStreams",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(synthesis: Synthesis, function_name: str) -> tuple[dict, list[dict]]:
    """The function's role and every statement attached to it (inline or policy resource)."""
    _, function = synthesis.named("AWS::Lambda::Function", "FunctionName", function_name)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    role = synthesis.template["Resources"][role_id]["Properties"]
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for policy in synthesis.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return role, statements


def _tables_granted(synthesis: Synthesis, statements: list[dict], action: str) -> set[str]:
    """Logical table names whose ARN is a resource of a statement allowing ``action``."""
    logical_by_id = {
        table_id: table["Properties"]["TableName"].removeprefix(DEV.name(""))
        for table_id, table in synthesis.resources("AWS::DynamoDB::Table").items()
    }
    granted = set()
    for statement in statements:
        if action not in _as_list(statement["Action"]):
            continue
        for resource in _as_list(statement["Resource"]):
            attribute = resource.get("Fn::GetAtt") if isinstance(resource, dict) else None
            if attribute and attribute[1] == "Arn" and attribute[0] in logical_by_id:
                granted.add(logical_by_id[attribute[0]])
    return granted


def test_synthesis_with_aws_solutions_checks_reports_no_unacknowledged_finding(
    dev: Synthesis,
) -> None:
    assert dev.error is None, f"synthesis failed: {dev.error}"
    for report in dev.validation_report["pluginReports"]:
        assert report["violations"] == [], report["violations"]
        assert report["conclusion"] == "success"


def test_the_prod_stage_also_passes_the_aws_solutions_checks(prod: Synthesis) -> None:
    assert prod.error is None, f"synthesis failed: {prod.error}"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_acknowledgement_is_scoped_below_the_stack_and_gives_a_reason(
    request: pytest.FixtureRequest, stage: str
) -> None:
    synthesis: Synthesis = request.getfixturevalue(stage)
    suppressed = [
        violation
        for report in synthesis.validation_report["pluginReports"]
        for violation in report.get("suppressedViolations", [])
    ]
    assert suppressed, "expected the reviewed findings to be listed as suppressed"
    for violation in suppressed:
        assert violation["ruleName"].startswith("AwsSolutions-")
        assert violation["acknowledgedAt"].startswith(f"{synthesis.stack.stack_name}/")
        assert len(violation["reason"]) > 40, violation


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_acknowledgement_matches_a_real_finding(
    request: pytest.FixtureRequest, stage: str
) -> None:
    """No stale acknowledgement can hide a future finding."""
    synthesis: Synthesis = request.getfixturevalue(stage)
    acknowledged = set()
    for construct in synthesis.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule_id in entry.data:
                    acknowledged.add((construct.node.path, rule_id.split("::", 1)[1]))
    suppressed = {
        (violation["acknowledgedAt"], violation["ruleName"])
        for report in synthesis.validation_report["pluginReports"]
        for violation in report.get("suppressedViolations", [])
    }
    assert acknowledged == suppressed


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_role_reads_and_writes_exactly_its_declared_tables(
    dev: Synthesis, name: str
) -> None:
    spec = FUNCTIONS[name]
    _, statements = _role_statements(dev, DEV.name(name))
    assert _tables_granted(dev, statements, "dynamodb:GetItem") == {
        *spec.tables_read,
        *spec.tables_write,
    }
    assert _tables_granted(dev, statements, "dynamodb:PutItem") == set(spec.tables_write)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_no_function_can_update_or_delete_an_append_only_table(dev: Synthesis, name: str) -> None:
    append_only = {t.logical for t in DEV.tables.values() if t.append_only}
    _, statements = _role_statements(dev, DEV.name(name))
    for action in ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
        assert not _tables_granted(dev, statements, action) & append_only, action


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_role_publishes_events_and_reads_the_jwt_secret_only_if_declared(
    dev: Synthesis, name: str
) -> None:
    spec = FUNCTIONS[name]
    _, statements = _role_statements(dev, DEV.name(name))
    actions = {action for s in statements for action in _as_list(s["Action"])}
    assert ("events:PutEvents" in actions) is spec.publishes_events
    (jwt_secret_id,) = dev.resources("AWS::SecretsManager::Secret")
    reads_jwt = any(
        "secretsmanager:GetSecretValue" in _as_list(s["Action"])
        and {"Ref": jwt_secret_id} in _as_list(s["Resource"])
        for s in statements
    )
    assert reads_jwt is spec.reads_jwt_secret


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_role_has_no_managed_policy_and_no_needless_wildcard(
    dev: Synthesis, name: str
) -> None:
    role, statements = _role_statements(dev, DEV.name(name))
    assert "ManagedPolicyArns" not in role
    for statement in statements:
        if "*" in _as_list(statement["Resource"]):
            assert set(_as_list(statement["Action"])) <= ACTIONS_WITHOUT_RESOURCES, statement


def test_every_function_has_a_role_of_its_own(dev: Synthesis) -> None:
    roles = [
        f["Properties"]["Role"]
        for logical_id, f in dev.resources("AWS::Lambda::Function").items()
        if not logical_id.startswith(AUTO_DELETE_PROVIDER)
    ]
    assert len(roles) == len({str(role) for role in roles}) == len(FUNCTIONS)

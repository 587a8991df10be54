"""Schema-based fuzzing of every operation in the OpenAPI document (schemathesis):
whatever a client sends, no 5xx and no response that breaks the documented schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from moto import mock_aws
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from redfire_api.app import create_app
from redfire_core.config import get_settings
from redfire_core.domain.roles import Role
from tests.integration.conftest import SECRET, seed, token_for
from tests.support.provisioning import provision

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def cloud() -> Iterator[str]:
    """One moto account for the whole run; returns an admin token of the demo account."""
    with mock_aws():
        provision(get_settings().declaration, jwt_secret=SECRET)
        seed()
        yield token_for("demo", Role.ADMIN)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx_or_breaks_its_schema(case: schemathesis.Case, cloud: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {cloud}"}, checks=CHECKS)

"""The stage's per-account quotas (``quotas`` in cdk.json) reach the function that takes
work requests, under the names ``redfire_core.config.Settings`` reads, and nothing else."""

from __future__ import annotations

import pytest

from tests.infra.conftest import Synthesis, cdk_json_context
from tests.infra.test_jwks_config import _environments

pytestmark = pytest.mark.slow  # synthesizes the stack (seconds)


def test_the_api_function_gets_the_stages_quotas_as_settings_read_them(
    prod: Synthesis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redfire_core.config import Settings
    from redfire_core.domain.quotas import Quotas

    declared = cdk_json_context()["redfire:stages"]["prod"]["quotas"]
    variables = _environments(prod)["redfire-prod-api"]
    quota_variables = {k: v for k, v in variables.items() if k.startswith("REDFIRE_QUOTA_")}
    for name, value in quota_variables.items():
        monkeypatch.setenv(name, value)

    assert len(quota_variables) == 3
    assert Settings().quotas() == Quotas(**declared)


def test_no_other_function_sees_the_quotas(prod: Synthesis) -> None:
    for name, variables in _environments(prod).items():
        if name != "redfire-prod-api":
            assert not any(k.startswith("REDFIRE_QUOTA_") for k in variables), name


@pytest.mark.parametrize(
    ("quotas", "message"),
    [
        ({"sweeps": 1}, "keys among"),
        ({"concurrent_sweeps": -1}, "concurrent_sweeps must be an integer >= 0"),
        ({"running_instances": "10"}, "running_instances must be an integer"),
        (5, "must be an object"),
    ],
)
def test_bad_quotas_are_refused(quotas: object, message: str) -> None:
    from redfire_infra.stage_config import StageConfigError, stage_config_from_context

    context = cdk_json_context()
    stages = {"dev": {**context["redfire:stages"]["dev"], "quotas": quotas}}
    with pytest.raises(StageConfigError, match=message):
        stage_config_from_context({"stage": "dev", "redfire:stages": stages})

"""The stage caps on risk limits and execution settings (``limit_caps`` in cdk.json): checked
on load, above every default the stage applies, and given to every function."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from redfire_core.config import Settings
from redfire_core.domain.caps import CAP_KEYS, parse_caps
from redfire_core.domain.risk import limits_from
from tests.infra.conftest import Synthesis, cdk_json_context

pytestmark = pytest.mark.slow  # imports aws_cdk (seconds)

STAGES = ("dev", "staging", "prod")


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_caps_every_limit_and_setting_at_or_above_its_defaults(stage: str) -> None:
    from redfire_infra.stage_config import stage_config_from_context

    config = stage_config_from_context({**cdk_json_context(), "stage": stage})
    assert set(config.limit_caps) == set(CAP_KEYS)  # the operator's own, spelled out
    caps = parse_caps(config.limit_caps)
    defaults = limits_from(Settings(stage=stage).risk_limit_defaults())
    assert caps.limits(defaults) == defaults  # no stage default is cut down by its cap


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        ({"max_leverage": "2"}, "unknown caps"),
        ({"commission_rate": "-0.1"}, "non-negative"),
        ({"max_active_orders": "1.5"}, "whole number"),
        ({"slippage_bps": "lots"}, "not a decimal"),
        ("10", "must be an object"),
    ],
)
def test_a_bad_cap_is_refused_on_load(caps: object, message: str) -> None:
    from redfire_infra.stage_config import StageConfigError, stage_config_from_context

    context = cdk_json_context()
    context["redfire:stages"]["dev"]["limit_caps"] = caps
    with pytest.raises(StageConfigError, match=message):
        stage_config_from_context({**context, "stage": "dev"})


def test_every_function_gets_the_stages_caps(prod: Synthesis) -> None:
    expected = {
        key: str(Decimal(value))
        for key, value in cdk_json_context()["redfire:stages"]["prod"]["limit_caps"].items()
    }
    functions = prod.resources("AWS::Lambda::Function").values()
    named = [f for f in functions if isinstance(f["Properties"].get("FunctionName"), str)]
    assert named
    for function in named:
        variables = function["Properties"]["Environment"]["Variables"]
        caps = json.loads(variables["REDFIRE_LIMIT_CAPS"])
        assert caps == expected, function["Properties"]["FunctionName"]
        assert Settings(limit_caps=caps).caps().values["slippage_bps"] == Decimal("50")

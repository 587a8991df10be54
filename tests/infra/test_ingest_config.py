"""Market data on real stages: ``ingest`` in a stage's cdk.json settings (provider,
symbols, intervals) becomes one EventBridge Scheduler schedule per interval that invokes
the ingest function with that payload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.conftest import Synthesis, cdk_json_context, synthesize

INGEST = [{"provider": "binance", "symbols": ["BTC-USD"], "intervals": ["1m", "1h"]}]


@pytest.fixture(scope="module")
def staging_with_ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    yield synthesize("staging", tmp_path_factory.mktemp("cdk-ingest"), ingest=INGEST)


@pytest.mark.slow
def test_each_configured_interval_is_a_schedule_invoking_ingest(
    staging_with_ingest: Synthesis,
) -> None:
    assert staging_with_ingest.error is None
    function_id, _ = staging_with_ingest.named(
        "AWS::Lambda::Function", "FunctionName", "redfire-staging-ingest"
    )
    for interval, expression in (("1m", "rate(1 minute)"), ("1h", "rate(60 minutes)")):
        _, schedule = staging_with_ingest.named(
            "AWS::Scheduler::Schedule", "Name", f"redfire-staging-ingest-binance-{interval}"
        )
        props = schedule["Properties"]
        assert props["ScheduleExpression"] == expression
        assert props["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
        assert json.loads(props["Target"]["Input"]) == {
            "provider": "binance",
            "symbols": ["BTC-USD"],
            "interval": interval,
        }


@pytest.mark.parametrize(
    ("ingest", "message"),
    [
        ([{"provider": "nope", "symbols": ["X"], "intervals": ["1m"]}], "unknown provider"),
        ([{"provider": "binance", "symbols": [], "intervals": ["1m"]}], "symbols"),
        ([{"provider": "binance", "symbols": ["X"], "intervals": ["7m"]}], "intervals"),
        ([{"provider": "binance", "symbols": ["X"]}], "provider, symbols and intervals"),
        ({"provider": "binance"}, "must be a list"),
    ],
)
def test_bad_ingest_settings_are_refused(ingest: Any, message: str) -> None:
    from redfire_infra.stage_config import StageConfigError, stage_config_from_context

    context = cdk_json_context()
    stages = {"staging": {**context["redfire:stages"]["staging"], "ingest": ingest}}
    with pytest.raises(StageConfigError, match=message):
        stage_config_from_context({"stage": "staging", "redfire:stages": stages})

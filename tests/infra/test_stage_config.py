"""The stage comes from ``-c stage=<name>``; its settings from cdk.json, checked on load."""

from __future__ import annotations

import pytest

from tests.infra.conftest import cdk_json_context

pytestmark = pytest.mark.slow  # imports aws_cdk (seconds)


def test_every_stage_in_cdk_json_loads_into_a_typed_config() -> None:
    from redfire_infra.stage_config import stage_config_from_context

    context = cdk_json_context()
    for stage in ("dev", "staging", "prod"):
        config = stage_config_from_context({**context, "stage": stage})
        assert config.stage == stage
        assert config.timestream_enabled is False


def test_dev_is_the_default_stage() -> None:
    from redfire_infra.stage_config import stage_config_from_context

    context = {key: value for key, value in cdk_json_context().items() if key != "stage"}
    assert stage_config_from_context(context).stage == "dev"


def test_dev_is_destroyed_with_its_stack_and_prod_is_retained() -> None:
    from aws_cdk import RemovalPolicy

    from redfire_infra.stage_config import stage_config_from_context

    context = cdk_json_context()
    dev = stage_config_from_context({**context, "stage": "dev"})
    prod = stage_config_from_context({**context, "stage": "prod"})
    assert dev.stateful_removal_policy == RemovalPolicy.DESTROY
    # retained, except by the rollback of the deploy that created them (a retry can succeed)
    assert prod.stateful_removal_policy == RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
    assert prod.protects_data


def test_an_unknown_stage_is_refused() -> None:
    from redfire_infra.stage_config import StageConfigError, stage_config_from_context

    with pytest.raises(StageConfigError, match="unknown stage 'qa'"):
        stage_config_from_context({**cdk_json_context(), "stage": "qa"})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"log_retention_days": 10}, "log_retention_days"),
        ({"removal_policy": "keep"}, "removal_policy"),
        ({"api_throttle_burst": 0}, "throttling"),
        ({"typo_setting": 1}, "unknown stage settings"),
        ({"queue_max_concurrency": {"nope": 5}}, "queue_max_concurrency names"),
        ({"queue_max_concurrency": {"risk": 1}}, "from 2 to 1000"),
        ({"queue_max_concurrency": {"risk": 1001}}, "from 2 to 1000"),
        ({"reserved_concurrency": {"nope": 5}}, "reserved_concurrency names"),
        ({"reserved_concurrency": {"orders": 0}}, "positive integer"),
    ],
)
def test_an_invalid_stage_setting_is_refused(override: dict, message: str) -> None:
    from redfire_infra.stage_config import StageConfigError, stage_config_from_context

    context = cdk_json_context()
    stages = {"dev": {**context["redfire:stages"]["dev"], **override}}
    with pytest.raises(StageConfigError, match=message):
        stage_config_from_context({"stage": "dev", "redfire:stages": stages})


def test_a_missing_stage_setting_is_refused() -> None:
    from redfire_infra.stage_config import StageConfigError, stage_config_from_context

    settings = dict(cdk_json_context()["redfire:stages"]["dev"])
    del settings["api_throttle_rate"]
    with pytest.raises(StageConfigError, match="api_throttle_rate"):
        stage_config_from_context({"stage": "dev", "redfire:stages": {"dev": settings}})


def test_a_queue_consumer_concurrency_is_the_declaration_unless_the_stage_overrides_it() -> None:
    from redfire_core.resources import QUEUES
    from redfire_infra.stage_config import stage_config_from_context

    context = cdk_json_context()
    stages = {"dev": {**context["redfire:stages"]["dev"], "queue_max_concurrency": {"risk": 7}}}
    config = stage_config_from_context({"stage": "dev", "redfire:stages": stages})
    assert config.max_concurrency("risk") == 7
    assert config.max_concurrency("orders") == QUEUES["orders"].max_concurrency


def test_a_binance_host_must_be_https() -> None:
    from redfire_infra.stage_config import StageConfig, StageConfigError

    settings = cdk_json_context()["redfire:stages"]["prod"]
    with pytest.raises(StageConfigError, match="binance_base_url"):
        StageConfig.from_settings("prod", {**settings, "binance_base_url": "http://x.test"})


def test_graphql_limits_are_stage_settings_for_the_api_function() -> None:
    from redfire_infra.stage_config import stage_config_from_context

    # Given cdk.json: introspection on in dev, off in prod; ten mutations a request
    context = cdk_json_context()
    dev = stage_config_from_context({**context, "stage": "dev"})
    prod = stage_config_from_context({**context, "stage": "prod"})

    # Then the API function's environment carries them into Settings
    assert dev.api_environment == {
        "REDFIRE_GRAPHQL_INTROSPECTION": "true",
        "REDFIRE_GRAPHQL_MAX_MUTATIONS": "10",
        "REDFIRE_ALPACA_DECISION_WAIT_SECONDS": "2",
    }
    assert prod.api_environment["REDFIRE_GRAPHQL_INTROSPECTION"] == "false"


def test_the_alpaca_decision_wait_is_a_stage_setting_within_bounds() -> None:
    from redfire_infra.stage_config import StageConfigError, stage_config_from_context

    dev = cdk_json_context()["redfire:stages"]["dev"]
    longer = {"dev": {**dev, "alpaca_decision_wait_seconds": 5}}
    config = stage_config_from_context({"stage": "dev", "redfire:stages": longer})
    assert config.api_environment["REDFIRE_ALPACA_DECISION_WAIT_SECONDS"] == "5"
    too_long = {"dev": {**dev, "alpaca_decision_wait_seconds": 30}}
    with pytest.raises(StageConfigError, match="alpaca_decision_wait_seconds"):
        stage_config_from_context({"stage": "dev", "redfire:stages": too_long})


def test_a_graphql_mutation_limit_below_one_is_refused() -> None:
    from redfire_infra.stage_config import StageConfigError, stage_config_from_context

    stages = {"dev": {**cdk_json_context()["redfire:stages"]["dev"], "graphql_max_mutations": 0}}
    with pytest.raises(StageConfigError, match="graphql_max_mutations"):
        stage_config_from_context({"stage": "dev", "redfire:stages": stages})


def test_deep_tracing_is_off_in_every_stage_unless_cdk_json_asks_for_it() -> None:
    from redfire_infra.stage_config import stage_config_from_context

    # Given cdk.json as committed, and a stage that asks for deep tracing
    context = cdk_json_context()
    stages = context["redfire:stages"]
    deep = {**context, "redfire:stages": {"dev": {**stages["dev"], "deep_tracing": True}}}

    # Then every function learns it through REDFIRE_DEEP_TRACING (Settings.deep_tracing)
    for stage in ("dev", "staging", "prod"):
        config = stage_config_from_context({**context, "stage": stage})
        assert config.tracing_environment == {"REDFIRE_DEEP_TRACING": "false"}
    on = stage_config_from_context({**deep, "stage": "dev"})
    assert on.tracing_environment == {"REDFIRE_DEEP_TRACING": "true"}

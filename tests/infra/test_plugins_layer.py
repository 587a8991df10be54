"""Plug-ins reach AWS: a stage's ``plugins`` (cdk.json) become a plug-ins layer, built like the
other layers (manylinux aarch64 CPython 3.12 wheels, no Docker), attached to the functions that
load plug-ins; a stage without plug-ins has no such layer. Built offline from the fixture
plug-in's wheel (tests/fixtures/plugins/rf_meanrev)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from redfire_core.resources import FUNCTIONS
from redfire_infra.layer_contents import LAMBDA_PLATFORM, LAMBDA_PYTHON_VERSION, Target
from tests.infra.conftest import Synthesis, synthesize
from tests.support.plugin_wheels import FIXTURE_PLUGINS, build_wheel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(FIXTURE_PLUGINS / "rf_meanrev", tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def staging_with_plugins(
    tmp_path_factory: pytest.TempPathFactory, wheel: Path
) -> Iterator[Synthesis]:
    yield synthesize("staging", tmp_path_factory.mktemp("cdk-plugins"), plugins=[str(wheel)])


def _layer_ids(synthesis: Synthesis) -> dict[str, str]:
    return {
        logical_id: resource["Properties"]["LayerName"]
        for logical_id, resource in synthesis.resources("AWS::Lambda::LayerVersion").items()
    }


def test_the_plugins_layer_holds_the_plugin_and_not_what_core_ships(wheel: Path) -> None:
    from redfire_infra.plugin_layer import install_plugins

    # Given the plug-in's wheel and a dependency the core layer already ships
    target = Target("lambda", LAMBDA_PLATFORM, LAMBDA_PYTHON_VERSION)
    # When the layer's contents are installed for Lambda
    site_packages = install_plugins([str(wheel), "python-ulid"], target)
    # Then the plug-in and its entry points are there, python-ulid is not (core has it)
    assert (site_packages / "rf_meanrev" / "strategy.py").is_file()
    entry_points = (site_packages / "rf_meanrev-0.1.0.dist-info" / "entry_points.txt").read_text()
    assert "rf_meanrev = rf_meanrev.strategy:MeanReversion" in entry_points
    assert not list(site_packages.glob("ulid*"))
    assert not list(site_packages.glob("python_ulid*"))


def test_a_stage_with_plugins_gets_the_layer_on_the_functions_that_load_them(
    staging_with_plugins: Synthesis,
) -> None:
    assert staging_with_plugins.error is None
    layer_ids = _layer_ids(staging_with_plugins)
    plugins = [lid for lid, name in layer_ids.items() if name == "redfire-staging-plugins"]
    assert len(plugins) == 1
    for name, spec in FUNCTIONS.items():
        _, function = staging_with_plugins.named(
            "AWS::Lambda::Function", "FunctionName", f"redfire-staging-{name}"
        )
        attached = {ref["Ref"] for ref in function["Properties"]["Layers"]}
        assert (plugins[0] in attached) == spec.loads_plugins, name
    for loader in ("strategy-runner", "backtests", "ingest", "api"):
        assert FUNCTIONS[loader].loads_plugins


def test_a_stage_without_plugins_has_no_plugins_layer(dev: Synthesis) -> None:
    assert "redfire-dev-plugins" not in _layer_ids(dev).values()


def test_bad_plugins_settings_are_refused() -> None:
    from redfire_infra.stage_config import StageConfigError, stage_config_from_context
    from tests.infra.conftest import cdk_json_context

    context = cdk_json_context()
    stages = {"staging": {**context["redfire:stages"]["staging"], "plugins": "rf-meanrev"}}
    with pytest.raises(StageConfigError, match="plugins must be a list"):
        stage_config_from_context({"stage": "staging", "redfire:stages": stages})

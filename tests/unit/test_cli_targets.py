"""A deployed stage is addressed in the region of your AWS configuration, and its buckets
by the names CloudFormation gave them (read from the stack's outputs)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from redfire_cli.targets import select_target, use_stage_buckets
from redfire_core.adapters.models import region
from redfire_core.config import get_settings
from redfire_core.resources import BUCKETS, MARKETDATA_UPLOADS


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """The targets re-read settings from the environment; later tests read the restored one."""
    yield
    get_settings.cache_clear()


@pytest.fixture
def profile_in_eu_west_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An AWS profile whose region is eu-west-2, and no region variable."""
    config = tmp_path / "config"
    config.write_text("[profile trading]\nregion = eu-west-2\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "trading")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")


@pytest.mark.usefixtures("profile_in_eu_west_2")
def test_the_region_comes_from_the_aws_profile_not_a_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REDFIRE_STAGE", "test")  # restored after the test
    assert region() == "eu-west-2"
    # and a command on a deployed stage runs there
    assert select_target("test", tmp_path) == "test"
    assert os.environ["AWS_REGION"] == os.environ["AWS_DEFAULT_REGION"] == "eu-west-2"
    import boto3

    # As in a fresh CLI process: no default session left over from earlier tests.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    assert boto3.client("sqs").meta.region_name == "eu-west-2"


def test_a_stage_command_without_any_region_stops_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(SystemExit, match="no AWS region"):
        select_target("prod", tmp_path)


class _Outputs:
    """CloudFormation's DescribeStacks answer for one stack."""

    class exceptions:
        ClientError = RuntimeError

    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs
        self.asked: list[str] = []

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        self.asked.append(StackName)
        return {
            "Stacks": [
                {"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]}
            ]
        }


def test_the_cli_finds_a_stage_bucket_through_the_stack_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a deployed prod stack whose buckets CloudFormation named
    generated = {b.output_name: f"redfire-prod-{b.logical}-1x2y3z" for b in BUCKETS.values()}
    for bucket in BUCKETS.values():  # empty now, unset again after the test
        monkeypatch.setenv(bucket.environment_variable, "")
    cloudformation = _Outputs(generated)
    # When the CLI targets it
    use_stage_buckets("prod", cloudformation)
    # Then it uses those names, as the stage's functions do
    assert cloudformation.asked == ["RedFire-prod"]
    uploads = BUCKETS[MARKETDATA_UPLOADS]
    assert get_settings().bucket_name(MARKETDATA_UPLOADS) == generated[uploads.output_name]


def test_without_a_deployed_name_a_bucket_has_its_declared_local_name() -> None:
    assert get_settings().bucket_name(MARKETDATA_UPLOADS) == "redfire-test-marketdata-uploads"

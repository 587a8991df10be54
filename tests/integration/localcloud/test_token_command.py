"""``redfire token`` refuses anything that is not the local cloud."""

from __future__ import annotations

from pathlib import Path

import pytest

from redfire_cli import main as cli
from redfire_cli import tokens
from redfire_cli.localcloud import dev_env
from redfire_core.domain.roles import Role


@pytest.fixture(autouse=True)
def no_shell_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("REDFIRE_STAGE", raising=False)


def test_without_a_local_cloud_the_command_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a folder where no local cloud runs, when a token is asked for
    code = tokens.main("demo", "trader", workdir=tmp_path)

    # Then it refuses with exit code 2 and says why
    assert code == 2
    assert "no local cloud endpoint" in capsys.readouterr().err


@pytest.mark.parametrize(
    "endpoint", ["https://dynamodb.us-east-1.amazonaws.com", "http://10.0.0.5:4566"]
)
def test_a_remote_endpoint_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    dev_env.write(dev_env.dev_env_path(tmp_path), {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"})
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)  # the shell wins over dev.env
    with pytest.raises(tokens.Refused):
        tokens.local_cloud_settings(tmp_path)


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_a_real_stage_is_refused_even_with_a_local_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dev_env.write(dev_env.dev_env_path(tmp_path), {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"})
    monkeypatch.setenv("REDFIRE_STAGE", stage)
    assert tokens.main("demo", "trader", workdir=tmp_path) == 2
    assert "never for a deployed stage" in capsys.readouterr().err


def test_the_local_cloud_settings_come_from_dev_env(tmp_path: Path) -> None:
    dev_env.write(
        dev_env.dev_env_path(tmp_path),
        {"AWS_ENDPOINT_URL": "http://localhost:4566", "REDFIRE_STAGE": "local"},
    )
    assert tokens.local_cloud_settings(tmp_path) == ("http://localhost:4566", "local")


def test_the_cli_role_choices_are_the_roles_of_redfire_core() -> None:
    assert set(cli.ROLES) == {role.value for role in Role}

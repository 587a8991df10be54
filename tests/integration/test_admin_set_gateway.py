"""``redfire admin set-gateway``: an operator routes an account to a venue from the CLI."""

from __future__ import annotations

import json

import boto3
import pytest

from redfire_cli import admin
from redfire_cli.main import main
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings


@pytest.fixture
def stage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDFIRE_STAGE", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("REDFIRE_VENUE_SECRET", "cli-secret-value-42")
    monkeypatch.setattr(admin, "_caller_identity", lambda: "arn:aws:iam::123456789012:user/ops")


@pytest.mark.usefixtures("stage_env")
def test_set_gateway_stores_the_key_and_asks_the_venue_to_check_it(
    seeded: TradingStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _: None)  # nobody answers the check here

    code = main(
        ["admin", "set-gateway", "demo", "alpaca", "--key-id", "PKCLI0001", "--stage", "test"]
    )

    out = capsys.readouterr().out
    assert code == 0 and "status:     connecting" in out and "cli-secret-value-42" not in out
    account = seeded.get_account("demo")
    assert account is not None and (account.gateway, account.gateway_status) == (
        "alpaca",
        "connecting",
    )
    name = f"redfire/{get_settings().stage}/venues/demo"
    stored = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    )
    assert stored["secret"] == "cli-secret-value-42"


@pytest.mark.usefixtures("stage_env")
def test_set_gateway_refuses_an_unknown_gateway(
    seeded: TradingStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["admin", "set-gateway", "demo", "ccxt:nowhere", "--key-id", "k", "--stage", "test"]
    )

    assert code == 1 and "GATEWAY_INVALID" in capsys.readouterr().err

"""``redfire admin revoke-key``: anyone with the stage's AWS credentials revokes any key."""

from __future__ import annotations

from pathlib import Path

import pytest

from redfire_cli import admin
from redfire_core.adapters.api_keys import ApiKeyStore
from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.roles import Role
from tests.integration.conftest import call_api, token_for


@pytest.fixture
def cli_on_this_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's target is the moto account of the test (as `--stage` would select it)."""
    monkeypatch.setattr(admin, "select_target", lambda stage, workdir: stage or "local")
    monkeypatch.setattr(admin, "_caller_identity", lambda: "arn:aws:iam::123456789012:user/ops")


def test_an_operator_key_is_revoked_from_the_cli_and_audited(
    seeded: TradingStore, cli_on_this_stage: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an operator key, whose token works
    operator = token_for("platform", Role.OPERATOR)
    body = {"name": "ops", "scopes": ["operator"]}
    key = call_api("POST", "/v1/api-keys", body=body, token=operator)[2]
    exchanged = call_api(
        "POST", "/v1/auth/token", body={"key_id": key["key_id"], "secret": key["secret"]}
    )
    assert exchanged[0] == 200

    # When someone with AWS credentials revokes it with the CLI
    code = admin.revoke_key(key["key_id"], stage="prod", reason="leaked", workdir=Path())

    # Then it is revoked, its tokens stop working, and the audit log names the caller
    assert code == 0 and "revoked_at:" in capsys.readouterr().out
    assert ApiKeyStore().get(key["key_id"]).is_revoked  # type: ignore[union-attr]
    token = exchanged[2]["access_token"]
    assert call_api("GET", "/v1/risk/global-state", token=token)[0] == 401
    records = AuditLog().list("platform", 10, None)[0]
    revoked = [r for r in records if r.action == "key.revoked"]
    assert [(r.object_id, r.actor, r.reason) for r in revoked] == [
        (key["key_id"], "redfire admin (arn:aws:iam::123456789012:user/ops)", "leaked")
    ]


def test_an_unknown_key_is_an_error(
    seeded: TradingStore, cli_on_this_stage: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert admin.revoke_key("key_nope", stage=None, reason=None, workdir=Path()) == 1
    assert "no key 'key_nope'" in capsys.readouterr().err

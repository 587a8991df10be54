"""``redfire admin create-account``: the options reach the account it opens."""

from __future__ import annotations

from typing import Any

import pytest

from redfire_cli.main import main


@pytest.mark.parametrize(("flags", "margin"), [([], True), (["--cash-account"], False)])
def test_create_account_opens_a_margin_account_unless_told_cash(
    monkeypatch: pytest.MonkeyPatch, flags: list[str], margin: bool
) -> None:
    # Given the account opening is recorded instead of done
    opened: dict[str, Any] = {}

    def create_account(account_id: str | None, **options: Any) -> int:
        opened.update(options, account_id=account_id)
        return 0

    monkeypatch.setattr("redfire_cli.admin.create_account", create_account)

    # When an account is created with or without --cash-account
    assert main(["admin", "create-account", "fund-1", "--cash", "5000", *flags]) == 0

    # Then only --cash-account opens it without margin (it cannot sell short)
    assert opened["account_id"] == "fund-1" and opened["cash"] == "5000"
    assert opened["margin"] is margin


def test_revoke_key_reaches_the_key_the_stage_and_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    revoked: dict[str, Any] = {}

    def revoke_key(key_id: str, **options: Any) -> int:
        revoked.update(options, key_id=key_id)
        return 0

    monkeypatch.setattr("redfire_cli.admin.revoke_key", revoke_key)

    assert main(["admin", "revoke-key", "key_01abc", "--stage", "prod", "--reason", "leaked"]) == 0
    assert (revoked["key_id"], revoked["stage"], revoked["reason"]) == (
        "key_01abc",
        "prod",
        "leaked",
    )

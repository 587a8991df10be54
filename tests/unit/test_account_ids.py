"""Account ids: one pattern (redfire_core.domain.account_ids) for every way of naming one."""

from __future__ import annotations

from pathlib import Path

import pytest

from redfire_cli import admin
from redfire_core.domain.account_ids import (
    ACCOUNT_ID_PATTERN,
    account_id_problem,
    collides_with_internal_key,
)

VALID = ["demo", "fund-1", "abc", "0-trader", "a" * 64, admin.PLATFORM_ACCOUNT]
INVALID = ["ab", "a" * 65, "-fund", "Fund-1", "fund_1", "fund 1", "fund#1", "fünd", "", "demo\n"]
RESERVED = ["platform", "PLATFORM", "Platform"]


@pytest.mark.parametrize("account_id", VALID)
def test_ids_of_the_pattern_may_be_created(account_id: str) -> None:
    assert account_id_problem(account_id) is None


@pytest.mark.parametrize("account_id", INVALID)
def test_ids_outside_the_pattern_are_refused(account_id: str) -> None:
    problem = account_id_problem(account_id)
    assert problem is not None and problem.code == "ACCOUNT_ID_INVALID"


def test_reserved_keys_are_refused_in_any_letter_case() -> None:
    # "platform" matches the pattern but would read as the platform's PLATFORM key
    problems = [account_id_problem(account_id) for account_id in RESERVED]
    assert [p.code if p else None for p in problems] == ["ACCOUNT_ID_RESERVED"] + [
        "ACCOUNT_ID_INVALID"
    ] * 2


def test_only_the_internal_key_itself_collides_when_a_token_is_verified() -> None:
    # Ids created before the pattern keep working; the platform's own key never does.
    assert collides_with_internal_key("PLATFORM")
    assert not any(collides_with_internal_key(a) for a in ("platform", "Legacy_Fund", "demo"))


def test_the_pattern_is_documented_as_declared() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "security.md").read_text()
    assert f"`{ACCOUNT_ID_PATTERN}`" in docs


@pytest.mark.parametrize("account_id", ["PLATFORM", "platform", "Fund_A", "ab"])
def test_create_account_refuses_an_id_outside_the_pattern_before_touching_a_stage(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    account_id: str,
) -> None:
    # Given a CLI whose stage selection must not be reached
    def no_stage(*args: object) -> None:
        raise AssertionError("the CLI reached for a stage")

    monkeypatch.setattr(admin, "select_target", no_stage)

    # When an account with a refused id is created
    code = admin.create_account(
        account_id, operator=False, stage=None, cash="1000", workdir=tmp_path
    )

    # Then the CLI fails, naming the id
    assert code == admin.EXIT_FAILED
    assert repr(account_id) in capsys.readouterr().err

"""Settings read REDFIRE_* as pydantic-settings did: arguments first, dict fields as JSON."""

from __future__ import annotations

import pytest

from redfire_core.config import Settings


def test_variables_fill_the_fields_and_arguments_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDFIRE_STAGE", "staging")
    monkeypatch.setenv("REDFIRE_RATE_LIMIT_PER_SECOND", "7")
    monkeypatch.setenv("REDFIRE_LIMIT_CAPS", '{"slippage_bps": "50"}')
    monkeypatch.setenv("REDFIRE_DEEP_TRACING", "true")
    monkeypatch.setenv("REDFIRE_NOT_A_FIELD", "ignored")

    settings = Settings()

    assert (settings.stage, settings.rate_limit_per_second) == ("staging", 7)
    assert settings.limit_caps == {"slippage_bps": "50"} and settings.deep_tracing is True
    assert Settings(stage="prod").stage == "prod"


def test_a_malformed_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDFIRE_RATE_LIMIT_PER_SECOND", "fifty")
    with pytest.raises(ValueError, match="rate_limit_per_second"):
        Settings()

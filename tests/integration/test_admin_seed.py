"""``redfire admin seed-instruments``: a fresh stage gets its instruments from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redfire_cli.main import main
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.instruments import DEMO_INSTRUMENTS


@pytest.fixture
def stage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What select_target changes, restored after the test."""
    monkeypatch.setenv("REDFIRE_STAGE", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.mark.usefixtures("stage_env")
def test_seed_instruments_creates_the_demo_instruments_once(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin", "seed-instruments", "--stage", "test"]) == 0
    store = TradingStore()
    assert [i.symbol for i in store.list_instruments()] == sorted(
        i.symbol for i in DEMO_INSTRUMENTS
    )
    # A second run keeps what is there (an operator may have changed it since).
    assert main(["admin", "seed-instruments", "--stage", "test"]) == 0
    assert capsys.readouterr().out.count("already exists") == len(DEMO_INSTRUMENTS)


@pytest.mark.usefixtures("stage_env")
def test_seed_instruments_reads_a_file_of_instruments(aws: None, tmp_path: Path) -> None:
    file = tmp_path / "instruments.json"
    eth = {
        "symbol": "ETH-USD",
        "asset_class": "crypto",
        "currency": "USD",
        "tick_size": "0.01",
        "lot_size": "0.001",
        "min_quantity": "0.001",
        "price_precision": 2,
        "calendar": "24/7",
    }
    file.write_text(json.dumps([eth]))
    assert main(["admin", "seed-instruments", "--stage", "test", "--file", str(file)]) == 0
    instrument = TradingStore().get_instrument("ETH-USD")
    assert instrument is not None and str(instrument.lot_size) == "0.001"

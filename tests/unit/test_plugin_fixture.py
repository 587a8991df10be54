"""The worked plug-in (tests/fixtures/plugins/rf_meanrev, docs/backtesting.md) runs: its
risk-sized entries on a fractional lot grid fill, and each fill gets its ATR stop."""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import BacktestSettings, run_backtest
from redfire_core.strategies import Strategy
from tests.support.plugin_wheels import FIXTURE_PLUGINS


@pytest.fixture
def mean_reversion(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Strategy]]:
    monkeypatch.syspath_prepend(str(FIXTURE_PLUGINS / "rf_meanrev"))
    yield importlib.import_module("rf_meanrev.strategy").MeanReversion
    for name in [m for m in sys.modules if m.startswith("rf_meanrev")]:
        del sys.modules[name]


def test_the_worked_plugin_sizes_for_risk_and_protects_each_entry(
    mean_reversion: type[Strategy],
) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    closes = [100 + 8 * math.sin(i / 6) + 3 * math.sin(i / 1.7) for i in range(300)]
    data = BarData(
        [start + timedelta(hours=i) for i in range(300)],
        [closes[max(i - 1, 0)] for i in range(300)],
        [c + 1.0 for c in closes],
        [c - 1.0 for c in closes],
        closes,
        [1.0] * 300,
    )
    result = run_backtest(mean_reversion, data, {}, BacktestSettings(lot_size=0.001))

    entries = [o for o in result.orders if o.side > 0 and o.status == "filled"]
    stops = [o for o in result.orders if o.side < 0 and o.stop is not None]
    assert entries, "the fixture never entered: the example proves nothing"
    assert all(round(o.filled_quantity * 1000) == o.filled_quantity * 1000 for o in entries)
    assert any(not float(o.filled_quantity).is_integer() for o in entries)  # fractional lots
    # each fill placed its stop in on_fill (the last one may still be working at the end,
    # and the result lists ended orders)
    assert len(stops) >= len(entries) - 1

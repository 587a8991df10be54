"""Custom indicators through ``self.indicator``: a function of the last ``n`` closes, or of
whole bars (``source="ohlcv"``: open, high, low, close and volume), fed by the backtester
and by the live runner's warm-up alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from redfire_core.backtest.data import BarData
from redfire_core.backtest.engine import run_backtest
from redfire_core.domain.bars import Bar as StoredBar
from redfire_core.services.strategy_instances import LiveBroker, _warm_up
from redfire_core.strategies import Bar, Strategy, StrategyError

START = datetime(2025, 1, 1, tzinfo=UTC)
OPENS = [10.0, 11.0, 12.0, 11.0, 13.0, 14.0]
CLOSES = [11.0, 12.0, 11.0, 13.0, 14.0, 12.0]
VOLUMES = [100.0, 200.0, 50.0, 300.0, 100.0, 400.0]


def vwap(opens: list[float], highs: list[float], lows: list[float], closes: list[float],
         volumes: list[float]) -> float:  # fmt: skip
    return sum(c * v for c, v in zip(closes, volumes, strict=True)) / sum(volumes)


def gap(opens: list[float], *_: list[float]) -> float:
    return opens[-1] - opens[0]


class Custom(Strategy):
    """Records a VWAP of 3 bars, an open-to-open gap and a mean of 2 closes on each bar."""

    name: ClassVar[str] = "custom_unit"

    def on_start(self) -> None:
        self.vwap = self.indicator(vwap, 3, source="ohlcv")
        self.gap = self.indicator(gap, 2, source="ohlcv")
        self.mean = self.indicator(lambda closes: sum(closes) / len(closes), 2)

    def on_bar(self, bar: Bar) -> None:
        self.state.setdefault("seen", []).append(
            [bar.index, self.vwap.value, self.gap.value, self.mean.value]
        )


def test_a_backtest_feeds_custom_indicators_whole_bars() -> None:
    data = BarData(
        [START + timedelta(days=i) for i in range(6)],
        OPENS,
        [c + 1 for c in CLOSES],
        [c - 1 for c in CLOSES],
        CLOSES,
        VOLUMES,
    )
    result = run_backtest(Custom, data)
    seen = result.state["seen"]
    assert seen  # on_bar ran once the indicators were ready
    for i, value, opened, mean in seen:
        window = slice(i - 2, i + 1)
        assert value == pytest.approx(vwap([], [], [], CLOSES[window], VOLUMES[window]))
        assert opened == OPENS[i] - OPENS[i - 1]
        assert mean == (CLOSES[i] + CLOSES[i - 1]) / 2


def test_the_live_warm_up_feeds_them_the_same_bars() -> None:
    history = [
        StoredBar(
            "GOOG",
            "1d",
            START + timedelta(days=i),
            Decimal(str(o)),
            Decimal(str(c + 1)),
            Decimal(str(c - 1)),
            Decimal(str(c)),
            Decimal(str(v)),
        )
        for i, (o, c, v) in enumerate(zip(OPENS, CLOSES, VOLUMES, strict=True))
    ]
    strategy = Custom(LiveBroker())
    strategy.on_start()

    assert _warm_up(strategy, history)
    assert strategy.vwap.value == pytest.approx(vwap([], [], [], CLOSES[-3:], VOLUMES[-3:]))
    assert strategy.gap.value == OPENS[-1] - OPENS[-2]


@pytest.mark.parametrize(("args", "message"), [((3,), "source"), ((None,), "needs n")])
def test_a_function_indicator_needs_n_and_a_known_source(
    args: tuple[Any, ...], message: str
) -> None:
    strategy = Custom(LiveBroker())
    with pytest.raises(StrategyError, match=message):
        strategy.indicator(vwap, *args, source="hl" if args[0] else "close")

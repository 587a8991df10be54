"""The bundled strategies: ``sma_cross``, ``rsi_reversion`` and ``breakout``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from redfire_core.strategies.base import Bar, Strategy, StrategyError
from redfire_core.strategies.indicators import crossing_bars, crossover

# Longest indicator window a bundled strategy takes: a live instance reads this many bars
# of history for its warm-up on every bar.
MAX_PERIOD = 1000


class SmaCross(Strategy):
    """When the fast SMA of closes crosses above the slow one, close any position and go
    long with all equity; when it crosses below, close and go short with all equity."""

    name: ClassVar[str] = "sma_cross"
    parameters: ClassVar[dict[str, Any]] = {"fast": 10, "slow": 20}
    bounds: ClassVar[dict[str, tuple[float, float]]] = {
        "fast": (1, MAX_PERIOD),
        "slow": (1, MAX_PERIOD),
    }

    def on_start(self) -> None:
        self.fast_sma = self.sma(self.params["fast"])
        self.slow_sma = self.sma(self.params["slow"])

    def signal_bars(self) -> Iterable[int] | None:
        """It acts only where the averages cross."""
        fast, slow = self.fast_sma.history, self.slow_sma.history
        return None if fast is None or slow is None else crossing_bars(fast, slow)

    def on_bar(self, bar: Bar) -> None:
        if crossover(self.fast_sma, self.slow_sma):
            self.close()
            self.buy()
        elif crossover(self.slow_sma, self.fast_sma):
            self.close()
            self.sell()


class RsiReversion(Strategy):
    """Long only: buy with all equity when RSI falls below ``lower``, close when it rises
    above ``upper``."""

    name: ClassVar[str] = "rsi_reversion"
    parameters: ClassVar[dict[str, Any]] = {"period": 14, "lower": 30.0, "upper": 70.0}
    bounds: ClassVar[dict[str, tuple[float, float]]] = {
        "period": (1, MAX_PERIOD),
        "lower": (0, 100),
        "upper": (0, 100),
    }

    @classmethod
    def check_parameters(cls, params: dict[str, Any]) -> None:
        if not 0 <= params["lower"] < params["upper"] <= 100:
            raise StrategyError("STRATEGY_INVALID_PARAMETER", "need 0 <= lower < upper <= 100")

    def on_start(self) -> None:
        self.strength = self.rsi(self.params["period"])

    def on_bar(self, bar: Bar) -> None:
        value = self.strength.value
        if self.position <= 0 and value < self.params["lower"]:
            self.buy()
        elif self.position > 0 and value > self.params["upper"]:
            self.close()


class Breakout(Strategy):
    """Donchian breakout: go long with all equity when the close exceeds the highest high
    of the previous ``lookback`` bars; exit when it falls below the lowest low of the
    previous ``exit_lookback`` bars."""

    name: ClassVar[str] = "breakout"
    parameters: ClassVar[dict[str, Any]] = {"lookback": 20, "exit_lookback": 10}
    bounds: ClassVar[dict[str, tuple[float, float]]] = {
        "lookback": (1, MAX_PERIOD),
        "exit_lookback": (1, MAX_PERIOD),
    }

    def on_start(self) -> None:
        self.upper = self.highest(self.params["lookback"])
        self.lower = self.lowest(self.params["exit_lookback"])

    def on_bar(self, bar: Bar) -> None:
        # ``previous`` is the channel before this bar joined it.
        if self.position <= 0 and bar.close > self.upper.previous:
            self.buy()
        elif self.position > 0 and bar.close < self.lower.previous:
            self.close()


BUILT_IN: dict[str, type[Strategy]] = {cls.name: cls for cls in (SmaCross, RsiReversion, Breakout)}

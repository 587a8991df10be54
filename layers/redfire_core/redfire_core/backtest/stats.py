"""Backtest statistics, defined as backtesting.py 0.6.6 defines them (its ``_stats.py``),
computed in plain Python.

Notes on the definitions: drawdown is 1 - equity / running peak; daily returns are
the last equity of each calendar day (week, month or year for data of that period),
as percentage changes; annualisation uses 252 periods a year (365 when a sizeable share
of bars fall on weekends, 52 / 12 / 1 for weekly / monthly / yearly data); trade
returns are net of both commissions relative to the entry notional.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redfire_core.backtest.engine import BacktestResult

NAN = math.nan
# The figures a summary leads with (``redfire backtest --json``, each sweep result).
HEADLINE_FIGURES = (
    "trades",
    "return_pct",
    "buy_and_hold_return_pct",
    "equity_final",
    "equity_peak",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown_pct",
    "win_rate_pct",
    "profit_factor",
    "sqn",
    "commissions",
    "exposure_time_pct",
)


@dataclass(frozen=True)
class Statistics:
    start: datetime
    end: datetime
    duration: timedelta
    exposure_time_pct: float
    equity_final: float
    equity_peak: float
    commissions: float
    return_pct: float
    buy_and_hold_return_pct: float
    return_ann_pct: float
    volatility_ann_pct: float
    cagr_pct: float
    sharpe_ratio: float
    sortino_ratio: float
    calmar_ratio: float
    max_drawdown_pct: float
    avg_drawdown_pct: float
    max_drawdown_duration: timedelta | None
    avg_drawdown_duration: timedelta | None
    trades: int
    win_rate_pct: float
    best_trade_pct: float
    worst_trade_pct: float
    avg_trade_pct: float
    max_trade_duration: timedelta | None
    avg_trade_duration: timedelta | None
    profit_factor: float
    expectancy_pct: float
    sqn: float
    kelly_criterion: float

    def as_json(self) -> dict[str, Any]:
        """JSON-ready: numbers stay numbers (NaN and infinities become null), times ISO 8601,
        durations in the form ``"3116 days 00:00:00"``."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat().replace("+00:00", "Z")
            elif isinstance(value, timedelta):
                out[key] = format_duration(value)
            elif isinstance(value, float):
                out[key] = value if math.isfinite(value) else None
            else:
                out[key] = value
        return out


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    return f"{days} days {hours:02d}:{minutes:02d}:{secs:02d}"


def geometric_mean(returns: list[float]) -> float:
    if not returns:
        return NAN
    if any(1 + r <= 0 for r in returns):
        return 0.0
    return (
        math.exp(
            math.fsum(math.log1p(r) if False else math.log(1 + r) for r in returns) / len(returns)
        )
        - 1
    )


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values) if values else NAN


def _std(values: list[float]) -> float:
    """Sample standard deviation (ddof=1), NaN below two values."""
    if len(values) < 2:
        return NAN
    m = _mean(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1))


def _period(times: list[datetime]) -> timedelta:
    """The median spacing of the last 100 timestamps."""
    tail = times[-100:]
    gaps = [b - a for a, b in itertools.pairwise(tail)]
    return timedelta(seconds=_median([g.total_seconds() for g in gaps])) if gaps else timedelta(0)


def _median(values: list[float]) -> float:
    """``statistics.median``, without importing ``statistics`` (and ``random``, ``decimal``
    with it) on the CLI's path."""
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def _ceil(value: timedelta | None, period: timedelta) -> timedelta | None:
    """Round up to the data's resolution (days, hours, minutes or seconds)."""
    if value is None:
        return None
    for unit in (timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)):
        if period % unit == timedelta(0):
            return unit * math.ceil(value / unit)
    return timedelta(seconds=math.ceil(value.total_seconds()))


def _period_key(moment: datetime, freq_days: int) -> tuple[int, ...]:
    if freq_days == 7:  # weeks ending on Sunday
        end = moment.date() + timedelta(days=6 - moment.weekday())
        return (end.toordinal(),)
    if freq_days == 31:
        return (moment.year, moment.month)
    if freq_days == 365:
        return (moment.year,)
    return (moment.date().toordinal(),)


def _weekend_bars(days: list[int]) -> int:
    """How many of the bars (their day ordinals, sorted) fall on a Saturday or Sunday."""
    count = 0
    for day in dict.fromkeys(days):
        if (day + 6) % 7 >= 5:  # date.weekday() of an ordinal
            count += bisect.bisect_right(days, day) - bisect.bisect_left(days, day)
    return count


def _drawdowns(equity: list[float]) -> list[float]:
    """1 - equity / running peak (a plain loop beats ``accumulate(equity, max)``)."""
    peak = -math.inf
    dd: list[float] = []
    append = dd.append
    for value in equity:
        if value > peak:
            peak = value
        append(1 - value / peak if peak else 0.0)
    return dd


def compute_statistics(result: BacktestResult) -> Statistics:
    data = result.data
    times = data.times
    equity = result.equity
    closes = data.close
    n = len(equity)
    trades = result.trades

    # Drawdowns.
    dd = _drawdowns(equity)
    zeros = list(itertools.compress(range(n), map(operator.eq, dd, itertools.repeat(0.0))))
    if not zeros or zeros[-1] != n - 1:
        zeros.append(n - 1)
    durations: list[timedelta] = []
    peaks_dd: list[float] = []
    gaps = map(operator.lt, map(operator.add, zeros, itertools.repeat(1)), zeros[1:])
    for prev, cur in itertools.compress(itertools.pairwise(zeros), gaps):
        durations.append(times[cur] - times[prev])
        peaks_dd.append(max(dd[prev : cur + 1]))
    max_dd = max(dd) if dd else 0.0

    # Exposure: the bars from each trade's entry to its exit, inclusive.
    exposed = bytearray(n)
    for trade in trades:
        exposed[trade.entry_bar : trade.exit_bar + 1] = b"\x01" * (
            trade.exit_bar + 1 - trade.entry_bar
        )

    # Daily (weekly, monthly, yearly) returns.
    period = _period(times)
    freq_days = period.days
    days = list(map(datetime.toordinal, times))
    weekend_share = _weekend_bars(days) / n
    have_weekends = weekend_share > 2 / 7 * 0.6
    annual = (
        52
        if freq_days == 7
        else 12
        if freq_days == 31
        else 1
        if freq_days == 365
        else (365 if have_weekends else 252)
    )
    if freq_days in (7, 31, 365):
        last_per_period: dict[tuple[int, ...], float] = {}
        for moment, value in zip(times, equity, strict=True):
            last_per_period[_period_key(moment, freq_days)] = value
        period_values = list(last_per_period.values())
    else:  # days: the last equity of each calendar day (the key keeps the first's place)
        period_values = list(dict(zip(days, equity, strict=True)).values())
    day_returns = [b / a - 1 for a, b in itertools.pairwise(period_values)]
    gmean_day = geometric_mean(day_returns) if day_returns else 0.0
    if gmean_day != gmean_day:
        gmean_day = 0.0
    annualized = (1 + gmean_day) ** annual - 1
    if len(day_returns) >= 2:
        variance = _std(day_returns) ** 2
        inner = (variance + (1 + gmean_day) ** 2) ** annual - (1 + gmean_day) ** (2 * annual)
        volatility = math.sqrt(inner) if inner >= 0 else NAN
    else:
        volatility = NAN
    duration = times[-1] - times[0]
    years = (duration.days + duration.seconds / 86_400) / 365.25
    final = equity[-1]
    cagr = ((final / equity[0]) ** (1 / years) - 1) * 100 if years else NAN
    return_ann_pct = annualized * 100
    volatility_pct = volatility * 100
    sharpe = return_ann_pct / volatility_pct if volatility_pct else NAN
    downside = (
        math.sqrt(_mean([min(r, 0.0) ** 2 for r in day_returns])) * math.sqrt(annual)
        if day_returns
        else NAN
    )
    sortino = (
        annualized / downside
        if downside
        else (math.copysign(math.inf, annualized) if annualized else NAN)
    )
    calmar = annualized / max_dd if max_dd else NAN

    # Trades.
    pnls = [t.pnl for t in trades]
    returns = [t.return_fraction for t in trades]
    trade_durations = [times[t.exit_bar] - times[t.entry_bar] for t in trades]
    count = len(trades)
    win_rate = sum(1 for p in pnls if p > 0) / count if count else NAN
    gains = math.fsum(r for r in returns if r > 0)
    losses = abs(math.fsum(r for r in returns if r < 0))
    wins = [p for p in pnls if p > 0]
    lost = [p for p in pnls if p < 0]
    std_pnl = _std(pnls)
    ratio = _mean(wins) / -_mean(lost) if wins and lost else NAN
    kelly = win_rate - (1 - win_rate) / ratio if ratio == ratio and ratio else NAN
    start_bar = result.warmup
    buy_hold = (closes[-1] - closes[start_bar]) / closes[start_bar] * 100

    return Statistics(
        start=times[0],
        end=times[-1],
        duration=duration,
        exposure_time_pct=(n - exposed.count(0)) / n * 100,
        equity_final=final,
        equity_peak=max(equity),
        commissions=math.fsum(t.commission for t in trades),
        return_pct=(final - equity[0]) / equity[0] * 100,
        buy_and_hold_return_pct=buy_hold,
        return_ann_pct=return_ann_pct,
        volatility_ann_pct=volatility_pct,
        cagr_pct=cagr,
        sharpe_ratio=sharpe,
        sortino_ratio=sortino,
        calmar_ratio=calmar,
        max_drawdown_pct=-max_dd * 100,
        avg_drawdown_pct=-_mean(peaks_dd) * 100 if peaks_dd else NAN,
        max_drawdown_duration=_ceil(max(durations), period) if durations else None,
        avg_drawdown_duration=(
            _ceil(sum(durations, timedelta(0)) / len(durations), period) if durations else None
        ),
        trades=count,
        win_rate_pct=win_rate * 100,
        best_trade_pct=max(returns) * 100 if returns else NAN,
        worst_trade_pct=min(returns) * 100 if returns else NAN,
        avg_trade_pct=geometric_mean(returns) * 100,
        max_trade_duration=_ceil(max(trade_durations), period) if trade_durations else None,
        avg_trade_duration=(
            _ceil(sum(trade_durations, timedelta(0)) / count, period) if count else None
        ),
        profit_factor=gains / losses if losses else NAN,
        expectancy_pct=_mean(returns) * 100,
        sqn=math.sqrt(count) * _mean(pnls) / std_pnl if std_pnl else NAN,
        kelly_criterion=kelly,
    )

"""The backtest summary as an aligned text table, shared by the terminal output and the chart."""

from __future__ import annotations

from typing import Any

LABELS = (
    ("start", "Start"),
    ("end", "End"),
    ("duration", "Duration"),
    ("exposure_time_pct", "Exposure Time [%]"),
    ("equity_final", "Equity Final [$]"),
    ("equity_peak", "Equity Peak [$]"),
    ("commissions", "Commissions [$]"),
    ("return_pct", "Return [%]"),
    ("buy_and_hold_return_pct", "Buy & Hold Return [%]"),
    ("return_ann_pct", "Return (Ann.) [%]"),
    ("volatility_ann_pct", "Volatility (Ann.) [%]"),
    ("cagr_pct", "CAGR [%]"),
    ("sharpe_ratio", "Sharpe Ratio"),
    ("sortino_ratio", "Sortino Ratio"),
    ("calmar_ratio", "Calmar Ratio"),
    ("max_drawdown_pct", "Max. Drawdown [%]"),
    ("avg_drawdown_pct", "Avg. Drawdown [%]"),
    ("max_drawdown_duration", "Max. Drawdown Duration"),
    ("avg_drawdown_duration", "Avg. Drawdown Duration"),
    ("trades", "# Trades"),
    ("win_rate_pct", "Win Rate [%]"),
    ("best_trade_pct", "Best Trade [%]"),
    ("worst_trade_pct", "Worst Trade [%]"),
    ("avg_trade_pct", "Avg. Trade [%]"),
    ("max_trade_duration", "Max. Trade Duration"),
    ("avg_trade_duration", "Avg. Trade Duration"),
    ("profit_factor", "Profit Factor"),
    ("expectancy_pct", "Expectancy [%]"),
    ("sqn", "SQN"),
    ("kelly_criterion", "Kelly Criterion"),
    ("reproducibility_hash", "Reproducibility hash"),
)


def table(summary: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={v}" for k, v in summary["params"].items())
    rows = [("Strategy", f"{summary['strategy']} ({params})")]
    for key, label in LABELS:
        value = summary.get(key)
        if value is None:
            text = "-"
        elif isinstance(value, float):
            text = f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.4f}".rstrip("0").rstrip(".")
        else:
            text = str(value)
        rows.append((label, text))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {text}" for label, text in rows)

"""A self-contained HTML report of a backtest: the web console's interactive chart (equity
with the trades, drawdown; zoom, pan, crosshair), the statistics, and the static SVG of
price, equity and drawdown for readers without JavaScript. The chart's script (TradingView's
lightweight-charts and the console's chart code, built by `make console-report`) is
committed in ``assets/`` and inlined with the data, so the file opens offline."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from redfire_cli.backtest_table import table
from redfire_core.backtest.engine import BacktestResult

WIDTH = 1100
LEFT = 70
RIGHT = 20
MAX_POINTS = 1500  # per line; longer series keep each bucket's first, min, max and last
CHART_SCRIPT = Path(__file__).parent / "assets" / "backtest_report.js"


def _buckets(n: int) -> list[range]:
    if n <= MAX_POINTS:
        return [range(i, i + 1) for i in range(n)]
    size = n / (MAX_POINTS // 2)
    return [range(int(k * size), min(n, int((k + 1) * size))) for k in range(MAX_POINTS // 2)]


def _thin(values: Sequence[float]) -> list[tuple[int, float]]:
    points: list[tuple[int, float]] = []
    for bucket in _buckets(len(values)):
        if len(bucket) == 1:
            points.append((bucket[0], values[bucket[0]]))
            continue
        lo = min(bucket, key=values.__getitem__)
        hi = max(bucket, key=values.__getitem__)
        for i in sorted({bucket[0], lo, hi, bucket[-1]}):
            points.append((i, values[i]))
    return points


class _Panel:
    def __init__(self, top: float, height: float, n: int, lo: float, hi: float) -> None:
        self.top, self.height, self.n = top, height, max(n - 1, 1)
        pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
        self.lo, self.hi = lo - pad, hi + pad

    def x(self, i: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * i / self.n

    def y(self, value: float) -> float:
        return self.top + self.height * (self.hi - value) / (self.hi - self.lo)

    def frame(self, title: str, fmt: str) -> str:
        parts = [
            f'<rect x="{LEFT}" y="{self.top}" width="{WIDTH - LEFT - RIGHT}" '
            f'height="{self.height}" class="frame"/>',
            f'<text x="{LEFT + 6}" y="{self.top + 14}" class="title">{html.escape(title)}</text>',
        ]
        for k in range(5):
            value = self.lo + (self.hi - self.lo) * k / 4
            y = self.y(value)
            parts.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            )
            parts.append(
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="axis">{format(value, fmt)}</text>'
            )
        return "".join(parts)

    def line(self, points: list[tuple[int, float]], css: str) -> str:
        path = " ".join(f"{self.x(i):.1f},{self.y(v):.1f}" for i, v in points)
        return f'<polyline points="{path}" class="{css}"/>'


def _svg(result: BacktestResult) -> str:
    data = result.data
    n = len(data)
    equity = result.equity
    peak = 0.0
    drawdown: list[float] = []
    for value in equity:
        peak = max(peak, value)
        drawdown.append((value / peak - 1) * 100 if peak else 0.0)
    closes = data.close
    price = _Panel(20, 260, n, min(data.low), max(data.high))
    eq = _Panel(300, 180, n, min(equity), max(equity))
    dd = _Panel(500, 120, n, min(drawdown), 0.0)
    parts = [price.frame("Price (close) and trades", ".4g"), price.line(_thin(closes), "price")]
    for trade in result.trades[:2000]:
        x1, x2 = price.x(trade.entry_bar), price.x(trade.exit_bar)
        y1, y2 = price.y(trade.entry_price), price.y(trade.exit_price)
        won = trade.pnl > 0
        css = "win" if won else "loss"
        side = "long" if trade.size > 0 else "short"
        tip = (
            f"{side} {abs(trade.size):g} @ {trade.entry_price:.6g} → {trade.exit_price:.6g}, "
            f"PnL {trade.pnl:,.2f}"
        )
        marker = "▲" if trade.size > 0 else "▼"
        parts.append(
            f'<g class="{css}"><title>{html.escape(tip)}</title>'
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="trade"/>'
            f'<text x="{x1:.1f}" y="{y1 + 4:.1f}" class="mark">{marker}</text></g>'
        )
    parts += [eq.frame("Equity", ",.0f"), eq.line(_thin(equity), "equity")]
    parts += [dd.frame("Drawdown [%]", ".1f"), dd.line(_thin(drawdown), "drawdown")]
    times = data.times
    for k in range(6):
        i = round((n - 1) * k / 5)
        parts.append(
            f'<text x="{dd.x(i):.1f}" y="640" class="date">{times[i].date().isoformat()}</text>'
        )
    return (
        f'<svg viewBox="0 0 {WIDTH} 650" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} .sub{color:#666;margin-bottom:12px}
svg{width:100%;max-width:1100px;background:#fff;border:1px solid #ddd}
.chart{max-width:1100px;background:#fff;border:1px solid #ddd}
.frame{fill:none;stroke:#ccc}.grid{stroke:#eee}.axis{font-size:10px;text-anchor:end;fill:#666}
.date{font-size:10px;text-anchor:middle;fill:#666}.title{font-size:12px;fill:#444;font-weight:600}
polyline{fill:none;stroke-width:1.2}.price{stroke:#555}.equity{stroke:#1f6feb}
.drawdown{stroke:#d73a49}.trade{stroke-width:1.5;stroke-dasharray:3 2}
.win .trade{stroke:#2da44e}.loss .trade{stroke:#d73a49}.mark{font-size:10px;text-anchor:middle}
.win .mark{fill:#2da44e}.loss .mark{fill:#d73a49}
table{border-collapse:collapse;margin-top:16px;background:#fff}
td{border:1px solid #ddd;padding:3px 10px}
td:last-child{text-align:right;font-variant-numeric:tabular-nums}
"""


def render(result: BacktestResult, summary: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{html.escape(value.strip())}</td></tr>"
        for label, _, value in (line.partition("  ") for line in table(summary).splitlines())
    )
    params = ", ".join(f"{k}={v}" for k, v in summary["params"].items())
    title = f"{summary['strategy']} ({params})"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Backtest: {html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Backtest: {html.escape(title)}</h1>"
        f"<div class='sub'>{len(result.data)} bars, {summary['trades']} trades, return "
        f"{summary['return_pct']:.2f}%, max drawdown {summary['max_drawdown_pct']:.2f}%</div>"
        f"{_interactive(result)}<noscript>{_svg(result)}</noscript>"
        f"<table>{rows}</table></body></html>"
    )


def _interactive(result: BacktestResult) -> str:
    """The chart's container, its data (as the service stores it in S3) and its script."""
    from redfire_core.services.backtesting import result_files

    data = json.dumps(result_files(result), separators=(",", ":"))
    # "</" would end the script element early; JSON allows the escaped slash.
    data = data.replace("</", "<\\/")
    script = CHART_SCRIPT.read_text(encoding="utf-8").replace("</script", "<\\/script")
    return (
        "<div id='backtest-chart' class='chart'></div>"
        f"<script type='application/json' id='backtest-data'>{data}</script>"
        f"<script>{script}</script>"
    )


def write_chart(path: Path, result: BacktestResult, summary: dict[str, Any]) -> None:
    path.write_text(render(result, summary), encoding="utf-8")

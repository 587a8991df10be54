// Charts with TradingView's lightweight-charts: candles of stored bars, and a backtest's
// equity (with its trades as markers) above its drawdown, zoomed and panned together.
import {
  ColorType,
  createChart,
  type IChartApi,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from "lightweight-charts";

export interface EquityPoint {
  timestamp: string;
  equity: number;
  drawdown_pct: number;
}

export interface BacktestTrade {
  size: number;
  entry_time: string;
  exit_time: string;
  entry_price: number;
  exit_price: number;
  pnl: number;
  return_pct: number;
}

export interface Bar {
  timestamp: string;
  open: string;
  high: string;
  low: string;
  close: string;
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000) as UTCTimestamp;

function chart(container: HTMLElement, height: number): IChartApi {
  container.style.height = `${height}px`; // autoSize follows the container: give it one
  container.style.position = "relative";
  return createChart(container, {
    height,
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: "#ffffff" }, textColor: "#222" },
    timeScale: { timeVisible: true, secondsVisible: false },
    crosshair: { mode: 0 }, // normal: follows the pointer; zoom with the wheel, pan by dragging
  });
}

export function candles(container: HTMLElement, bars: Bar[]): IChartApi {
  container.replaceChildren();
  const api = chart(container, 360);
  const series = api.addCandlestickSeries();
  series.setData(
    bars.map((bar) => ({
      time: seconds(bar.timestamp),
      open: Number(bar.open),
      high: Number(bar.high),
      low: Number(bar.low),
      close: Number(bar.close),
    })),
  );
  api.timeScale().fitContent();
  return api;
}

/** Equity with trade markers over drawdown; both time scales follow each other. */
export function backtestChart(
  container: HTMLElement,
  equity: EquityPoint[],
  trades: BacktestTrade[],
): IChartApi[] {
  container.replaceChildren();
  const top = document.createElement("div");
  const bottom = document.createElement("div");
  top.className = "chart-equity";
  bottom.className = "chart-drawdown";
  container.append(top, bottom);
  const equityChart = chart(top, 320);
  const drawdownChart = chart(bottom, 160);
  const line = equityChart.addLineSeries({ color: "#1f6feb", lineWidth: 2, title: "equity" });
  line.setData(equity.map((p) => ({ time: seconds(p.timestamp), value: p.equity })));
  const markers: SeriesMarker<Time>[] = [];
  const labelled = trades.length <= 20; // beyond that the labels hide the curve (hover instead)
  for (const trade of trades) {
    const long = trade.size > 0;
    markers.push({
      time: seconds(trade.entry_time),
      position: long ? "belowBar" : "aboveBar",
      color: long ? "#2da44e" : "#cf222e",
      shape: long ? "arrowUp" : "arrowDown",
      text: labelled ? `${long ? "buy" : "sell"} ${Math.abs(trade.size)} @ ${trade.entry_price}` : "",
    });
    markers.push({
      time: seconds(trade.exit_time),
      position: "inBar",
      color: trade.pnl >= 0 ? "#2da44e" : "#cf222e",
      shape: "circle",
      text: labelled ? `exit ${trade.pnl >= 0 ? "+" : ""}${trade.pnl.toFixed(2)}` : "",
    });
  }
  markers.sort((a, b) => Number(a.time) - Number(b.time));
  line.setMarkers(markers);
  const area = drawdownChart.addAreaSeries({
    lineColor: "#cf222e",
    topColor: "rgba(207,34,46,0.05)",
    bottomColor: "rgba(207,34,46,0.4)",
    title: "drawdown %",
  });
  area.setData(equity.map((p) => ({ time: seconds(p.timestamp), value: p.drawdown_pct })));
  let syncing = false;
  const follow = (from: IChartApi, to: IChartApi) =>
    from.timeScale().subscribeVisibleLogicalRangeChange((range) => {
      if (syncing || !range) return;
      syncing = true;
      to.timeScale().setVisibleLogicalRange(range);
      syncing = false;
    });
  follow(equityChart, drawdownChart);
  follow(drawdownChart, equityChart);
  equityChart.timeScale().fitContent();
  return [equityChart, drawdownChart];
}

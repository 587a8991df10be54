// The interactive chart of `redfire backtest --plot`: the console's backtest chart, built as
// one classic script that the report inlines (it opens offline, from a file).
import { backtestChart, type BacktestTrade, type EquityPoint } from "./charts";

function render(): void {
  const data = document.getElementById("backtest-data");
  const target = document.getElementById("backtest-chart");
  if (!data || !target) return;
  const { equity, trades } = JSON.parse(data.textContent ?? "{}") as {
    equity: EquityPoint[];
    trades: BacktestTrade[];
  };
  backtestChart(target, equity, trades);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
else render();

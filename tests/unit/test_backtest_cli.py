"""``redfire backtest``: JSON keys, the table, the chart, and one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from redfire_cli.main import main

backtesting = pytest.importorskip("backtesting")
GOOG = Path(backtesting.__file__).parent / "test" / "GOOG.csv"

KEYS = {
    "trades", "return_pct", "buy_and_hold_return_pct", "equity_final", "equity_peak",
    "sharpe_ratio", "sortino_ratio", "calmar_ratio", "max_drawdown_pct", "win_rate_pct",
    "profit_factor", "sqn", "commissions", "exposure_time_pct", "reproducibility_hash",
}  # fmt: skip


def test_json_output_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["backtest", "--strategy", "sma_cross", "--data", str(GOOG), "--cash", "10000",
         "--commission", "0.002", "--param", "fast=10", "--param", "slow=20", "--json"]
    )  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out.keys() >= KEYS
    assert out["trades"] == 94 and isinstance(out["trades"], int)
    assert out["max_drawdown_pct"] < 0


def test_table_output_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "sma_cross", "--data", str(GOOG)]) == 0
    out = capsys.readouterr().out
    assert "Sharpe Ratio" in out and "# Trades" in out


def test_plot_writes_a_self_contained_chart(tmp_path: Path) -> None:
    chart = tmp_path / "chart.html"
    code = main(
        ["backtest", "--strategy", "sma_cross", "--data", str(GOOG), "--plot", str(chart),
         "--json"]
    )  # fmt: skip
    text = chart.read_text()
    assert code == 0
    assert "<svg" in text and "Equity" in text and "Drawdown" in text  # the static fallback
    # The interactive chart: its script and its data inline, nothing loaded from elsewhere.
    assert "id='backtest-chart'" in text and "id='backtest-data'" in text
    assert "lightweight-charts" in text
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|<iframe\b|@import|url\((?!#)", text)
    data = text.split("id='backtest-data'>", 1)[1].split("</script>", 1)[0]
    files = json.loads(data.replace("<\\/", "</"))
    assert set(files) == {"equity", "trades"} and files["equity"][0]["drawdown_pct"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope", "--data", str(GOOG)], "unknown strategy 'nope'"),
        (["--strategy", "sma_cross", "--data", str(GOOG), "--param", "x=1"], "unknown parameter"),
        (["--strategy", "sma_cross", "--data", str(GOOG), "--param", "fast"], "key=value"),
        (["--strategy", "sma_cross", "--data", "/no/such.csv"], "cannot read"),
        (["--strategy", "sma_cross", "--data", str(GOOG), "--cash", "lots"], "--cash"),
        (["--strategy", "sma_cross"], "--data"),
        (["--data", str(GOOG)], "--strategy"),
        (["--strategy", "sma_cross", "--data", str(GOOG), "--param", "fast=1e308"], "'fast'"),
        (["--strategy", "sma_cross", "--data", str(GOOG), "--param", f"slow={10**400}"], "'slow'"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_a_nonzero_exit(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["backtest", *args])
    except SystemExit as exit_:
        code = exit_.code  # argparse usage errors
    err = capsys.readouterr().err
    assert code not in (0, None)
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_csv_problems_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,open,high,low\n2026-01-01,1,2,0.5\n")
    code = main(["backtest", "--strategy", "sma_cross", "--data", str(bad)])
    assert code == 2
    assert "no Close column" in capsys.readouterr().err


def test_an_out_of_range_timestamp_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "time,open,high,low,close\n2026-01-01,1,2,0.5,1\n99999999999999999999,1,2,0.5,1\n"
    )
    code = main(["backtest", "--strategy", "sma_cross", "--data", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert "line 3" in err and "out of range" in err


def test_too_few_bars_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short = tmp_path / "short.csv"
    short.write_text("".join(GOOG.read_text().splitlines(keepends=True)[:200]))
    code = main(["backtest", "--strategy", "sma_cross", "--data", str(short), "--param",
                 "slow=500"])  # fmt: skip
    assert code == 2
    assert "too few bars" in capsys.readouterr().err


def test_the_command_runs_as_a_process_without_the_local_cloud() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "redfire_cli.main", "backtest", "--strategy", "sma_cross",
         "--data", str(GOOG), "--json"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["trades"] > 0


def test_an_unknown_option_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["backtest", "--strategy", "sma_cross", "--bogus", "1"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.strip() == "redfire backtest: error: unrecognized arguments: --bogus 1"


def test_risk_limits_on_the_command_line_deny_orders(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["backtest", "--strategy", "sma_cross", "--data", str(GOOG), "--json"]
    assert main([*args, "--limit", "max_order_qty=1000000"]) == 0
    assert json.loads(capsys.readouterr().out)["trades"] == 94
    assert main([*args, "--limit", "max_order_qty=10"]) == 0  # all-equity orders are bigger
    assert json.loads(capsys.readouterr().out)["trades"] == 0
    assert main([*args, "--limit", "max_order_qty=ten"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "max_order_qty" in err


def test_results_writes_the_equity_curve_and_the_trades_beside_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["backtest", "--strategy", "sma_cross", "--data", str(GOOG), "--json"]
    code = main([*args, "--results", str(tmp_path / "run")])
    summary = json.loads(capsys.readouterr().out)
    equity = json.loads((tmp_path / "run" / "equity.json").read_text())
    trades = json.loads((tmp_path / "run" / "trades.json").read_text())
    assert code == 0
    assert len(trades) == summary["trades"]
    assert equity[-1]["equity"] == pytest.approx(summary["equity_final"])
    assert {"entry_time", "exit_time", "entry_price", "exit_price", "pnl"} <= trades[0].keys()


def test_lot_size_sizes_on_a_fractional_grid(tmp_path: Path) -> None:
    # all equity in lots of 0.001: the closed trades' sizes are fractional, on the grid
    args = ["backtest", "--strategy", "sma_cross", "--data", str(GOOG), "--json"]
    assert main([*args, "--lot-size", "0.001", "--results", str(tmp_path / "run")]) == 0
    sizes = [
        abs(float(t["size"])) for t in json.loads((tmp_path / "run" / "trades.json").read_text())
    ]
    assert sizes and any(not size.is_integer() for size in sizes)
    assert all(abs(size * 1000 - round(size * 1000)) < 1e-6 for size in sizes)

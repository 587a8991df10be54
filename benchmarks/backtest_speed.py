"""Backtest speed: ``redfire backtest`` against backtesting.py 0.6.6 in the same run.

1. ``sma_cross`` on 200,000 one-minute bars of a seeded random walk, each run as a whole
   process: interpreter start, imports, CSV load, the run, statistics and JSON out, in
   three configurations: 10/20 with cash 100,000 and commission 0.001 (target 3x), and
   10/20 and 10/40 with cash 1,000,000 and commission 0.0002 (target 5x, issue 15).
   Ours is ``redfire backtest ... --json``; the reference is a script doing the same with
   backtesting.py (pandas ``read_csv``, ``Backtest(..., finalize_trades=True).run()``).
   Median of 3 alternating runs per configuration. Both must report the same trades.
2. A sweep of 100 (fast, slow) combinations on 20,000 bars: ours in worker processes
   (``redfire_core.backtest.sweep``), the reference ``Backtest.optimize`` (which also
   uses worker processes). Wall time of one run each, in the same process pair setup.
   Target: at least 3x faster. Then the same sweep with vectorbt 1.2.0 (the ``vectorbt``
   dependency group, installed into ``.venv-vectorbt`` by this benchmark; numba's cache
   warmed by a first run), both as whole processes. Target: ahead of vectorbt.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import REPO_ROOT, Result, Table, bench_environment, mark
from benchmarks.report import run_cli

BARS = 200_000
SWEEP_BARS = 20_000
RUNS = 3
TARGET = 3.0
SWEEP_TARGET = 3.0
# (label, fast, slow, cash, commission, target)
CONFIGURATIONS = (
    ("10/20, cash 100,000, commission 0.001", 10, 20, 100_000, 0.001, TARGET),
    ("10/20, cash 1,000,000, commission 0.0002", 10, 20, 1_000_000, 0.0002, 5.0),
    ("10/40, cash 1,000,000, commission 0.0002", 10, 40, 1_000_000, 0.0002, 5.0),
)
FAST = (5, 8, 10, 12, 15, 18, 20, 25, 30, 35)
SLOW = (40, 50, 60, 70, 80, 90, 100, 120, 150, 200)

REFERENCE = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

def SMA(values, n):
    return pd.Series(values).rolling(n).mean()

class SmaCross(Strategy):
    fast = int(sys.argv[2])
    slow = int(sys.argv[3])
    def init(self):
        self.sma1 = self.I(SMA, self.data.Close, self.fast)
        self.sma2 = self.I(SMA, self.data.Close, self.slow)
    def next(self):
        if crossover(self.sma1, self.sma2):
            self.position.close(); self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close(); self.sell()

data = pd.read_csv(sys.argv[1], index_col=0, parse_dates=True)
cash, commission = float(sys.argv[4]), float(sys.argv[5])
stats = Backtest(data, SmaCross, cash=cash, commission=commission, finalize_trades=True).run()
print(json.dumps({"trades": int(stats["# Trades"]), "return_pct": float(stats["Return [%]"])}))
"""

REFERENCE_SWEEP = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import SMA

class SmaCross(Strategy):
    fast = 10
    slow = 20
    def init(self):
        self.sma1 = self.I(SMA, self.data.Close, self.fast)
        self.sma2 = self.I(SMA, self.data.Close, self.slow)
    def next(self):
        if crossover(self.sma1, self.sma2):
            self.position.close(); self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close(); self.sell()

data = pd.read_csv(sys.argv[1], index_col=0, parse_dates=True)
started = time.perf_counter()
bt = Backtest(data, SmaCross, cash=100_000, commission=0.001, finalize_trades=True)
best = bt.optimize(fast=list(FAST), slow=list(SLOW), maximize="SQN")
seconds = time.perf_counter() - started
best_pair = [int(best._strategy.fast), int(best._strategy.slow)]
print(json.dumps({"seconds": seconds, "best": best_pair}))
"""

OURS_SWEEP = """
import json, sys, time
from redfire_core.backtest.data import load_csv
from redfire_core.backtest.engine import BacktestSettings
from redfire_core.backtest.sweep import grid, run_sweep
started = time.perf_counter()
data = load_csv(sys.argv[1])
combos = grid({"fast": FAST, "slow": SLOW})
ranked = run_sweep("sma_cross", data, combos, BacktestSettings(100_000, 0.001), maximize="sqn")
best = ranked[0][0]
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "best": [best["fast"], best["slow"]], "n": len(ranked)}))
"""


VECTORBT_SWEEP = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
import pandas as pd
import vectorbt as vbt

data = pd.read_csv(sys.argv[1], index_col=0, parse_dates=True)
close = data["Close"]
pairs = [(f, s) for f in FAST for s in SLOW]
fast = vbt.MA.run(close, window=[f for f, _ in pairs]).ma.to_numpy()
slow = vbt.MA.run(close, window=[s for _, s in pairs]).ma.to_numpy()
above = np.zeros_like(fast, dtype=bool)
below = np.zeros_like(fast, dtype=bool)
above[1:] = (fast[:-1] < slow[:-1]) & (fast[1:] > slow[1:])
below[1:] = (slow[:-1] < fast[:-1]) & (slow[1:] > fast[1:])
columns = pd.MultiIndex.from_tuples(pairs, names=["fast", "slow"])
entries = pd.DataFrame(above, index=close.index, columns=columns)
exits = pd.DataFrame(below, index=close.index, columns=columns)
portfolio = vbt.Portfolio.from_signals(
    close, entries, exits, short_entries=exits, short_exits=entries,
    fees=0.001, init_cash=100_000, freq="1min",
)
best = [int(v) for v in portfolio.trades.sqn().idxmax()]
print(json.dumps({"best": best}))
"""
VECTORBT_VENV = REPO_ROOT / ".venv-vectorbt"


def vectorbt_python() -> Path:
    """The ``vectorbt`` dependency group, as locked, in a venv of its own (built once)."""
    python = VECTORBT_VENV / "bin" / "python"
    marker = VECTORBT_VENV / ".installed"
    if marker.exists():
        return python
    uv = str(Path(sys.executable).with_name("uv"))
    requirements = VECTORBT_VENV.with_name(".venv-vectorbt-requirements.txt")
    steps = [
        [uv, "venv", "--quiet", "--python", sys.executable, str(VECTORBT_VENV)],
        [uv, "export", "--frozen", "--only-group", "vectorbt", "--no-emit-project",
         "--no-header", "--output-file", str(requirements)],
        [uv, "pip", "sync", "--quiet", "--require-hashes", "--python", str(python),
         str(requirements)],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
        if done.returncode:
            raise RuntimeError(f"{' '.join(step[:3])} failed: {done.stderr[-300:]}")
    requirements.unlink()
    marker.touch()
    return python


def write_bars(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    moment = datetime(2025, 1, 6, tzinfo=UTC).replace(tzinfo=None)
    step = timedelta(minutes=1)
    price = 100.0
    lines = [",Open,High,Low,Close,Volume"]
    for _ in range(n):
        opened = round(price * (1 + rng.gauss(0, 0.0002)), 4)
        closed = round(opened * (1 + rng.gauss(0, 0.001)), 4)
        high = round(max(opened, closed) * (1 + abs(rng.gauss(0, 0.0005))), 4)
        low = round(min(opened, closed) * (1 - abs(rng.gauss(0, 0.0005))), 4)
        lines.append(
            f"{moment:%Y-%m-%d %H:%M:%S},{opened},{high},{low},{closed},{rng.randint(1, 999)}"
        )
        moment += step
        price = closed
    path.write_text("\n".join(lines) + "\n")


def timed(args: list[str]) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    done = subprocess.run(
        args, cwd=REPO_ROOT, env=bench_environment(), capture_output=True, text=True,
        check=False, timeout=600,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(args[:4])} failed: {done.stderr[-1500:]}")
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def service_sweep(sweep_path: Path) -> tuple[float, list[int]]:
    """The same sweep through the service on a fresh local cloud: bars imported into its
    store, then ``redfire backtest sweep`` (chunks on the backtests queue, worker
    processes). Timed from the request to the ranked result; the import is not timed."""
    from benchmarks.local_cloud import LocalCloudProcess

    cloud = LocalCloudProcess()
    cloud.start()
    try:
        redfire = str(Path(sys.executable).with_name("redfire"))
        env = bench_environment()
        shutil.copy(sweep_path, cloud.workdir / "sweep.csv")
        imported = subprocess.run(
            [redfire, "data", "import", "sweep.csv", "--symbol", "BTC-USD", "--interval", "1m"],
            cwd=cloud.workdir, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if imported.returncode:
            raise RuntimeError(f"import failed: {imported.stderr[-500:]}")
        grid = [
            f"--grid=fast={','.join(map(str, FAST))}",
            f"--grid=slow={','.join(map(str, SLOW))}",
        ]
        started = time.perf_counter()
        swept = subprocess.run(
            [redfire, "backtest", "sweep", "--strategy", "sma_cross", "--symbol", "BTC-USD",
             "--interval", "1m", "--start", "2025-01-01T00:00:00Z",
             "--end", "2025-03-01T00:00:00Z", *grid, "--cash", "100000",
             "--commission", "0.001", "--maximize", "sqn", "--json"],
            cwd=cloud.workdir, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        if swept.returncode:
            raise RuntimeError(f"sweep failed: {swept.stderr[-500:]}")
        best = json.loads(swept.stdout)["results"][0]["params"]
        return seconds, [int(best["fast"]), int(best["slow"])]
    finally:
        cloud.stop()


def compare_runs(csv_path: Path) -> list[dict[str, object]]:
    """Each configuration: a warm-up of ours, then RUNS alternating runs of both."""
    python = sys.executable
    figures = []
    for label, fast, slow, cash, commission, target in CONFIGURATIONS:
        ours_cmd = [python, "-m", "redfire_cli.main", "backtest", "--strategy", "sma_cross",
                    "--data", str(csv_path), "--param", f"fast={fast}", "--param",
                    f"slow={slow}", "--cash", str(cash), "--commission", str(commission),
                    "--json"]  # fmt: skip
        ref_cmd = [python, "-c", REFERENCE, str(csv_path), str(fast), str(slow), str(cash),
                   str(commission)]  # fmt: skip
        timed(ours_cmd)  # warm the bytecode caches
        ours_times, ref_times = [], []
        ours_out: dict[str, object] = {}
        ref_out: dict[str, object] = {}
        for _ in range(RUNS):
            seconds, ours_out = timed(ours_cmd)
            ours_times.append(seconds)
            seconds, ref_out = timed(ref_cmd)
            ref_times.append(seconds)
        ours_s, ref_s = statistics.median(ours_times), statistics.median(ref_times)
        ratio = ref_s / ours_s
        same_trades = ours_out["trades"] == ref_out["trades"]
        figures.append(
            {
                "label": label, "ours": ours_s, "ref": ref_s, "ratio": ratio,
                "target": target, "met": ratio >= target and same_trades,
                "ours_out": ours_out, "ref_out": ref_out,
            }
        )  # fmt: skip
    return figures


def run() -> Result:
    python = sys.executable
    constants = f"FAST = {FAST!r}\nSLOW = {SLOW!r}\n"
    with tempfile.TemporaryDirectory(prefix="redfire-bt-") as scratch:
        csv_path = Path(scratch) / "bars.csv"
        sweep_path = Path(scratch) / "sweep.csv"
        write_bars(csv_path, BARS)
        write_bars(sweep_path, SWEEP_BARS, seed=11)
        figures = compare_runs(csv_path)
        ours_sweep_wall, ours_sweep = timed([python, "-c", constants + OURS_SWEEP, str(sweep_path)])
        ref_sweep = timed([python, "-c", constants + REFERENCE_SWEEP, str(sweep_path)])[1]
        try:
            vbt_cmd = [str(vectorbt_python()), "-c", constants + VECTORBT_SWEEP, str(sweep_path)]
            timed(vbt_cmd)  # compiles numba's functions into its cache
            vbt_wall, vbt_out = timed(vbt_cmd)
            vbt_note = f"vectorbt sweep best (fast, slow) by SQN: {vbt_out['best']}"
        except Exception as error:  # the figure is reported missing, with the reason
            vbt_wall, vbt_note = math.nan, f"vectorbt sweep not measured: {error}"
        try:
            service_seconds, service_best = service_sweep(sweep_path)
            service_note = f"sweep through the service: best {service_best}"
        except Exception as error:  # the figure is reported missing, with the reason
            service_seconds, service_note = math.nan, f"service sweep not measured: {error}"
    sweep_ratio = float(ref_sweep["seconds"]) / float(ours_sweep["seconds"])  # type: ignore[arg-type]
    vbt_ratio = vbt_wall / ours_sweep_wall
    sweep_met = sweep_ratio >= SWEEP_TARGET and not vbt_ratio < 1  # NaN: not measured
    met = all(f["met"] for f in figures) and sweep_met
    rows = [
        [
            f"sma_cross {f['label']}, {BARS:,} 1-minute bars",
            f"{f['ours']:.2f}",
            f"{f['ref']:.2f}",
            f"{f['ratio']:.1f}x (target {f['target']:.0f}x)",
            mark(bool(f["met"])),
        ]
        for f in figures
    ]
    return Result(
        name="backtest_speed",
        title="Backtest speed against backtesting.py 0.6.6",
        status="met" if met else "missed",
        summary=f"sma_cross on {BARS:,} bars: "
        + ", ".join(f"{str(f['label']).split(',')[0]} {f['ratio']:.1f}x" for f in figures)
        + f" (first at cash 100,000, then 1,000,000); 100-combination sweep {sweep_ratio:.1f}x"
        f" Backtest.optimize, {vbt_ratio:.1f}x vectorbt",
        target=f">= {TARGET:.0f}x (10/20 at cash 100,000) and >= 5x (10/20 and 10/40 at cash "
        f"1,000,000, commission 0.0002) faster than backtesting.py, whole process, same "
        f"trade count; sweep >= {SWEEP_TARGET:.0f}x Backtest.optimize and ahead of vectorbt",
        reference="backtesting.py 0.6.6 (pandas, numpy) in the same run",
        method=[__doc__.strip().splitlines()[0] if __doc__ else ""],
        tables=[
            Table(
                "Whole process, median of 3",
                ["job", "redfire (s)", "backtesting.py (s)", "ratio", "met"],
                [
                    *rows,
                    [
                        f"sweep of {len(FAST) * len(SLOW)} combinations, {SWEEP_BARS:,} bars",
                        f"{float(ours_sweep['seconds']):.2f}",  # type: ignore[arg-type]
                        f"{float(ref_sweep['seconds']):.2f}",  # type: ignore[arg-type]
                        f"{sweep_ratio:.1f}x (target {SWEEP_TARGET:.0f}x)",
                        mark(sweep_met),
                    ],
                    [
                        "the same sweep against vectorbt 1.2.0 (numba cache warm), whole processes",
                        f"{ours_sweep_wall:.2f}",
                        f"{vbt_wall:.2f} (vectorbt)",
                        f"{vbt_ratio:.1f}x",
                        mark(not vbt_ratio < 1) if vbt_ratio == vbt_ratio else "info",
                    ],
                    [
                        "the same sweep as a service on the local cloud (SQS chunks of 4, "
                        "worker processes, bars read from its store)",
                        f"{service_seconds:.2f}",
                        f"{float(ref_sweep['seconds']):.2f}",  # type: ignore[arg-type]
                        f"{float(ref_sweep['seconds']) / service_seconds:.1f}x",  # type: ignore[arg-type]
                        "info",
                    ],
                ],
            )
        ],
        notes=[
            *(
                f"{f['label']}: trades redfire {f['ours_out']['trades']}, backtesting.py "  # type: ignore[index]
                f"{f['ref_out']['trades']}; return {f['ours_out']['return_pct']:.4f}% vs "  # type: ignore[index]
                f"{f['ref_out']['return_pct']:.4f}%"  # type: ignore[index]
                for f in figures
            ),
            f"sweep best (fast, slow) by SQN: redfire {ours_sweep['best']}, "
            f"backtesting.py {ref_sweep['best']}",
            "the library sweep runs in local worker processes (fork), as backtesting.py's "
            "optimize does; the service sweep posts to a local cloud (`redfire backtest "
            "sweep`), whose backtests queue feeds one worker process per core",
            vbt_note,
            service_note,
            "Why the 5x goal at cash 1,000,000 can be missed: a whole run is about 0.75 s of "
            "CPU and half of it is reading the CSV, mostly float() on a million fields, which "
            "pure Python cannot do faster (numpy is not in the layers and costs 0.6 s to "
            "import); the reproducibility hash over the code that ran adds about 55 ms. The "
            "ratios move by about 10% between runs on a shared 2-core machine.",
        ],
    )


if __name__ == "__main__":
    run_cli(run)

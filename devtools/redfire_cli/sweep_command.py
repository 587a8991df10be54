"""``redfire backtest sweep``: run a parameter grid as a sweep on the service (the local
cloud, or a deployed stage's API), show its progress and print the ranking.

The API and token come from ``--api-url`` / ``REDFIRE_API_URL`` and ``REDFIRE_TOKEN``,
else from the running local cloud's ``.redfire/dev.env``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.5
BAR_WIDTH = 30
SHOWN_RESULTS = 10


class SweepError(Exception):
    """Printed as one line; exit status 2 for bad input, 1 for a failed sweep or API."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redfire backtest sweep",
        description="Backtest every combination of a parameter grid in parallel workers "
        "and rank them (docs/backtesting.md).",
    )
    parser.add_argument("--strategy", required=True, help="e.g. sma_cross")
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--interval", required=True, help="e.g. 1m, 1d")
    parser.add_argument("--start", required=True, help="ISO 8601")
    parser.add_argument("--end", required=True, help="ISO 8601, exclusive")
    parser.add_argument(
        "--grid", action="append", required=True, metavar="KEY=V1,V2,...", help="repeat"
    )
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="fixed parameter")
    parser.add_argument("--constraint", help="e.g. 'fast < slow'")
    parser.add_argument("--maximize", default="sqn", help="statistic to rank by (default: sqn)")
    parser.add_argument("--cash", default="10000")
    parser.add_argument("--commission", default="0")
    parser.add_argument("--slippage-bps", default="0")
    parser.add_argument("--chunk-size", type=int, help="combinations per worker")
    parser.add_argument("--api-url", help="default: REDFIRE_API_URL or the local cloud")
    parser.add_argument("--json", action="store_true", help="print the finished sweep as JSON")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait")

    def error(message: str) -> Any:
        raise SweepError(message)

    parser.error = error  # type: ignore[method-assign]
    return parser


def _value(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_grid(pairs: Sequence[str]) -> dict[str, list[int | float | str]]:
    grid: dict[str, list[int | float | str]] = {}
    for pair in pairs:
        key, sep, values = pair.partition("=")
        options = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key.strip() or not options:
            raise SweepError(f"--grid wants key=v1,v2,..., got {pair!r}")
        grid[key.strip()] = [_value(v) for v in options]
    return grid


def _connection(api_url: str | None) -> tuple[str, str]:
    url = api_url or os.environ.get("REDFIRE_API_URL")
    token = os.environ.get("REDFIRE_TOKEN")
    if not (url and token):
        from redfire_cli.localcloud import dev_env

        values = dev_env.read(dev_env.dev_env_path(Path.cwd()))
        url = url or values.get("REDFIRE_API_URL")
        token = token or values.get("REDFIRE_TOKEN")
    if not (url and token):
        raise SweepError(
            "no API: start the local cloud (`make dev`) or set REDFIRE_API_URL and REDFIRE_TOKEN"
        )
    return url.rstrip("/"), token


def _call(method: str, url: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            problem = json.loads(error.read())
        except ValueError:
            raise SweepError(f"API answered {error.code}", 1) from None
        detail = problem.get("detail", "")
        for item in problem.get("errors") or []:
            detail = f"{item.get('field')}: {item.get('message')}"
        raise SweepError(f"{problem.get('code', error.code)}: {detail}") from None
    except urllib.error.URLError as error:
        raise SweepError(f"cannot reach {url}: {error.reason}", 1) from None


def _progress(sweep: dict[str, Any]) -> str:
    done = int(BAR_WIDTH * sweep["progress_pct"] / 100)
    bar = "#" * done + "-" * (BAR_WIDTH - done)
    return (
        f"\r[{bar}] {sweep['progress_pct']:5.1f}%  "
        f"{sweep['completed_combinations']}/{sweep['combinations']} combinations, "
        f"{sweep['completed_chunks']}/{sweep['chunks']} chunks"
    )


def ranking(sweep: dict[str, Any]) -> str:
    maximize = sweep["maximize"]
    columns = [maximize] + [c for c in ("return_pct", "sharpe_ratio", "trades") if c != maximize]
    rows = [["#", "params", *columns]]
    for n, result in enumerate(sweep["results"][:SHOWN_RESULTS], start=1):
        params = ", ".join(f"{k}={v}" for k, v in result["params"].items())
        figures = [result["statistics"].get(c) for c in columns]
        shown = ["-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)
                 for v in figures]  # fmt: skip
        rows.append([str(n), params, *shown])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     for row in rows)  # fmt: skip


def run(argv: Sequence[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        body: dict[str, Any] = {
            "strategy": args.strategy,
            "symbol": args.symbol,
            "interval": args.interval,
            "start": args.start,
            "end": args.end,
            "grid": parse_grid(args.grid),
            "maximize": args.maximize,
            "cash": args.cash,
            "commission": args.commission,
            "slippage_bps": args.slippage_bps,
        }
        if args.param:
            body["params"] = {k: _value(v) for k, v in (p.split("=", 1) for p in args.param)}
        if args.constraint:
            body["constraint"] = args.constraint
        if args.chunk_size:
            body["chunk_size"] = args.chunk_size
        url, token = _connection(args.api_url)
        sweep = _call("POST", f"{url}/v1/backtests/sweeps", token, body)
        deadline = time.monotonic() + args.timeout
        while sweep["status"] == "running":
            sys.stderr.write(_progress(sweep))
            sys.stderr.flush()
            if time.monotonic() > deadline:
                raise SweepError(f"sweep {sweep['id']} still running after {args.timeout} s", 1)
            time.sleep(POLL_SECONDS)
            sweep = _call("GET", f"{url}/v1/backtests/sweeps/{sweep['id']}", token)
        sys.stderr.write(_progress(sweep) + "\n")
    except SweepError as error:
        print(f"redfire backtest sweep: error: {error}", file=sys.stderr)
        return error.status
    if args.json:
        print(json.dumps(sweep))
        return 0 if sweep["status"] == "completed" else 1
    print(f"sweep {sweep['id']}: {sweep['status']}, ranked by {sweep['maximize']}")
    print(ranking(sweep))
    return 0 if sweep["status"] == "completed" else 1

"""``redfire backtest``: run a strategy over a CSV file (or the market data store) and
print its statistics. Imports stay lean: no pandas, pydantic or FastAPI on this path."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from redfire_cli.backtest_table import table
from redfire_core.backtest.data import BarData, DataError, load_csv, parse_time
from redfire_core.backtest.engine import BacktestSettings, run_backtest
from redfire_core.backtest.stats import HEADLINE_FIGURES, Statistics, compute_statistics
from redfire_core.strategies import StrategyError, StrategyFailed, probe, strategy_named

JSON_ORDER = ("strategy", "params", *HEADLINE_FIGURES, "reproducibility_hash")


class UsageError(ValueError):
    """Bad command-line input: printed as one line, exit status 2."""


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param wants key=value, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def risk_limits(pairs: Sequence[str]) -> Any:
    """``--limit key=value`` overrides of the default risk limits; None without any (the
    risk engine is imported only then)."""
    if not pairs:
        return None
    from redfire_core.domain.errors import DomainError
    from redfire_core.domain.risk import RiskLimits, parse_limits

    try:
        return RiskLimits().with_overrides(parse_limits(parse_params(pairs)))
    except DomainError as error:
        raise UsageError(f"--limit: {error.message}") from None


def load_data(args: Any) -> BarData:
    if args.data:
        return load_csv(args.data)
    if not (args.symbol and args.interval and args.start and args.end):
        raise UsageError("give --data FILE.csv, or --symbol, --interval, --start and --end")
    return load_from_store(args.symbol, args.interval, args.start, args.end)


def load_from_store(symbol: str, interval: str, start: str, end: str) -> BarData:
    """Bars from the market data store (the local cloud's or AWS's, per AWS_* settings)."""
    try:
        begin, finish = parse_time(start), parse_time(end)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from botocore.exceptions import BotoCoreError, ClientError

    from redfire_core.services.backtesting import DataRange, load_bars
    from redfire_core.services.market_data import market_data_store

    try:
        return load_bars(market_data_store(), DataRange(symbol, interval, begin, finish))
    except (BotoCoreError, ClientError, KeyError) as exc:
        raise DataError("DATA_UNREADABLE", f"cannot read the market data store: {exc}") from None


def report(stats: Statistics, strategy: str, params: dict[str, Any], digest: str) -> dict[str, Any]:
    body = stats.as_json()
    out: dict[str, Any] = {"strategy": strategy, "params": params}
    out.update({key: body[key] for key in JSON_ORDER if key in body})
    out["reproducibility_hash"] = digest
    out.update({key: value for key, value in body.items() if key not in out})
    return out


def run(args: Any) -> int:
    try:
        params = parse_params(args.param or [])
        strategy = strategy_named(args.strategy)
        resolved = strategy.resolve_parameters(params)
        probe(strategy, resolved)
        settings = BacktestSettings(
            _number("--cash", args.cash),
            _number("--commission", args.commission),
            _number("--slippage-bps", args.slippage_bps),
            risk_limits=risk_limits(args.limit or []),
            lot_size=_number("--lot-size", getattr(args, "lot_size", "1")),
        )
        data = load_data(args)
        result = run_backtest(strategy, data, resolved, settings)
        stats = compute_statistics(result)
        summary = report(stats, strategy.name, result.params, result.reproducibility_hash)
        if args.plot:
            from redfire_cli.backtest_chart import write_chart

            write_chart(Path(args.plot), result, summary)
        if getattr(args, "results", None):
            write_results(Path(args.results), result)
    except StrategyFailed as exc:
        # One line naming the bar; the strategy's traceback only when asked for.
        if getattr(args, "debug", False):
            import traceback

            traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
        at = f" at bar {exc.as_json()['bar_time']}" if exc.bar_time else ""
        print(f"redfire backtest: error: {exc.code}{at}: {exc}", file=sys.stderr)
        return 1
    except (StrategyError, DataError, UsageError) as exc:
        print(f"redfire backtest: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"redfire backtest: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, allow_nan=False))
    else:
        print(table(summary))
    return 0


def write_results(folder: Path, result: Any) -> None:
    """The equity curve and the closed trades, as the service stores them in S3."""
    from redfire_core.services.backtesting import result_files

    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in result_files(result).items():
        (folder / f"{name}.json").write_text(json.dumps(rows, allow_nan=False) + "\n")


def _number(option: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{option} wants a number, got {text!r}") from None

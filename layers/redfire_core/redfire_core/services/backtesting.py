"""Backtests and parameter sweeps as a service.

``request_backtest`` stores a request with its ``BacktestRequested`` event; the worker
(``run_requested``) reads the bars from the market data store, reuses a finished
backtest with the same reproducibility hash or runs the engine, writes the equity
curve and trades to S3 and the statistics to DynamoDB, and announces
``BacktestCompleted``. ``request_sweep`` stores a grid with one ``SweepChunkRequested``
per chunk; each worker runs its chunk once (``run_chunk``), and the worker that
records the last chunk ranks everything and announces ``SweepCompleted``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from redfire_core.adapters.trading_store import ConflictError
from redfire_core.backtest.data import BarData, DataError
from redfire_core.backtest.engine import (
    BacktestResult,
    BacktestSettings,
    reproducibility_hash,
    run_backtest,
)
from redfire_core.backtest.stats import HEADLINE_FIGURES, Statistics, compute_statistics
from redfire_core.backtest.sweep import grid
from redfire_core.domain.bars import INTERVALS
from redfire_core.domain.errors import DomainError
from redfire_core.domain.money import ascii_decimal
from redfire_core.domain.quotas import Quotas
from redfire_core.events import (
    BacktestCompleted,
    BacktestRequested,
    BacktestView,
    Envelope,
    SweepChunkRequested,
    SweepCompleted,
    iso,
    new_id,
    parse_iso,
)
from redfire_core.strategies import (
    Strategy,
    StrategyError,
    StrategyFailed,
    probe,
    resolve_strategy,
)
from redfire_core.strategies.code import check_loaded

if TYPE_CHECKING:
    from redfire_core.adapters.backtest_store import BacktestStore, Sweep
    from redfire_core.adapters.market_data import MarketDataStore
    from redfire_core.domain.risk import RiskLimits

MAX_BARS = 200_000
MAX_COMBINATIONS = 5_000
# With the sweep record and its two quota counters, one TransactWriteItems (100 at most).
MAX_CHUNKS = 90
DEFAULT_CHUNK_SIZE = 4
TOP_RESULTS = 20  # ranked results kept on the sweep record
# Numeric statistics a sweep can rank by (annotations are strings here).
RANKABLE = frozenset(
    name for name, kind in Statistics.__annotations__.items() if kind in ("float", "int")
)


@dataclass(frozen=True)
class DataRange:
    symbol: str
    interval: str
    start: datetime
    end: datetime


def _field_error(error: StrategyError | DataError, field: str) -> DomainError:
    return DomainError(error.code, str(error), field)


def _decimal(value: object, field: str, code: str) -> Decimal:
    try:
        number = ascii_decimal(str(value))
    except InvalidOperation:
        raise DomainError(code, f"{field} must be a decimal number, got {value!r}", field) from None
    if not number.is_finite():
        raise DomainError(code, f"{field} must be finite", field)
    return number


def check_request(body: Mapping[str, Any]) -> tuple[type[Strategy], dict[str, Any], DataRange]:
    """The strategy class, its resolved parameters and the data range; DomainError naming
    the field at fault otherwise."""
    strategy, params = resolve_strategy(str(body["strategy"]), dict(body.get("params") or {}))
    interval = str(body["interval"])
    if interval not in INTERVALS:
        raise DomainError(
            "BACKTEST_INVALID_INTERVAL",
            f"unknown interval {interval!r} (known: {', '.join(INTERVALS)})",
            "interval",
        )
    try:
        start, end = parse_iso(str(body["start"])), parse_iso(str(body["end"]))
    except ValueError:
        raise DomainError(
            "BACKTEST_INVALID_RANGE", "start and end must be ISO 8601 times", "start"
        ) from None
    if not start < end:
        raise DomainError("BACKTEST_INVALID_RANGE", "start must be before end", "end")
    return strategy, params, DataRange(str(body["symbol"]), interval, start, end)


def settings_of(body: Mapping[str, Any]) -> tuple[BacktestSettings, dict[str, str]]:
    """Engine settings, and the decimals as the request gave them (what views show)."""
    cash = _decimal(body.get("cash", "10000"), "cash", "BACKTEST_INVALID_CASH")
    commission = _decimal(body.get("commission", "0"), "commission", "BACKTEST_INVALID_COMMISSION")
    slippage = _decimal(body.get("slippage_bps", "0"), "slippage_bps", "BACKTEST_INVALID_SLIPPAGE")
    try:  # the engine computes in floats; the request keeps the decimals it was given
        settings = BacktestSettings(float(cash), float(commission), float(slippage))
    except DataError as error:
        field = {"BACKTEST_INVALID_SLIPPAGE": "slippage_bps"}.get(
            error.code, error.code.removeprefix("BACKTEST_INVALID_").lower()
        )
        raise _field_error(error, field) from None
    return settings, {
        "cash": str(cash),
        "commission": str(commission),
        "slippage_bps": str(slippage),
    }


def account_limits(account_id: str, symbol: str) -> RiskLimits:
    """The account's effective limits for ``symbol``: stage defaults, then its overrides."""
    # Imported here: boto3 and the risk review stay off the backtest worker's import.
    from redfire_core.adapters.risk_store import RiskStore  # lazy: boto3
    from redfire_core.config import get_settings  # lazy: with the risk store
    from redfire_core.services.risk_review import effective_limits  # lazy: boto3

    _, limits = effective_limits(get_settings(), RiskStore().get_overrides(account_id), symbol)
    return limits


def instrument_lot(symbol: str) -> float:
    """The lot size of ``symbol``'s instrument (1 unit when none is defined): a backtest
    sizes on the grid a live instance would."""
    from redfire_core.adapters.trading_store import TradingStore  # lazy: boto3
    from redfire_core.services.instruments import instrument_cache  # lazy: with the store

    instrument = instrument_cache(TradingStore()).get(symbol)
    return float(instrument.lot_size) if instrument is not None else 1.0


def load_bars(store: MarketDataStore, data: DataRange) -> BarData:
    """The stored bars of ``data`` as engine columns; DataError when there are none."""
    bars = store.read_bars(data.symbol, data.interval, data.start, data.end, MAX_BARS + 1)
    if not bars:
        raise DataError(
            "DATA_EMPTY",
            f"no {data.interval} bars of {data.symbol} between "
            f"{iso(data.start)} and {iso(data.end)} in the store",
        )
    if len(bars) > MAX_BARS:
        raise DataError("DATA_TOO_LONG", f"more than {MAX_BARS} bars: narrow the range")
    return BarData.of_bars(bars)


# --- single backtests ---------------------------------------------------------------------


def request_backtest(
    store: BacktestStore,
    account_id: str,
    body: Mapping[str, Any],
    *,
    correlation_id: str,
    now: datetime,
    quotas: Quotas | None = None,
) -> BacktestView:
    """Store the request with its event; it counts as one combination of the account's
    day (``QuotaExceeded`` past the quota)."""
    strategy, params, data = check_request(body)
    _, money = settings_of(body)
    view = BacktestView(
        id=new_id(),
        status="queued",
        strategy=strategy.name,
        params=params,
        symbol=data.symbol,
        interval=data.interval,
        start=iso(data.start),
        end=iso(data.end),
        **money,
        apply_risk_limits=bool(body.get("apply_risk_limits", False)),
        created_at=iso(now),
    )
    event = Envelope.wrap(
        BacktestRequested(backtest=view),
        account_id=account_id,
        correlation_id=correlation_id,
        occurred_at=now,
    )
    store.create_backtest(account_id, view, event, quotas or Quotas(), now)
    return view


def run_requested(
    store: BacktestStore, bars: MarketDataStore, event: Envelope, now: datetime
) -> str:
    """Work one ``BacktestRequested``; redeliveries of a finished one change nothing."""
    account_id = event.account_id or ""
    requested = BacktestRequested.model_validate(event.payload).backtest
    found = store.get_backtest(account_id, requested.id)
    if found is None:
        return "unknown"
    view, version = found
    if view.status in ("completed", "failed"):
        return "already-done"
    finished = _finish(store, bars, account_id, view)
    finished = finished.model_copy(update={"completed_at": iso(now)})
    done = Envelope.wrap(
        BacktestCompleted(backtest=finished),
        account_id=account_id,
        correlation_id=event.correlation_id,
        causation_id=event.id,
        occurred_at=now,
    )
    try:
        store.save_backtest(account_id, finished, version, done)
    except ConflictError:
        return "raced"  # another delivery of the same request finished it first
    return finished.status


def _finish(
    store: BacktestStore, bars: MarketDataStore, account_id: str, view: BacktestView
) -> BacktestView:
    """The backtest completed (run, or reused) or failed with the reason."""
    try:
        strategy, params, data = check_request(view.model_dump())
        check_loaded(strategy)  # never a result (or a reused one) for code not loaded
        settings, _ = settings_of(view.model_dump())
        settings = replace(settings, lot_size=instrument_lot(data.symbol))
        if view.apply_risk_limits:
            limits = account_limits(account_id, data.symbol)
            settings = replace(settings, risk_limits=limits)
            view = view.model_copy(update={"risk_limits": limits.as_strings()})
        columns = load_bars(bars, data)
        digest = reproducibility_hash(columns, strategy, params, settings)
        earlier = store.finished_with_hash(account_id, digest)
        if earlier is not None and earlier.id != view.id:
            return view.model_copy(
                update={
                    "status": "completed",
                    "statistics": earlier.statistics,
                    "reproducibility_hash": digest,
                    "reused_from": earlier.reused_from or earlier.id,
                }
            )
        result = run_backtest(strategy, columns, params, settings)
    except (DomainError, StrategyError, DataError) as error:
        return view.model_copy(update={"status": "failed", "error": failure_of(error)})
    statistics = compute_statistics(result).as_json()
    store.put_results(account_id, view.id, result_files(result))
    return view.model_copy(
        update={
            "status": "completed",
            "statistics": statistics,
            "reproducibility_hash": result.reproducibility_hash,
        }
    )


def failure_of(error: DomainError | StrategyError | DataError) -> dict[str, Any]:
    """``{code, message}`` of a failed run; ``bar_time`` too when the strategy raised."""
    if isinstance(error, StrategyFailed):
        return error.as_json()
    return {"code": error.code, "message": str(error)}


def result_files(result: BacktestResult) -> dict[str, Any]:
    """The equity curve (with drawdown) and the closed trades, as stored in S3."""
    times = result.data.times
    peak = -math.inf
    equity = []
    for moment, value in zip(times, result.equity, strict=True):
        peak = max(peak, value)
        drawdown = 0.0 if peak <= 0 else (value / peak - 1) * 100
        equity.append({"timestamp": iso(moment), "equity": value, "drawdown_pct": drawdown})
    trades = [
        {
            "size": trade.size,
            "entry_time": iso(times[trade.entry_bar]),
            "exit_time": iso(times[trade.exit_bar]),
            "entry_price": trade.entry_price,
            "exit_price": trade.exit_price,
            "pnl": trade.pnl,
            "return_pct": trade.return_fraction * 100,
            "commission": trade.commission,
        }
        for trade in result.trades
    ]
    return {"equity": equity, "trades": trades}


# --- sweeps ---------------------------------------------------------------------------------

_TERM = re.compile(
    r"^\s*([A-Za-z_]\w*|-?\d+(?:\.\d+)?)\s*(<=|>=|==|!=|<|>)\s*"
    r"([A-Za-z_]\w*|-?\d+(?:\.\d+)?)\s*$"
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

Constraint = Callable[[Mapping[str, Any]], bool]


def parse_constraint(text: str, names: set[str]) -> Constraint:
    """``"fast < slow and slow <= 50"``: comparisons of parameters and numbers joined by
    ``and`` (no code is evaluated). DomainError naming the term it cannot read."""
    terms: list[tuple[str, Callable[[Any, Any], bool], str]] = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _TERM.match(part)
        if match is None:
            raise DomainError(
                "SWEEP_INVALID_CONSTRAINT",
                f"cannot read {part!r}: use comparisons like 'fast < slow' joined by 'and'",
                "constraint",
            )
        left, op, right = match.groups()
        for side in (left, right):
            if (side[0].isalpha() or side[0] == "_") and side not in names:
                raise DomainError(
                    "SWEEP_INVALID_CONSTRAINT",
                    f"{side!r} is not a parameter of the grid",
                    "constraint",
                )
        terms.append((left, _COMPARE[op], right))

    def value(token: str, combination: Mapping[str, Any]) -> Any:
        return combination[token] if token in combination else float(token)

    def allowed(combination: Mapping[str, Any]) -> bool:
        return all(cmp(value(a, combination), value(b, combination)) for a, cmp, b in terms)

    return allowed


def plan_sweep(
    body: Mapping[str, Any],
) -> tuple[type[Strategy], list[dict[str, Any]], DataRange, str, int]:
    """Strategy, the valid combinations, data range, statistic to maximize, chunk size."""
    strategy, _, data = check_request({**body, "params": {}})
    values = body.get("grid")
    if not isinstance(values, Mapping) or not values:
        raise DomainError("SWEEP_INVALID_GRID", "grid must map parameters to lists", "grid")
    for name, options in values.items():
        if name not in strategy.parameters:
            known = ", ".join(sorted(strategy.parameters))
            raise DomainError(
                "STRATEGY_UNKNOWN_PARAMETER",
                f"unknown parameter {name!r} for strategy {strategy.name!r} (known: {known})",
                f"grid.{name}",
            )
        if not isinstance(options, list) or not options:
            raise DomainError(
                "SWEEP_INVALID_GRID", f"grid.{name} must be a non-empty list", f"grid.{name}"
            )
    fixed = dict(body.get("params") or {})
    constraint_text = body.get("constraint")
    constraint = parse_constraint(str(constraint_text), set(values)) if constraint_text else None
    size = math.prod(len(options) for options in values.values())
    if size > MAX_COMBINATIONS:
        raise DomainError(
            "SWEEP_TOO_LARGE", f"{size} combinations; at most {MAX_COMBINATIONS}", "grid"
        )
    combinations = []
    for combination in grid(values):
        try:
            resolved = strategy.coerce_parameters({**fixed, **combination})
        except StrategyError as error:
            raise _field_error(error, "grid") from None
        try:
            strategy.check_parameters(resolved)
            probe(strategy, resolved)
        except StrategyError:
            continue  # a combination the strategy refuses (e.g. lower >= upper) is skipped
        if constraint is None or constraint(resolved):
            combinations.append(resolved)
    if not combinations:
        raise DomainError(
            "SWEEP_EMPTY", "no combination of the grid passes the constraint", "constraint"
        )
    maximize = str(body.get("maximize") or "sqn")
    if maximize not in RANKABLE:
        raise DomainError(
            "SWEEP_INVALID_STATISTIC",
            f"cannot rank by {maximize!r} (one of: {', '.join(sorted(RANKABLE))})",
            "maximize",
        )
    chunk_size = int(body.get("chunk_size") or DEFAULT_CHUNK_SIZE)
    chunk_size = max(chunk_size, math.ceil(len(combinations) / MAX_CHUNKS))
    return strategy, combinations, data, maximize, chunk_size


def request_sweep(
    store: BacktestStore,
    account_id: str,
    body: Mapping[str, Any],
    *,
    correlation_id: str,
    now: datetime,
    quotas: Quotas | None = None,
) -> Sweep:
    """Store the sweep with one event per chunk; it holds one of the account's concurrent
    sweeps until it finishes and its combinations count against the account's day
    (``QuotaExceeded`` past either quota)."""
    strategy, combinations, data, maximize, chunk_size = plan_sweep(body)
    _, money = settings_of(body)
    sweep_id = new_id()
    request = {
        "strategy": strategy.name,
        "grid": dict(body["grid"]),
        "params": dict(body.get("params") or {}),
        "constraint": body.get("constraint"),
        "symbol": data.symbol,
        "interval": data.interval,
        "start": iso(data.start),
        "end": iso(data.end),
        **money,
        "maximize": maximize,
        "chunk_size": chunk_size,
    }
    events = [
        Envelope.wrap(
            SweepChunkRequested(
                sweep_id=sweep_id, chunk=n, combinations=combinations[i : i + chunk_size]
            ),
            account_id=account_id,
            correlation_id=correlation_id,
            occurred_at=now,
        )
        for n, i in enumerate(range(0, len(combinations), chunk_size))
    ]
    store.create_sweep(
        account_id, sweep_id, request, len(combinations), iso(now), events, quotas or Quotas(), now
    )
    created = store.get_sweep(account_id, sweep_id)
    assert created is not None
    return created


_CHUNK_DATA: dict[str, BarData] = {}  # one sweep's bars, kept while this container works it


def run_chunk(store: BacktestStore, bars: MarketDataStore, event: Envelope, now: datetime) -> str:
    """Run one chunk (unless it is already recorded), then finish the sweep if it was the
    last one. A worker that crashes loses only its own chunk, which is redelivered."""
    account_id = event.account_id or ""
    chunk = SweepChunkRequested.model_validate(event.payload)
    sweep = store.get_sweep(account_id, chunk.sweep_id)
    if sweep is None:
        return "unknown"
    outcome = "already-done"
    if not store.has_chunk(account_id, sweep.id, chunk.chunk):
        results = _run_combinations(bars, sweep, chunk.combinations)
        recorded = store.record_chunk(account_id, sweep.id, chunk.chunk, results)
        outcome = "recorded" if recorded else "raced"
    finish_sweep(store, account_id, sweep.id, event, now)
    return outcome


def _run_combinations(
    bars: MarketDataStore, sweep: Sweep, combinations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    request = sweep.request
    # Kept per combination: the headline figures and the one ranked by, so that a
    # chunk's results stay small enough for one DynamoDB item.
    kept = tuple(dict.fromkeys((*HEADLINE_FIGURES, str(request["maximize"]))))
    try:
        strategy, _, data = check_request({**request, "params": {}})
        check_loaded(strategy)
        settings, _ = settings_of(request)
        settings = replace(settings, lot_size=instrument_lot(data.symbol))
        columns = _CHUNK_DATA.get(sweep.id)
        if columns is None:
            columns = load_bars(bars, data)
            _CHUNK_DATA.clear()
            _CHUNK_DATA[sweep.id] = columns
    except (DomainError, StrategyError, DataError) as error:
        failure = failure_of(error)
        return [{"params": params, "error": failure} for params in combinations]
    out: list[dict[str, Any]] = []
    for params in combinations:
        try:
            statistics = compute_statistics(run_backtest(strategy, columns, params, settings))
        except (StrategyError, DataError) as error:  # counted failed; the others still rank
            out.append({"params": params, "error": failure_of(error)})
            continue
        figures = statistics.as_json()
        out.append({"params": params, "statistics": {k: figures[k] for k in kept}})
    return out


def rank(results: list[dict[str, Any]], maximize: str) -> list[dict[str, Any]]:
    """Successful results, best ``maximize`` first; missing or non-finite values last."""

    def key(result: dict[str, Any]) -> float:
        value = result["statistics"].get(maximize)
        return float(value) if isinstance(value, int | float) else -math.inf

    return sorted((r for r in results if "statistics" in r), key=key, reverse=True)


def finish_sweep(
    store: BacktestStore, account_id: str, sweep_id: str, cause: Envelope, now: datetime
) -> bool:
    """When every chunk is recorded: rank, close the sweep and announce it (once)."""
    sweep = store.get_sweep(account_id, sweep_id)
    if sweep is None or sweep.status != "running" or sweep.done_chunks < sweep.chunks:
        return False
    maximize = str(sweep.request["maximize"])
    ranked = rank(store.chunk_results(account_id, sweep_id), maximize)
    status = "completed" if ranked else "failed"
    best = ranked[:TOP_RESULTS]
    event = Envelope.wrap(
        SweepCompleted(
            sweep_id=sweep_id,
            status=status,
            maximize=maximize,
            combinations=sweep.combinations,
            best=best[0] if best else None,
        ),
        account_id=account_id,
        correlation_id=cause.correlation_id,
        causation_id=cause.id,
        occurred_at=now,
    )
    return store.finish_sweep(account_id, sweep_id, status, best, iso(now), event, sweep.counted)


def sweep_view(store: BacktestStore, sweep: Sweep) -> dict[str, Any]:
    """A sweep as ``GET /v1/backtests/sweeps/{id}`` shows it: progress and the ranking so
    far (final once completed)."""
    maximize = str(sweep.request["maximize"])
    if sweep.best is not None:
        ranked = sweep.best
    else:
        ranked = rank(store.chunk_results(sweep.account_id, sweep.id), maximize)[:TOP_RESULTS]
    progress = 100.0 * sweep.done_combinations / sweep.combinations if sweep.combinations else 0
    return {
        "id": sweep.id,
        "status": sweep.status,
        "strategy": sweep.request["strategy"],
        "symbol": sweep.request["symbol"],
        "interval": sweep.request["interval"],
        "start": sweep.request["start"],
        "end": sweep.request["end"],
        "maximize": maximize,
        "combinations": sweep.combinations,
        "completed_combinations": sweep.done_combinations,
        "failed_combinations": sweep.failed_combinations,
        "chunks": sweep.chunks,
        "completed_chunks": sweep.done_chunks,
        "progress_pct": round(progress, 1),
        "results": ranked,
        "created_at": sweep.created_at,
        "completed_at": sweep.completed_at,
    }

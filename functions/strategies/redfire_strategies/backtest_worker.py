"""Backtest worker: ``BacktestRequested`` and ``SweepChunkRequested`` from the backtests
queue, one message per invocation so that a sweep's chunks run in parallel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from redfire_core.consumers import Consumer, Route
from redfire_core.events import Envelope
from redfire_core.lambda_events import validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_core.services import backtesting

if TYPE_CHECKING:
    from redfire_core.adapters.backtest_store import BacktestStore
    from redfire_core.adapters.market_data import MarketDataStore


@cache
def _ports() -> tuple[BacktestStore, MarketDataStore]:
    from redfire_core.adapters.backtest_store import BacktestStore  # lazy: boto3, S3 transfer
    from redfire_core.services.market_data import market_data_store  # lazy: boto3

    return BacktestStore(), market_data_store()


def work(run: Callable[[BacktestStore, MarketDataStore, Envelope, datetime], str]) -> Route:
    """A route that runs ``run`` on the worker's ports, then logs and counts the work."""

    def route(event: Envelope, now: datetime) -> str:
        outcome = run(*_ports(), event, now)
        logger.info("backtest work done", extra={"type": event.type, "outcome": outcome})
        count(f"{event.type}Worked", 1)
        return outcome

    return route


consumer = Consumer(
    routes={
        "BacktestRequested": work(backtesting.run_requested),
        "SweepChunkRequested": work(backtesting.run_chunk),
    },
    queue="backtests",
)


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    return consumer(event, context)

"""Backtest worker: ``BacktestRequested`` and ``SweepChunkRequested`` from the backtests
queue, one message per invocation so that a sweep's chunks run in parallel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from redfire_core.events import Envelope
from redfire_core.lambda_events import envelope_from_sqs_body, validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_core.services import backtesting
from redfire_core.services.dead_letters import RecordingBatchProcessor

if TYPE_CHECKING:
    from redfire_core.adapters.backtest_store import BacktestStore
    from redfire_core.adapters.market_data import MarketDataStore

processor = RecordingBatchProcessor("backtests")  # failure reasons for `redfire dlq show`
Route = Callable[["BacktestStore", "MarketDataStore", Envelope, datetime], str]
ROUTES: dict[str, Route] = {
    "BacktestRequested": backtesting.run_requested,
    "SweepChunkRequested": backtesting.run_chunk,
}


@cache
def _ports() -> tuple[BacktestStore, MarketDataStore]:
    from redfire_core.adapters.backtest_store import BacktestStore  # lazy: boto3, S3 transfer
    from redfire_core.services.market_data import market_data_store  # lazy: boto3

    return BacktestStore(), market_data_store()


def execute(record: SQSRecord) -> str:
    event = envelope_from_sqs_body(record.body)
    logger.set_correlation_id(event.correlation_id)
    route = ROUTES.get(event.type)
    if route is None:
        logger.info("event ignored", extra={"type": event.type, "event_id": event.id})
        return "ignored"
    outcome = route(*_ports(), event, datetime.now(UTC))
    logger.info("backtest work done", extra={"type": event.type, "outcome": outcome})
    count(f"{event.type}Worked", 1)
    return outcome


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    return process_partial_response(event, execute, processor, context)

"""Live strategy runner: ``MarketDataUpdated`` and the order events of its instances'
orders, from the ``strategy-runner`` queue (SQS batches, partial batch responses).

The handler parses and hands each event to ``redfire_core.services.strategy_instances``;
the service and its adapters are imported on the first record, not at cold start.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from redfire_core.consumers import Consumer
from redfire_core.domain.channels import STRATEGY_ORDER_EVENTS
from redfire_core.events import Envelope
from redfire_core.lambda_events import validated_env
from redfire_core.observability import count, logger, metrics, tracer

if TYPE_CHECKING:
    from redfire_core.adapters.strategy_instances import StrategyInstanceStore
    from redfire_core.adapters.trading_store import TradingStore
    from redfire_core.services.strategy_instances import BarReader


@cache
def _instances() -> StrategyInstanceStore:
    from redfire_core.adapters.strategy_instances import StrategyInstanceStore  # lazy: PynamoDB

    return StrategyInstanceStore()


@cache
def _trading() -> TradingStore:
    from redfire_core.adapters.trading_store import TradingStore  # lazy: PynamoDB on first use

    return TradingStore()


@cache
def _bars() -> BarReader:
    from redfire_core.services.market_data import market_data_store  # lazy: PynamoDB on first use

    return market_data_store()


def on_bar(event: Envelope, now: datetime) -> str:
    from redfire_core.services import strategy_instances as service  # lazy: PynamoDB on first use

    outcome = service.on_market_data(_instances(), _trading(), _bars(), event, now)
    count("StrategyBarsHandled", outcome.acted)
    count("StrategyOrdersPlaced", outcome.orders)
    return f"acted {outcome.acted}, ignored {outcome.ignored}"


def on_order(event: Envelope, now: datetime) -> str:
    from redfire_core.services import strategy_instances as service  # lazy: PynamoDB on first use

    return service.on_order_event(_instances(), _trading(), _bars(), event, now)


consumer = Consumer(
    routes={"MarketDataUpdated": on_bar, **dict.fromkeys(STRATEGY_ORDER_EVENTS, on_order)},
    queue="strategy-runner",
)


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    return consumer(event, context)

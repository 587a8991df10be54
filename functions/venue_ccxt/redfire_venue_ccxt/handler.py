"""ccxt venue function: the ``venue-ccxt`` queue's order work and the reconciliation.

Invoked by the ``venue-ccxt`` queue (SQS batches, partial batch responses: submit, delayed
polls, cancel, replace, connect) and by the ``venue-reconcile-ccxt`` schedule
(``{"action": "reconcile"}``). Only this function loads ccxt (its own layer); what it
does is every venue function's (``redfire_core.venue_function``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from redfire_core.lambda_events import validated_env
from redfire_core.observability import logger, metrics, tracer
from redfire_core.venue_function import VenueFunction
from redfire_core.venues import VenueKind
from redfire_venue_ccxt.gateway import CcxtGateway

venue = VenueFunction(VenueKind.CCXT, "venue-ccxt", CcxtGateway)


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    return venue(event, context)

"""ccxt venue function: the ``venue-ccxt`` queue's order work and the reconciliation.

Invoked by the ``venue-ccxt`` queue (SQS batches, partial batch responses: submit, delayed
polls, cancel, replace, connect) and by the ``venue-reconcile-ccxt`` schedule
(``{"action": "reconcile"}``). Only this function loads ccxt (its own layer).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict

from redfire_core.consumers import RecordingBatchProcessor
from redfire_core.lambda_events import validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_core.services.venue_intake import handle_venue_message, venue_gateway_for
from redfire_core.services.venue_reconciliation import reconcile_venue
from redfire_core.venues import VenueGateway, VenueKind
from redfire_venue_ccxt.gateway import CcxtGateway

KIND = VenueKind.CCXT
QUEUE = "venue-ccxt"  # failed items' reasons are recorded under it (`redfire dlq show`)


class VenueMessage(BaseModel):
    """What every message of a venue queue names; the intake reads the rest."""

    model_config = ConfigDict(extra="allow")

    action: str  # submit | poll | cancel | replace | connect (the intake's to check)
    account_id: str


class ScheduledReconcile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["reconcile"]


def gateway_of(account_id: str) -> VenueGateway:
    """The account's gateway on its own credentials (cached per container briefly)."""
    gateway: VenueGateway = venue_gateway_for(account_id, CcxtGateway)
    return gateway


def execute(record: SQSRecord) -> None:
    message = VenueMessage.model_validate_json(record.body)
    handle_venue_message(
        message.model_dump(), gateway_of(message.account_id), now=datetime.now(UTC)
    )


def reconcile(event: dict[str, Any]) -> dict[str, int]:
    ScheduledReconcile.model_validate(event)
    swept = reconcile_venue(KIND, gateway_of, now=datetime.now(UTC))
    count("ReconciliationDrift", swept.drifts)
    count("ReconciliationFailed", swept.failed)
    return swept.as_dict()


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    if "Records" not in event:
        return reconcile(event)
    # A processor per batch, as every consumer (redfire_core.consumers) has it.
    return process_partial_response(event, execute, RecordingBatchProcessor(QUEUE), context)

"""What a venue function does, for every venue kind: its queue's order work (submit, delayed
polls, cancel, replace, connect; SQS batches with partial batch responses) and its
reconcile schedule (``{"action": "reconcile"}``).

Each venue function (``functions/venue_<kind>``) builds one ``VenueFunction`` with its own
adapter, so only that function loads its venue SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict

from redfire_core.consumers import RecordingBatchProcessor
from redfire_core.observability import count
from redfire_core.services.venue_intake import handle_venue_message, venue_gateway_for
from redfire_core.services.venue_reconciliation import reconcile_venue
from redfire_core.venues import VenueCredentials, VenueGateway, VenueKind


class VenueMessage(BaseModel):
    """What every message of a venue queue names; the intake reads the rest."""

    model_config = ConfigDict(extra="allow")

    action: str  # submit | poll | cancel | replace | connect (the intake's to check)
    account_id: str


class ScheduledReconcile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["reconcile"]


@dataclass(frozen=True)
class VenueFunction:
    """One venue kind's handler body: ``queue`` is where failed items' reasons are recorded
    (`redfire dlq show`), ``adapter`` builds the venue's gateway from an account's
    credentials."""

    kind: VenueKind
    queue: str
    adapter: Callable[[VenueCredentials], VenueGateway]

    def gateway_of(self, account_id: str) -> VenueGateway:
        """The account's gateway on its own credentials (cached per container briefly)."""
        gateway: VenueGateway = venue_gateway_for(account_id, self.adapter)
        return gateway

    def execute(self, record: SQSRecord) -> None:
        message = VenueMessage.model_validate_json(record.body)
        handle_venue_message(
            message.model_dump(), self.gateway_of(message.account_id), now=datetime.now(UTC)
        )

    def reconcile(self, event: dict[str, Any]) -> dict[str, int]:
        ScheduledReconcile.model_validate(event)
        swept = reconcile_venue(self.kind, self.gateway_of, now=datetime.now(UTC))
        count("ReconciliationDrift", swept.drifts)
        count("ReconciliationFailed", swept.failed)
        return swept.as_dict()

    def __call__(
        self, event: dict[str, Any], context: Any
    ) -> dict[str, Any] | PartialItemFailureResponse:
        if "Records" not in event:
            return self.reconcile(event)
        # A processor per batch, as every consumer (redfire_core.consumers) has it.
        processor = RecordingBatchProcessor(self.queue)
        return process_partial_response(event, self.execute, processor, context)

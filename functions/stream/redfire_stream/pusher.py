"""Pusher: the stream queue's events, stored with their seq and posted to subscribers;
and the ``close-stale-connections`` schedule (``{"action": "close_stale_connections"}``),
which ends connections whose token expired or whose API key was revoked."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict

from redfire_core.adapters.stream_store import ChannelState
from redfire_core.consumers import Consumer, RecordingBatchProcessor, action, in_event_order
from redfire_core.domain.channels import Subscription
from redfire_core.events import Envelope
from redfire_core.lambda_events import envelope_from_sqs_body, validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_stream.wiring import AUTH_DEADLINE, management_url, stream


class AuthDeadline(BaseModel):
    """An Alpaca stream connection's authentication deadline (sent delayed by $connect)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["close_unauthenticated"]
    connection_id: str


def push(record: SQSRecord, states: dict[Subscription, ChannelState] | None = None) -> int:
    """Store and deliver one event; raises (the record is retried) on any failure.
    ``states``: the batch's channel states, read once for the whole batch."""
    body = json.loads(record.body)
    if isinstance(body, dict) and body.get("action") == AUTH_DEADLINE:  # not an event
        deadline = AuthDeadline.model_validate(body)
        closed = stream(management_url()).close_unauthenticated(deadline.connection_id)
        count("WebSocketAuthDeadlineClosed", int(closed))
        return 0
    event = envelope_from_sqs_body(record.body)
    logger.set_correlation_id(event.correlation_id)
    service = stream(management_url())
    stored = service.publish(event, states)
    count("StreamPosts", service.last_posts)
    # INFO only when something was kept for a subscriber: an event nobody watches is a
    # DEBUG line (logs stay within 2 KB per order).
    log = logger.info if stored else logger.debug
    log("event streamed", extra={"type": event.type, "event_id": event.id, "channels": len(stored)})
    return len(stored)


def sweep(now: datetime) -> dict[str, int]:
    ended = stream(management_url()).close_stale()
    metrics.add_metric(name="WebSocketsEnded", unit="Count", value=sum(ended.values()))
    logger.info("stale connections closed", extra=ended)
    return ended


# The schedule goes through the one consumer skeleton; a batch does not: its channel states
# are read once for all its records, and it carries authentication deadlines, not only events.
consumer = Consumer(routes={}, actions={"close_stale_connections": action(sweep)})


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    if "Records" not in event:
        return consumer.scheduled(event)
    in_event_order(event)
    states = stream(management_url()).channel_states(_envelopes(event["Records"]))
    processor = RecordingBatchProcessor("stream")  # failure reasons for `redfire dlq show`
    return process_partial_response(event, lambda record: push(record, states), processor, context)


def _envelopes(records: list[dict[str, Any]]) -> list[Envelope]:
    """The batch's events, for reading their channels' states at once; a record that is
    not an event (an authentication deadline, or malformed) is left to ``push``."""
    found = []
    for record in records:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            found.append(envelope_from_sqs_body(record["body"]))
    return found

"""Pusher: the stream queue's events, stored with their seq and posted to subscribers;
and the ``close-stale-connections`` schedule (``{"action": "close_stale_connections"}``),
which ends connections whose token expired or whose API key was revoked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from redfire_core.consumers import Consumer, action, in_event_order
from redfire_core.domain.channels import STREAMED_EVENTS
from redfire_core.events import Envelope
from redfire_core.lambda_events import validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_stream.wiring import management_url, stream


def stream_event(event: Envelope, now: datetime) -> int:
    """Store and deliver one event; raises (the record is retried) on any failure."""
    service = stream(management_url())
    stored = service.publish(event)
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


consumer = Consumer(
    # Every event a client may watch: the stream queue's rule routes exactly these.
    routes=dict.fromkeys(STREAMED_EVENTS, stream_event),
    actions={"close_stale_connections": action(sweep)},
    before_batch=in_event_order,
)


def push(record: SQSRecord) -> object:
    """One SQS record of the stream queue, as the batch processor hands it."""
    return consumer.record(record)


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | PartialItemFailureResponse:
    return consumer(event, context)

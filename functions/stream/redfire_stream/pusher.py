"""Pusher: the stream queue's events, stored with their seq and posted to subscribers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from redfire_core.lambda_events import envelope_from_sqs_body, validated_env
from redfire_core.observability import count, logger, metrics, tracer
from redfire_stream.wiring import management_url, stream

processor = BatchProcessor(event_type=EventType.SQS)


def push(record: SQSRecord) -> int:
    """Store and deliver one event; raises (the record is retried) on any failure."""
    event = envelope_from_sqs_body(record.body)
    logger.set_correlation_id(event.correlation_id)
    service = stream(management_url())
    stored = service.publish(event)
    count("StreamPosts", service.last_posts)
    logger.info(
        "event streamed",
        extra={"type": event.type, "event_id": event.id, "channels": len(stored)},
    )
    return len(stored)


@validated_env
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event, push, processor, context)

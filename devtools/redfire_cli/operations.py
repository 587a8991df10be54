"""Operating a stage: dead-letter queues (``redfire dlq``) and event replay
(``redfire events replay``). Queue, DLQ, bus and archive names come from the declaration."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from redfire_core.adapters.failures import FailureRecords
from redfire_core.config import Settings
from redfire_core.events import new_id
from redfire_core.resources import QUEUES, Declaration

RECEIVE_BATCH = 10
SHOW_SECONDS = 30  # how long ``dlq show`` hides what it has read


def _sqs() -> Any:
    import boto3

    return boto3.client("sqs")


def _url(sqs: Any, name: str) -> str:
    return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _check_queue(queue: str) -> bool:
    if queue not in QUEUES:
        print(
            f"redfire: unknown queue {queue!r}; queues: {', '.join(sorted(QUEUES))}",
            file=sys.stderr,
        )
        return False
    return True


def dlq_list(declaration: Declaration) -> int:
    """Each queue and how many messages wait in its DLQ."""
    sqs = _sqs()
    print(f"{'queue':<12} {'dlq':<40} messages")
    for queue in QUEUES.values():
        name = declaration.name(queue.dlq_logical)
        print(f"{queue.logical:<12} {name:<40} {_depth(sqs, _url(sqs, name))}")
    return 0


def dlq_show(declaration: Declaration, queue: str, limit: int) -> int:
    """Up to ``limit`` dead messages, each once: event type, id, receive count and the
    ``failure`` its consumer recorded (reason, when, how many times). They are
    hidden while being read (a visibility of 0 hands the same ones back on every receive)
    and made visible again at the end, so they stay in place."""
    if not _check_queue(queue):
        return 2
    sqs = _sqs()
    url = _url(sqs, declaration.name(QUEUES[queue].dlq_logical))
    failures = FailureRecords(Settings(stage=declaration.stage))
    seen: set[str] = set()
    handles: list[str] = []
    try:
        while len(seen) < limit:
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(RECEIVE_BATCH, limit - len(seen)),
                VisibilityTimeout=SHOW_SECONDS,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                break
            handles += [message["ReceiptHandle"] for message in messages]
            fresh = [m for m in messages if m["MessageId"] not in seen]
            seen.update(m["MessageId"] for m in fresh)
            # Why each failed, as its consumer recorded it (none: it failed before reaching
            # the consumer's code, or was put in the DLQ by hand).
            reasons = failures.reasons(m["MessageId"] for m in fresh)
            for message in fresh:
                failure = reasons.get(message["MessageId"])
                print(json.dumps({**_summary(message), "failure": failure}))
    finally:
        for start in range(0, len(handles), RECEIVE_BATCH):
            batch = handles[start : start + RECEIVE_BATCH]
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for n, handle in enumerate(batch)
                ],
            )
    if not seen:
        print(f"the {queue} DLQ is empty")
    return 0


def dlq_redrive(declaration: Declaration, queue: str) -> int:
    """Move every dead message back to its queue (consumers are idempotent)."""
    if not _check_queue(queue):
        return 2
    sqs = _sqs()
    dlq = _url(sqs, declaration.name(QUEUES[queue].dlq_logical))
    source = _url(sqs, declaration.name(queue))
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=RECEIVE_BATCH, VisibilityTimeout=30
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            # Sent before it is deleted: a crash in between duplicates, never loses.
            sqs.send_message(QueueUrl=source, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    print(f"moved {moved} message(s) from the {queue} DLQ back to {queue}")
    return 0


def events_replay(declaration: Declaration, start: str, end: str) -> int:
    """Replay the archived events of [start, end) onto the bus."""
    import boto3

    try:
        begin, until = _utc(start), _utc(end)
    except ValueError as error:
        print(f"redfire: {error}", file=sys.stderr)
        return 2
    if begin >= until:
        print("redfire: --from must be before --to", file=sys.stderr)
        return 2
    events = boto3.client("events")
    archive = events.describe_archive(ArchiveName=declaration.archive_name)
    bus_arn = events.describe_event_bus(Name=declaration.bus_name)["Arn"]
    name = f"replay-{new_id().lower()}"
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive["ArchiveArn"],
        EventStartTime=begin,
        EventEndTime=until,
        Destination={"Arn": bus_arn},
    )
    state = events.describe_replay(ReplayName=name)["State"]
    print(f"replay {name}: {state} ({begin.isoformat()} to {until.isoformat()})")
    return 0


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _summary(message: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "message_id": message["MessageId"],
        "receive_count": message.get("Attributes", {}).get("ApproximateReceiveCount"),
    }
    try:
        body = json.loads(message["Body"])
        detail = body.get("detail", {}) if isinstance(body, dict) else {}
        summary.update(
            type=body.get("detail-type"),
            event_id=detail.get("id"),
            account_id=detail.get("account_id"),
        )
    except ValueError:
        summary["body"] = message["Body"][:200]
    return summary

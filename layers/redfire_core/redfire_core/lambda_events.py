"""Parsing what Lambda hands our handlers into envelopes, and the entry-point decorator."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from redfire_core.config import get_settings
from redfire_core.events import Envelope

F = TypeVar("F", bound=Callable[..., Any])


class EventBridgeEvent(BaseModel):
    """The body of an SQS message that an EventBridge rule delivered."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    time: str
    detail: Envelope


def envelope_from_sqs_body(body: str) -> Envelope:
    """The envelope inside an EventBridge-to-SQS message; raises on anything malformed."""
    event = EventBridgeEvent.model_validate(json.loads(body))
    if event.detail.type != event.detail_type:
        raise ValueError(
            f"detail-type {event.detail_type!r} does not match envelope type {event.detail.type!r}"
        )
    return event.detail


def validated_env(handler: F) -> F:
    """Outermost decorator of every entry point: fail fast on a bad environment."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        get_settings()
        return handler(event, context)

    return wrapper  # type: ignore[return-value]

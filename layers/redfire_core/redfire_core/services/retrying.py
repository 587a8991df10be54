"""Optimistic concurrency: re-read and re-apply when a versioned write loses a race."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from redfire_core.observability import count
from redfire_core.ports import ConflictError

T = TypeVar("T")
ATTEMPTS = 25  # enough for dozens of fills racing on one account
MAX_BACKOFF_SECONDS = 0.2
_retries = [0]  # conflict retries made by this process (a container), all steps together


def conflict_retries() -> int:
    """How many times a lost race was retried in this process (the ``ConflictRetries``
    metric counts the same per invocation)."""
    return _retries[0]


def on_conflict_retry(step: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run ``step`` (which must read what it writes) until its conditional write wins.

    Retried here, inside the handler, rather than by SQS redelivery: a lost race is
    normal under concurrency, not a failure.
    """
    for attempt in range(attempts):
        try:
            return step()
        except ConflictError:
            if attempt == attempts - 1:
                raise
            _retries[0] += 1
            count("ConflictRetries", 1)
            # Full jitter spreads the contenders; the cap keeps a handler's latency bounded.
            time.sleep(random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.005 * 2**attempt)))
    raise AssertionError("unreachable")

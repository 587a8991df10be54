"""Optimistic concurrency: re-read and re-apply when a versioned write loses a race."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from redfire_core.adapters.trading_store import ConflictError

T = TypeVar("T")
ATTEMPTS = 8


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
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # jitter spreads the contenders
    raise AssertionError("unreachable")

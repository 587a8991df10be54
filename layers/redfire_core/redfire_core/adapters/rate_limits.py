"""Request rate limits, counted in DynamoDB so every container shares them.

One item per caller and window (``RATE#<caller>#<window start, epoch seconds>`` in the
``idempotency`` table, expiring with its TTL). A container takes tokens in leases: one
conditional ADD of ``lease`` that fails once the window is full, and the item's new count
says how many of them are within the limit, so however many containers share a caller at
most ``limit`` requests pass in a window while a busy caller costs one write per ``lease``
requests. API Gateway HTTP APIs have no per-key throttling, so this is where a single key
(or, for the token exchange, a single address) is held to its share.
"""

from __future__ import annotations

import threading

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from redfire_core.adapters import models as m
from redfire_core.config import Settings, get_settings

WINDOW_TTL_SECONDS = 120


class RateWindowItem(Model):
    class Meta:
        table_name = "idempotency"  # bound to the stage's table by RateLimiter

    id = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(null=True)
    expiration = NumberAttribute(null=True)


# Callers whose leased tokens a container remembers before it drops other windows' leases.
MAX_HELD_CALLERS = 10_000
# Callers are spread over this many locks (one lease at a time per caller, see allow).
CALLER_LOCKS = 64
FULL = -1  # held tokens of a window this container found full


class RateLimiter:
    """At most ``limit`` requests per caller in each fixed window of ``window_seconds``,
    counted ``lease`` at a time (1: every request is a write)."""

    def __init__(
        self,
        limit_per_second: int,
        settings: Settings | None = None,
        window_seconds: int = 1,
        lease: int = 1,
    ) -> None:
        self.limit = limit_per_second
        self.window_seconds = max(window_seconds, 1)
        self.lease = max(lease, 1)
        self.writes = 0  # conditional ADDs made (what the limiter costs in write units)
        # caller -> (window start, tokens leased in that window and not used yet)
        self._held: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._caller_locks = [threading.Lock() for _ in range(CALLER_LOCKS)]
        m.bind_model(RateWindowItem, "idempotency", settings or get_settings())

    def allow(self, caller: str, epoch_second: int) -> bool:
        """Count one request of ``caller`` in its window; False once the window is full."""
        if self.limit <= 0:
            return True
        start = epoch_second - epoch_second % self.window_seconds
        # One lease at a time per caller in a container: threads that all found no token
        # would otherwise each lease, over-lease the window, and refuse requests while the
        # tokens their neighbours won sat unused (a busy caller then got fewer than
        # ``limit`` requests through).
        with self._caller_locks[hash(caller) % len(self._caller_locks)]:
            with self._lock:
                window, tokens = self._held.get(caller, (start, 0))
                if window == start and tokens > 0:
                    self._held[caller] = (start, tokens - 1)
                    return True
                if window == start and tokens == FULL:  # refused without another write
                    return False
            granted = self._take_lease(caller, start)
            with self._lock:
                if len(self._held) >= MAX_HELD_CALLERS:
                    self._held = {c: held for c, held in self._held.items() if held[0] == start}
                self._held[caller] = (start, granted - 1 if granted else FULL)
            return granted > 0

    def _take_lease(self, caller: str, start: int) -> int:
        """Tokens won for ``caller`` in the window at ``start``: up to ``lease``, never more
        than the window has left (0 once it is full)."""
        size = min(self.lease, self.limit)
        item = RateWindowItem(f"RATE#{caller}#{start}")
        self.writes += 1
        try:
            item.update(
                actions=[
                    RateWindowItem.hits.add(size),
                    RateWindowItem.expiration.set(start + self.window_seconds + WINDOW_TTL_SECONDS),
                ],
                condition=RateWindowItem.hits.does_not_exist() | (RateWindowItem.hits < self.limit),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return 0
            raise
        # Leases are applied one after another: the count before this one was below the
        # limit, and only the tokens up to the limit are ours.
        before = int(item.hits or size) - size
        return min(size, self.limit - before)

    def retry_after(self, epoch_second: int) -> int:
        """Whole seconds until the window of ``epoch_second`` ends (what Retry-After says)."""
        return self.window_seconds - epoch_second % self.window_seconds

"""Request rate limits, counted in DynamoDB so every container shares them.

One item per caller and window (``RATE#<caller>#<window start, epoch seconds>`` in the
``idempotency`` table, expiring with its TTL); each request is one conditional ADD that
fails once the window is full. API Gateway HTTP APIs have no per-key throttling, so
this is where a single key (or, for the token exchange, a single address) is held to
its share.
"""

from __future__ import annotations

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


class RateLimiter:
    """At most ``limit`` requests per caller in each fixed window of ``window_seconds``."""

    def __init__(
        self, limit_per_second: int, settings: Settings | None = None, window_seconds: int = 1
    ) -> None:
        self.limit = limit_per_second
        self.window_seconds = max(window_seconds, 1)
        m.bind_model(RateWindowItem, "idempotency", settings or get_settings())

    def allow(self, caller: str, epoch_second: int) -> bool:
        """Count one request of ``caller`` in its window; False once the window is full."""
        if self.limit <= 0:
            return True
        start = epoch_second - epoch_second % self.window_seconds
        item = RateWindowItem(f"RATE#{caller}#{start}")
        try:
            item.update(
                actions=[
                    RateWindowItem.hits.add(1),
                    RateWindowItem.expiration.set(start + self.window_seconds + WINDOW_TTL_SECONDS),
                ],
                condition=RateWindowItem.hits.does_not_exist() | (RateWindowItem.hits < self.limit),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def retry_after(self, epoch_second: int) -> int:
        """Whole seconds until the window of ``epoch_second`` ends (what Retry-After says)."""
        return self.window_seconds - epoch_second % self.window_seconds

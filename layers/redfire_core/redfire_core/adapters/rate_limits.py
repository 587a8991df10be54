"""Per-caller request rate limits, counted in DynamoDB so every container shares them.

One item per caller and one-second window (``RATE#<caller>#<epoch second>`` in the
``idempotency`` table, expiring with its TTL); each request is one conditional ADD that
fails once the window is full. API Gateway HTTP APIs have no per-key throttling, so
this is where a single key is held to its share.
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
    def __init__(self, limit_per_second: int, settings: Settings | None = None) -> None:
        self.limit = limit_per_second
        m.bind_model(RateWindowItem, "idempotency", settings or get_settings())

    def allow(self, caller: str, epoch_second: int) -> bool:
        """Count one request of ``caller`` in its window; False once the window is full."""
        if self.limit <= 0:
            return True
        item = RateWindowItem(f"RATE#{caller}#{epoch_second}")
        try:
            item.update(
                actions=[
                    RateWindowItem.hits.add(1),
                    RateWindowItem.expiration.set(epoch_second + WINDOW_TTL_SECONDS),
                ],
                condition=RateWindowItem.hits.does_not_exist() | (RateWindowItem.hits < self.limit),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

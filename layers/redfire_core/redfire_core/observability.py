"""The one place that builds Powertools' logger, tracer and metrics.

Configured by POWERTOOLS_* variables (service name, log level, namespace) set by CDK
and by the local cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

from redfire_core.config import get_settings

F = TypeVar("F", bound=Callable[..., Any])

logger = Logger()
metrics = Metrics(namespace="RedFire")

STAGE_DIMENSION = "stage"


class HandlerDecorator(Protocol):
    def __call__(self, handler: F, /) -> F: ...


class LambdaTracing:
    """What the handlers ask of a tracer. Without deep tracing it adds nothing: Lambda's
    active tracing records every invocation without the X-Ray SDK, whose import (with the
    libraries Powertools patches) costs about as much as a bare FastAPI app's cold start."""

    def capture_lambda_handler(
        self, lambda_handler: None = None, capture_response: bool = True
    ) -> HandlerDecorator:
        def keep(handler: F) -> F:
            return handler

        return keep


def _tracer() -> Any:
    if get_settings().deep_tracing:
        from aws_lambda_powertools.tracing import (
            Tracer,  # lazy: the X-Ray SDK only where a stage asks for deep tracing
        )

        return Tracer()
    return LambdaTracing()


tracer: LambdaTracing = _tracer()


def count(name: str, value: float) -> None:
    """Add a custom ``Count`` metric, dimensioned by stage (and service), flushed by
    ``@metrics.log_metrics``. A zero is not published: every metric name and dimension set
    that is published is billed as a custom metric for that month, and idle sweeps (every
    minute) would otherwise keep zeros alive."""
    if not value:
        return
    metrics.set_default_dimensions(**{STAGE_DIMENSION: get_settings().stage})
    metrics.add_metric(name=name, unit="Count", value=value)

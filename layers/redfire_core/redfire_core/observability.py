"""The one place that builds Powertools' logger, tracer and metrics.

Configured by POWERTOOLS_* variables (service name, log level, namespace) set by CDK
and by the local cloud.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from redfire_core.config import get_settings

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="RedFire")

STAGE_DIMENSION = "stage"


def count(name: str, value: float) -> None:
    """Add a custom ``Count`` metric, dimensioned by stage (and service), flushed by
    ``@metrics.log_metrics``. A zero is not published: every metric name and dimension set
    that is published is billed as a custom metric for that month, and idle sweeps (every
    minute) would otherwise keep zeros alive."""
    if not value:
        return

    metrics.set_default_dimensions(**{STAGE_DIMENSION: get_settings().stage})
    metrics.add_metric(name=name, unit="Count", value=value)

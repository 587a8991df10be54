"""The one place that builds Powertools' logger, tracer and metrics.

Configured by POWERTOOLS_* variables (service name, log level, namespace) set by CDK
and by the local cloud.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="RedFire")

"""The process environment of the local cloud: one place for stage, region and credentials.

The handlers run in this process and read their configuration from the environment,
exactly as they do under Lambda, so the local cloud sets it before importing them.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

LOCAL_STAGE = "local"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
DUMMY_CREDENTIALS = "testing"
SERVICE_NAME = "redfire-local"  # one process hosts every function, so one service name

# Variables that would send a client somewhere else than the local moto server.
_CONFLICTING = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def aws_environment(endpoint_url: str) -> dict[str, str]:
    """What boto3, PynamoDB and Powertools need to talk to the local moto server."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS,
        "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # botocore would send DynamoDB Streams calls to an account-id endpoint moto lacks.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }


def handler_environment(endpoint_url: str) -> dict[str, str]:
    """The Lambda-like environment of every function hosted by ``redfire dev``."""
    return {
        **aws_environment(endpoint_url),
        "REDFIRE_STAGE": LOCAL_STAGE,
        "REDFIRE_LOCAL": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "RedFire",
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        # The demo token is shared by every local client (benchmarks poll it hard); a
        # real stage keeps the 50/s per-key default. Set it in the shell to try limits.
        "REDFIRE_RATE_LIMIT_PER_SECOND": os.environ.get("REDFIRE_RATE_LIMIT_PER_SECOND", "1000"),
    }


def apply(values: dict[str, str], environ: MutableMapping[str, str] | None = None) -> None:
    """Set ``values`` and drop variables that would point clients at real AWS."""
    target = os.environ if environ is None else environ
    for name in _CONFLICTING:
        target.pop(name, None)
    for name in [n for n in target if n.startswith("AWS_ENDPOINT_URL_")]:
        target.pop(name)  # a per-service endpoint would win over AWS_ENDPOINT_URL
    target.update(values)

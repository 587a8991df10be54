"""boto3 clients for the local moto server, built from the environment the cloud has set."""

from __future__ import annotations

from typing import Any

from botocore.config import Config

# Streams need this beside the environment variable when a caller passes its own config.
_CONFIG = Config(account_id_endpoint_mode="disabled", retries={"max_attempts": 2})


def client(service: str, endpoint_url: str | None = None) -> Any:
    """A new client; each poller thread gets its own so none waits on another's pool."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint_url, config=_CONFIG)

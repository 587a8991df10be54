"""boto3 clients for the local moto server: region, dummy credentials and config fixed here,
so they never pick up a developer's real AWS credentials."""

from __future__ import annotations

from typing import Any, cast

from botocore.config import Config

from redfire_cli.localcloud.environment import DUMMY_CREDENTIALS, REGION

# Streams would otherwise be sent to an account-id endpoint that moto does not route.
_CONFIG = Config(account_id_endpoint_mode="disabled", retries={"max_attempts": 2})


def client(service: str, endpoint_url: str | None = None) -> Any:
    """A new client (each poller thread gets its own, so none waits on another's pool).

    Without ``endpoint_url`` it uses ``AWS_ENDPOINT_URL``, which the local cloud sets.
    """
    import boto3

    return cast(Any, boto3).client(
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id=DUMMY_CREDENTIALS,
        aws_secret_access_key=DUMMY_CREDENTIALS,
        config=_CONFIG,
    )

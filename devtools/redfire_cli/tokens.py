"""``redfire token``: a bearer token for the local cloud, and never for a real stage.

The endpoint comes from ``.redfire/dev.env`` (the process environment wins); the
signing secret is read from the local cloud's Secrets Manager, so only someone who can
reach the local moto server can mint tokens, and only for stage ``local``.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from redfire_cli.localcloud import dev_env, environment
from redfire_cli.localcloud.minting import mint_token

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
EXIT_REFUSED = 2


class Refused(Exception):
    """Minting here could reach something that is not the local cloud."""


def is_local_endpoint(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS


def local_cloud_settings(workdir: Path) -> tuple[str, str]:
    """The endpoint and stage to mint for; ``Refused`` unless both are the local cloud's."""
    values = dev_env.read(dev_env.dev_env_path(workdir))
    for name in ("AWS_ENDPOINT_URL", "REDFIRE_STAGE"):
        if os.environ.get(name):
            values[name] = os.environ[name]
    endpoint = values.get("AWS_ENDPOINT_URL")
    stage = values.get("REDFIRE_STAGE", environment.LOCAL_STAGE)
    if endpoint is None or not is_local_endpoint(endpoint):
        raise Refused(
            f"no local cloud endpoint (AWS_ENDPOINT_URL={endpoint!r}); start one with "
            "`make dev` and run this from the same folder"
        )
    if stage != environment.LOCAL_STAGE:
        raise Refused(
            f"REDFIRE_STAGE is {stage!r}: tokens are minted only for the local cloud "
            f"(stage {environment.LOCAL_STAGE!r}), never for a deployed stage"
        )
    return endpoint, stage


def main(account_id: str, role: str, workdir: Path | None = None) -> int:
    """Print a token for ``account_id`` (opened like the demo account if new)."""
    try:
        endpoint, stage = local_cloud_settings(workdir or Path.cwd())
    except Refused as refusal:
        print(f"redfire token: refused: {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    environment.apply(
        {**environment.aws_environment(endpoint), "REDFIRE_STAGE": stage, "REDFIRE_LOCAL": "true"}
    )
    from botocore.exceptions import EndpointConnectionError

    from redfire_cli.localcloud import aws
    from redfire_core.adapters.audit_log import AuditLog
    from redfire_core.adapters.trading_store import TradingStore
    from redfire_core.domain.errors import DomainError
    from redfire_core.resources import Declaration
    from redfire_core.services.accounts import open_account

    try:
        secret = aws.client("secretsmanager").get_secret_value(
            SecretId=Declaration(stage).jwt_secret_name
        )["SecretString"]
    except EndpointConnectionError:
        print(
            f"redfire token: no local cloud answers at {endpoint}; is `make dev` running?",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    now = datetime.now(UTC)
    try:
        open_account(TradingStore(), AuditLog(), account_id, actor="redfire token", now=now)
    except DomainError as refusal:  # a new account id outside the pattern, or reserved
        print(f"redfire token: refused: {refusal.message}", file=sys.stderr)
        return EXIT_REFUSED
    print(mint_token(secret, account_id=account_id, role=role, actor="redfire token", now=now))
    return 0

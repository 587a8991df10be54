"""Every declared resource, created in moto by the local cloud's own provisioner."""

from __future__ import annotations

from redfire_cli.localcloud.provision import Provisioner
from redfire_core.resources import Declaration


def provision(declaration: Declaration, jwt_secret: str) -> None:
    # Visibility 0: a test redelivers a failed message at once instead of sleeping.
    Provisioner(declaration, visibility_timeout_seconds=0).provision(jwt_secret)

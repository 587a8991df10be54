"""``redfire admin create-account``: bootstrap an account (or the platform's operator) and
its first API key, on the local cloud or on a deployed stage with your AWS credentials.
``redfire admin revoke-key``: revoke any key (an operator key too) the same way.

The key's secret is printed once; exchange it with ``POST /v1/auth/token``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from redfire_cli.targets import select_target

PLATFORM_ACCOUNT = "platform"
EXIT_FAILED = 1


def create_account(
    account_id: str | None,
    *,
    operator: bool,
    stage: str | None,
    cash: str,
    workdir: Path,
    margin: bool = True,
) -> int:
    try:
        opening_cash = Decimal(cash)
    except InvalidOperation:
        print(f"redfire: --cash {cash!r} is not a decimal", file=sys.stderr)
        return EXIT_FAILED
    target = select_target(stage, workdir)
    from redfire_core.adapters.api_keys import ApiKeyStore
    from redfire_core.adapters.audit_log import AuditLog
    from redfire_core.adapters.trading_store import TradingStore
    from redfire_core.auth import ROLE_SCOPES, Principal, Role
    from redfire_core.services.accounts import open_account
    from redfire_core.services.keys import create_key

    account = account_id or (PLATFORM_ACCOUNT if operator else None)
    if not account:
        print("redfire: name the account (or use --operator)", file=sys.stderr)
        return EXIT_FAILED
    now = datetime.now(UTC)
    actor = f"redfire admin ({_caller_identity()})"
    store, audit = TradingStore(), AuditLog()
    created = open_account(
        store, audit, account, actor=actor, now=now, cash=opening_cash, margin_enabled=margin
    )
    role = Role.OPERATOR if operator else Role.ADMIN
    bootstrap = Principal(
        subject=actor,
        account_id=account,
        role=role,
        scopes=frozenset(ROLE_SCOPES[role]),
        token_id="bootstrap",
    )
    scopes = {"operator"} if operator else {"read", "trade", "admin"}
    key, secret = create_key(
        ApiKeyStore(), audit, bootstrap, name="first key", scopes=scopes, now=now
    )
    print(f"stage:      {target}")
    print(f"account:    {account} ({'created' if created else 'already existed'})")
    print(f"key_id:     {key.key_id}")
    print(f"secret:     {secret}    (shown once)")
    print(f"scopes:     {' '.join(sorted(key.scopes))}")
    print('exchange:   POST /v1/auth/token {"key_id": "...", "secret": "..."}')
    return 0


def revoke_key(key_id: str, *, stage: str | None, reason: str | None, workdir: Path) -> int:
    """Revoke ``key_id`` whatever its account and scopes (holding the stage's AWS
    credentials is the authority); audited with the caller's ARN as the actor."""
    target = select_target(stage, workdir)
    from redfire_core.adapters.api_keys import ApiKeyStore
    from redfire_core.adapters.audit_log import AuditLog
    from redfire_core.domain.errors import DomainError
    from redfire_core.events import iso
    from redfire_core.services.keys import revoke_any_key

    actor = f"redfire admin ({_caller_identity()})"
    try:
        key = revoke_any_key(
            ApiKeyStore(), AuditLog(), key_id, actor=actor, now=datetime.now(UTC), reason=reason
        )
    except DomainError as error:
        print(f"redfire: {error.message} on stage {target}", file=sys.stderr)
        return EXIT_FAILED
    print(f"stage:      {target}")
    print(f"key_id:     {key.key_id}")
    print(f"account:    {key.account_id}")
    print(f"scopes:     {' '.join(sorted(key.scopes))}")
    print(f"revoked_at: {iso(key.revoked_at) if key.revoked_at else '-'}")
    return 0


def _caller_identity() -> str:
    import boto3

    try:
        return str(boto3.client("sts").get_caller_identity()["Arn"])
    except Exception as error:  # an identity is nice to have in the audit, not required
        return f"unknown caller: {type(error).__name__}"

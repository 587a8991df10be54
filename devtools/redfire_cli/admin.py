"""``redfire admin create-account``: bootstrap an account (or the platform's operator) and
its first API key, on the local cloud or on a deployed stage with your AWS credentials.

The key's secret is printed once; exchange it with ``POST /v1/auth/token``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from redfire_cli.targets import select_target

# Not "platform": that differs from the reserved PLATFORM key only in case (so it is refused
# as a new id); an operator account made before keeps working.
PLATFORM_ACCOUNT = "platform-ops"
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
    account = account_id or (PLATFORM_ACCOUNT if operator else None)
    if not account:
        print("redfire: name the account (or use --operator)", file=sys.stderr)
        return EXIT_FAILED
    from redfire_core.domain.account_ids import account_id_problem

    problem = account_id_problem(account)
    if problem is not None:
        print(f"redfire: account {account!r}: {problem.message}", file=sys.stderr)
        return EXIT_FAILED
    target = select_target(stage, workdir)
    from redfire_core.adapters.api_keys import ApiKeyStore
    from redfire_core.adapters.audit_log import AuditLog
    from redfire_core.adapters.trading_store import TradingStore
    from redfire_core.auth import ROLE_SCOPES, Principal, Role
    from redfire_core.services.accounts import open_account
    from redfire_core.services.keys import create_key

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


def _caller_identity() -> str:
    import boto3

    try:
        return str(boto3.client("sts").get_caller_identity()["Arn"])
    except Exception as error:  # an identity is nice to have in the audit, not required
        return f"unknown caller: {type(error).__name__}"

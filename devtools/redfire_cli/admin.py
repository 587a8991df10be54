"""``redfire admin create-account``: bootstrap an account (or the platform's operator) and
its first API key; ``redfire admin revoke-key``: revoke any key (an operator key
too); ``redfire admin seed-instruments``: the instruments a fresh stage trades.
On the local cloud or on a deployed stage with your AWS credentials.

The key's secret is printed once; exchange it with ``POST /v1/auth/token``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from redfire_cli.targets import select_target

if TYPE_CHECKING:
    from redfire_core.domain.instruments import Instrument

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
    from redfire_core.auth import Principal
    from redfire_core.domain.roles import ROLE_SCOPES, Role
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
    print(f"stage:      {target}{_region_note(stage)}")
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


def seed_instruments(stage: str | None, file: Path | None, workdir: Path) -> int:
    """Create the instruments of ``file`` (a JSON list of instruments as
    ``POST /v1/instruments`` takes them), or the demo instruments; existing ones are kept."""
    from redfire_core.domain.instruments import DEMO_INSTRUMENTS

    try:
        instruments = _read_instruments(file) if file else list(DEMO_INSTRUMENTS)
    except (OSError, ValueError, TypeError, KeyError, InvalidOperation) as error:
        print(f"redfire: {file}: {error}", file=sys.stderr)
        return EXIT_FAILED
    target = select_target(stage, workdir)
    from redfire_core.adapters.audit_log import AuditLog
    from redfire_core.adapters.trading_store import TradingStore
    from redfire_core.domain.errors import DomainError
    from redfire_core.services.instruments import create_instrument

    store, audit = TradingStore(), AuditLog()
    actor = f"redfire admin ({_caller_identity()})"
    now = datetime.now(UTC)
    print(f"stage:      {target}{_region_note(stage)}")
    for instrument in instruments:
        try:
            create_instrument(store, audit, instrument, actor=actor, now=now)
            print(f"created     {instrument.symbol}")
        except DomainError as error:
            if error.code != "INSTRUMENT_EXISTS":
                raise
            # Kept as it is: an operator may have changed it since it was seeded.
            print(f"kept        {instrument.symbol} (already exists)")
    return 0


def _read_instruments(file: Path) -> list[Instrument]:
    from redfire_core.domain.instruments import Instrument

    rows = json.loads(file.read_text())
    if not isinstance(rows, list):
        raise ValueError("expected a JSON list of instruments")
    instruments = []
    for row in rows:
        values = dict(row)
        for key in ("tick_size", "lot_size", "min_quantity"):
            values[key] = Decimal(str(values[key]))
        instruments.append(Instrument(**values))
    return instruments


def _region_note(stage: str | None) -> str:
    import os

    return f" (region {os.environ['AWS_REGION']})" if stage else ""


def _caller_identity() -> str:
    import boto3

    try:
        return str(boto3.client("sts").get_caller_identity()["Arn"])
    except Exception as error:  # an identity is nice to have in the audit, not required
        return f"unknown caller: {type(error).__name__}"


def set_account_gateway(
    account_id: str,
    gateway: str,
    *,
    mode: str,
    key_id: str | None,
    secret: str | None,
    stage: str | None,
    workdir: Path,
) -> int:
    """Route ``account_id``'s orders to ``gateway`` as ``PUT /v1/account/gateway`` does
    (credentials to Secrets Manager, checked by the venue function), audited with the
    caller's ARN; waits up to 5 s for the check and prints the outcome, never the secret."""
    target = select_target(stage, workdir)
    import time

    from redfire_core.adapters.audit_log import AuditLog
    from redfire_core.adapters.trading_store import TradingStore
    from redfire_core.adapters.venue_queues import SqsVenueSender
    from redfire_core.adapters.venue_secrets import VenueSecrets, masked
    from redfire_core.domain.errors import DomainError
    from redfire_core.services.venue_accounts import CONNECTING, GatewaySetting, set_gateway
    from redfire_core.venues import VenueMode

    store = TradingStore()
    actor = f"redfire admin ({_caller_identity()})"
    try:
        account = set_gateway(
            store,
            VenueSecrets(),
            SqsVenueSender(),
            AuditLog(),
            account_id,
            GatewaySetting(gateway, VenueMode(mode), key_id, secret),
            actor=actor,
            now=datetime.now(UTC),
        )
    except DomainError as error:
        print(f"redfire: {error.code}: {error.message}", file=sys.stderr)
        return EXIT_FAILED
    deadline = time.monotonic() + 5
    while account.gateway_status == CONNECTING and time.monotonic() < deadline:
        time.sleep(0.25)
        account = store.get_account(account_id) or account
    print(f"stage:      {target}")
    print(f"account:    {account_id}")
    print(f"gateway:    {account.gateway} ({account.gateway_mode})")
    print(f"key_id:     {masked(key_id) if key_id else '-'}")
    print(f"status:     {account.gateway_status or '-'}")
    if account.gateway_error:
        print(f"error:      {account.gateway_error}")
        return EXIT_FAILED
    return 0

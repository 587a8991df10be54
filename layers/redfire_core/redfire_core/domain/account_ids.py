"""Account ids: the one pattern every way of naming an account follows.

An account id is the partition key of the account's items in most tables, so an id equal
to an internal key would read and write the platform's own items (an account named
``PLATFORM`` set the global trading state). New ids (``redfire admin create-account``,
``redfire token --account``, an identity provider's account claim) must match
``ACCOUNT_ID_PATTERN`` and must not be a reserved key in any letter case. Ids created
before the pattern existed keep working; only exact collisions with an internal key are
refused when a token of ours is verified.
"""

from __future__ import annotations

import re

from redfire_core.domain.errors import DomainError

# Lowercase letters, digits and "-", 3 to 64 characters, starting with a letter or digit.
ACCOUNT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,63}$"
_ACCOUNT_ID = re.compile(ACCOUNT_ID_PATTERN)

# The partition key of the platform's items in account-keyed tables: the global trading
# state (limits table), audit records and outbox events that belong to no account.
PLATFORM_KEY = "PLATFORM"
# Every internal partition key of a table keyed by account id; new ids may not equal one in
# any letter case (so no id reads as the platform's to a person either).
INTERNAL_PARTITION_KEYS = frozenset({PLATFORM_KEY})
RESERVED_ACCOUNT_IDS = frozenset(key.lower() for key in INTERNAL_PARTITION_KEYS)


def account_id_problem(account_id: object) -> DomainError | None:
    """Why ``account_id`` cannot name a new account, or None when it can."""
    if not isinstance(account_id, str) or not _ACCOUNT_ID.fullmatch(account_id):
        return DomainError(
            "ACCOUNT_ID_INVALID",
            "an account id is 3 to 64 lowercase letters, digits and '-', "
            "starting with a letter or digit",
            "account_id",
        )
    if account_id.lower() in RESERVED_ACCOUNT_IDS:
        return DomainError(
            "ACCOUNT_ID_RESERVED", f"{account_id!r} is reserved for the platform", "account_id"
        )
    return None


def check_new_account_id(account_id: object) -> str:
    """``account_id`` if a new account may have it; ``DomainError`` otherwise."""
    problem = account_id_problem(account_id)
    if problem is not None:
        raise problem
    assert isinstance(account_id, str)
    return account_id


def collides_with_internal_key(account_id: str) -> bool:
    """True for an id that is one of the internal keys exactly: items under it are the
    platform's, so no token may act as that account (whenever the id was created)."""
    return account_id in INTERNAL_PARTITION_KEYS

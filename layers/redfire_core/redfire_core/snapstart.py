"""Lambda SnapStart runtime hooks: what must not be shared by containers restored from one
snapshot (cdk.json ``snapstart``; docs/deploy.md, "SnapStart").

SnapStart runs a function's init once per published version, snapshots the memory and
restores every new container from that snapshot. Anything init left in memory is then the
same in all of them: the ``random`` module's state, python-ulid's monotonic generator state,
and whatever was fetched and cached (the JWT signing secret, JWKS keys, rate-limit leases,
clients with their credentials). ``after_restore`` re-seeds the first two and drops the
caches that were marked with ``forget_on_restore``.

The hook is registered through ``snapshot_restore_py``, a module that only Lambda's Python
runtime (3.12+) has, and only when the runtime says this init is a snapshot's
(``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``): elsewhere nothing is imported.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

SNAPSTART_INITIALIZATION = "snap-start"


class _Cached(Protocol):
    def cache_clear(self) -> None: ...


CachedT = TypeVar("CachedT", bound=_Cached)

_forgotten: list[Callable[[], None]] = []


def forget_on_restore(cached: CachedT) -> CachedT:
    """Mark a ``functools.cache``d factory whose value a restored container must build
    again (secrets, keys, clients and their credentials, leases)."""
    _forgotten.append(cached.cache_clear)
    return cached


def after_restore() -> None:
    """Make this restored container's state its own."""
    # Re-seeded from os.urandom: otherwise every container draws the same sequence.
    random.seed()
    _reset_ulid_generator()
    for clear in _forgotten:
        clear()
    _drop_default_boto3_session()


def _reset_ulid_generator() -> None:
    """python-ulid's default generator keeps the last timestamp and randomness (strict
    monotonic policy): start from a fresh policy, so the next ULID's randomness is drawn."""
    import ulid

    generator: Any = ulid.default_generator
    generator.policy = type(generator.policy)()


def _drop_default_boto3_session() -> None:
    """Clients made after the restore resolve credentials again (the cached factories that
    held clients were cleared above)."""
    import sys

    boto3: Any = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None


def register() -> bool:
    """Register ``after_restore`` with the runtime when this init is a SnapStart snapshot's;
    True when registered."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != SNAPSTART_INITIALIZATION:
        return False
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found,unused-ignore]
            register_after_restore,
        )
    except ImportError:  # not Lambda's Python runtime
        return False
    register_after_restore(after_restore)
    return True


register()

"""SnapStart runtime hooks (redfire_core.snapstart): after a restore, each container draws its
own random numbers and ULIDs and builds secrets, JWKS keys, rate-limit leases and clients
again instead of using the snapshot's."""

from __future__ import annotations

import random
import sys
import types
from functools import cache
from typing import Any

import pytest
import ulid

from redfire_core import snapstart


def test_random_draws_differ_between_containers_restored_from_one_snapshot() -> None:
    random.seed(1234)  # what a snapshot freezes: one state
    snapshot = random.getstate()
    first = [random.random() for _ in range(4)]
    random.setstate(snapshot)  # a second container restored from the same snapshot
    snapstart.after_restore()
    assert [random.random() for _ in range(4)] != first


def test_the_ulid_generator_forgets_the_snapshots_last_id(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two ULIDs in one millisecond: strict monotonicity increments the snapshot's randomness,
    # which every restored container would then share; after the hook it is drawn afresh.
    monkeypatch.setattr(ulid.default_generator, "clock", lambda: 1_700_000_000_000)
    ulid.ULID()
    policy = ulid.default_generator.policy
    assert policy.prev_timestamp == 1_700_000_000_000
    snapstart.after_restore()
    assert ulid.default_generator.policy is not policy
    assert ulid.default_generator.policy.prev_timestamp != 1_700_000_000_000


def test_marked_caches_are_dropped_and_others_kept() -> None:
    builds: list[str] = []

    @snapstart.forget_on_restore
    @cache
    def secret() -> str:
        builds.append("secret")
        return f"secret-{len(builds)}"

    @cache
    def table_name() -> str:
        builds.append("table")
        return "orders"

    assert (secret(), table_name()) == ("secret-1", "orders")
    secret(), table_name()
    assert builds == ["secret", "table"]
    snapstart.after_restore()
    assert secret() == "secret-3"
    table_name()
    assert builds == ["secret", "table", "secret"]


def test_the_token_checkers_drop_their_secret_and_keys_on_restore() -> None:
    from redfire_api import paging, security
    from redfire_stream import ws_handler

    cached = [
        security._secret,
        security._jwks,
        security._rate_limiter,
        ws_handler._secret,
        ws_handler._jwks,
        paging._cursor_keys,
    ]
    # Each registered cache_clear is bound to its cache; those are the caches dropped.
    dropped = {id(getattr(clear, "__self__", None)) for clear in snapstart._forgotten}
    assert {id(c) for c in cached} <= dropped


def test_the_default_boto3_session_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.SimpleNamespace(DEFAULT_SESSION=object())
    monkeypatch.setitem(sys.modules, "boto3", fake)
    snapstart.after_restore()
    assert fake.DEFAULT_SESSION is None


def test_the_hook_is_registered_only_on_a_snapstart_init(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[Any] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)

    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    assert snapstart.register() is False
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    assert snapstart.register() is True
    assert registered == [snapstart.after_restore]


def test_without_the_runtimes_module_nothing_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails
    assert snapstart.register() is False

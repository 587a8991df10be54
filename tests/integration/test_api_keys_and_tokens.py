"""Identity: API keys, the token exchange, revocation, and every way a token can be bad."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import jwt
import pytest

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.roles import Role
from tests.integration.conftest import SECRET, call_api, token_for


def admin() -> str:
    return token_for("demo", Role.ADMIN)


def new_key(scopes: list[str], token: str | None = None) -> dict[str, Any]:
    status, _, body = call_api(
        "POST", "/v1/api-keys", body={"name": "bot", "scopes": scopes}, token=token or admin()
    )
    assert status == 201, body
    return body  # type: ignore[no-any-return]


def exchange(key_id: str, secret: str) -> tuple[int, Any]:
    status, _, body = call_api("POST", "/v1/auth/token", body={"key_id": key_id, "secret": secret})
    return status, body


def test_a_key_is_shown_once_and_exchanged_for_a_30_minute_token(seeded: TradingStore) -> None:
    key = new_key(["read", "trade"])
    status, token = exchange(key["key_id"], key["secret"])
    assert status == 200
    assert token["token_type"] == "bearer" and token["expires_in"] == 1800
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["sub"] == key["key_id"] and claims["account_id"] == "demo"
    assert claims["scopes"] == ["read", "trade"] and claims["exp"] - claims["iat"] == 1800
    assert set(claims) >= {"sub", "account_id", "role", "scopes", "iat", "exp", "iss", "aud", "jti"}
    listed = call_api("GET", "/v1/api-keys", token=admin())[2]["items"]
    assert [k["key_id"] for k in listed] == [key["key_id"]]
    assert "secret" not in listed[0]
    assert call_api("GET", "/v1/orders", token=token["access_token"])[0] == 200


def test_the_secret_is_stored_only_as_a_salted_hash(seeded: TradingStore) -> None:
    from redfire_core.adapters import models

    key = new_key(["read"])
    item = models.ApiKeyItem.get(key["key_id"], "KEY")
    assert key["secret"] not in json.dumps(item.attribute_values)
    assert len(item.salt) == 32 and len(item.secret_hash) == 64


def test_a_key_with_only_read_scope_cannot_trade(seeded: TradingStore) -> None:
    key = new_key(["read"])
    token = exchange(key["key_id"], key["secret"])[1]["access_token"]
    status, _, body = call_api(
        "POST",
        "/v1/orders",
        token=token,
        body={"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"},
    )
    assert status == 403 and body["code"] == "FORBIDDEN"


def test_a_wrong_secret_or_unknown_key_gets_the_same_401(seeded: TradingStore) -> None:
    key = new_key(["read"])
    wrong = exchange(key["key_id"], "not-the-secret")
    unknown = exchange("key_nope", key["secret"])
    assert wrong[0] == unknown[0] == 401
    assert wrong[1] == {**unknown[1], "instance": wrong[1]["instance"]}


def test_a_revoked_key_stops_working_even_for_tokens_issued_before(seeded: TradingStore) -> None:
    key = new_key(["read"])
    token = exchange(key["key_id"], key["secret"])[1]["access_token"]
    assert call_api("GET", "/v1/account", token=token)[0] == 200
    status, _, revoked = call_api("DELETE", f"/v1/api-keys/{key['key_id']}", token=admin())
    assert status == 200 and revoked["revoked_at"] is not None
    assert call_api("GET", "/v1/account", token=token)[0] == 401
    assert exchange(key["key_id"], key["secret"])[0] == 401


def test_only_the_admin_manages_keys_and_only_an_operator_makes_operator_keys(
    seeded: TradingStore,
) -> None:
    trader = token_for("demo", Role.TRADER)
    assert (
        call_api("POST", "/v1/api-keys", token=trader, body={"name": "x", "scopes": ["read"]})[0]
        == 403
    )
    status, _, body = call_api(
        "POST", "/v1/api-keys", token=admin(), body={"name": "x", "scopes": ["operator"]}
    )
    assert status == 403
    operator = token_for("platform", Role.OPERATOR)
    assert new_key(["operator"], token=operator)["scopes"] == ["operator"]
    status, _, body = call_api(
        "POST", "/v1/api-keys", token=admin(), body={"name": "x", "scopes": ["root"]}
    )
    assert status == 422 and body["code"] == "KEY_SCOPES_INVALID"


def operator_key() -> dict[str, Any]:
    return new_key(["operator"], token=token_for("platform", Role.OPERATOR))


def revoke(key_id: str, token: str) -> tuple[int, Any]:
    status, _, body = call_api("DELETE", f"/v1/api-keys/{key_id}", token=token)
    return status, body


def test_an_operator_revokes_an_operator_key_and_it_is_audited(seeded: TradingStore) -> None:
    from redfire_core.adapters.audit_log import AuditLog

    # Given an operator key, exchanged for a token that works
    key = operator_key()
    token = exchange(key["key_id"], key["secret"])[1]["access_token"]
    assert call_api("GET", "/v1/risk/global-state", token=token)[0] == 200

    # When an operator revokes it over the API
    status, revoked = revoke(key["key_id"], token_for("platform", Role.OPERATOR))

    # Then it is revoked, its tokens stop working, and the audit log says who did it
    assert status == 200 and revoked["revoked_at"] is not None
    assert call_api("GET", "/v1/risk/global-state", token=token)[0] == 401
    records = AuditLog().list("platform", 10, None)[0]
    assert ("key.revoked", key["key_id"], "user-platform") in [
        (r.action, r.object_id, r.actor) for r in records
    ]


def test_an_admin_can_neither_create_nor_revoke_operator_keys(seeded: TradingStore) -> None:
    # Given an operator key of the platform account, and an admin of that account
    key = operator_key()
    platform_admin = token_for("platform", Role.ADMIN)

    # When the admin tries to create or revoke an operator key, then it is 403
    status, _, body = call_api(
        "POST", "/v1/api-keys", token=platform_admin, body={"name": "x", "scopes": ["operator"]}
    )
    assert status == 403 and body["code"] == "FORBIDDEN"
    status, body = revoke(key["key_id"], platform_admin)
    assert status == 403 and body["code"] == "FORBIDDEN"
    assert exchange(key["key_id"], key["secret"])[0] == 200  # still live


def test_an_operator_cannot_revoke_an_account_key(seeded: TradingStore) -> None:
    key = new_key(["read"], token=token_for("platform", Role.ADMIN))
    status, body = revoke(key["key_id"], token_for("platform", Role.OPERATOR))
    assert status == 403 and body["code"] == "FORBIDDEN"


def test_another_account_cannot_revoke_or_see_a_key(
    seeded: TradingStore, other_account: str
) -> None:
    key = new_key(["read"])
    other_admin = token_for(other_account, Role.ADMIN)
    assert call_api("DELETE", f"/v1/api-keys/{key['key_id']}", token=other_admin)[0] == 404
    assert call_api("GET", "/v1/api-keys", token=other_admin)[2]["items"] == []


def test_key_changes_are_in_the_audit_log_for_the_admin(seeded: TradingStore) -> None:
    key = new_key(["read"])
    call_api("DELETE", f"/v1/api-keys/{key['key_id']}", token=admin())
    status, _, body = call_api("GET", "/v1/audit", token=admin())
    assert status == 200
    actions = [(i["action"], i["object_id"]) for i in body["items"]]
    assert ("key.revoked", key["key_id"]) in actions and ("key.created", key["key_id"]) in actions
    assert call_api("GET", "/v1/audit", token=token_for("demo", Role.TRADER))[0] == 403


# --- the token matrix: every bad token gets the same 401 body -----------------------


def _claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    settings = get_settings()
    claims = {
        "sub": "user-demo",
        "account_id": "demo",
        "role": "trader",
        "scopes": ["read", "trade"],
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=30)).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": "j1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _bad_tokens() -> Iterator[tuple[str, str]]:
    now = int(datetime.now(UTC).timestamp())
    yield "expired", jwt.encode(_claims(exp=now - 3600, iat=now - 7200), SECRET, "HS256")
    yield "not yet valid", jwt.encode(_claims(nbf=now + 3600), SECRET, "HS256")
    yield "wrong signature", jwt.encode(_claims(), "another-secret-of-enough-length-xx", "HS256")
    yield "alg none", _unsigned(_claims())
    yield "HS512 instead of HS256", jwt.encode(_claims(), SECRET, "HS512")
    yield "wrong issuer", jwt.encode(_claims(iss="evil"), SECRET, "HS256")
    yield "wrong audience", jwt.encode(_claims(aud="other-api"), SECRET, "HS256")
    for claim in ("sub", "account_id", "role", "scopes", "iat", "exp", "iss", "aud", "jti"):
        yield f"missing {claim}", jwt.encode(_claims(**{claim: None}), SECRET, "HS256")
    yield "scopes above the role", jwt.encode(_claims(role="viewer"), SECRET, "HS256")
    yield "garbage", "a.b.c"


@pytest.mark.parametrize(("case", "token"), list(_bad_tokens()), ids=[c for c, _ in _bad_tokens()])
def test_every_bad_token_gets_the_same_401(seeded: TradingStore, case: str, token: str) -> None:
    status, headers, body = call_api("GET", "/v1/account", token=token)
    assert status == 401, case
    assert headers["content-type"] == "application/problem+json"
    assert body["code"] == "UNAUTHORIZED" and body["detail"] == "a valid bearer token is required"


def test_tokens_signed_with_the_previous_key_stay_valid_during_a_rotation(
    seeded: TradingStore,
) -> None:
    old = admin()
    rotated = json.dumps({"current": "brand-new-signing-key-0123456789abcdef", "previous": SECRET})
    from redfire_api import security

    with patch.object(security._secret(), "get", return_value=rotated):
        assert call_api("GET", "/v1/account", token=old)[0] == 200
        key = new_key(["read"], token=old)
        fresh = exchange(key["key_id"], key["secret"])[1]["access_token"]
        assert call_api("GET", "/v1/account", token=fresh)[0] == 200
    assert call_api("GET", "/v1/account", token=fresh)[0] == 401  # previous-only: not valid


# --- abuse limits ------------------------------------------------------------------------


def test_a_body_over_one_megabyte_is_refused_with_413(seeded: TradingStore) -> None:
    big = json.dumps({"symbol": "GOOG", "pad": "x" * (1024 * 1024)})
    status, headers, body = call_api("POST", "/v1/orders", body=big, token=token_for())
    assert status == 413 and body["code"] == "PAYLOAD_TOO_LARGE"
    assert headers["content-type"] == "application/problem+json"
    assert seeded.list_orders("demo", 10, None).items == []


def test_a_caller_over_its_rate_gets_429_with_retry_after(seeded: TradingStore) -> None:
    from redfire_api import security

    token = token_for()
    with (
        patch.object(security._rate_limiter(), "limit", 3),
        patch("redfire_api.security.time.time", return_value=1_800_000_000.2),
    ):
        answers = [call_api("GET", "/v1/account", token=token) for _ in range(5)]
    assert [a[0] for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3][1]["retry-after"] == "1" and answers[3][2]["code"] == "RATE_LIMITED"


# --- the token exchange: throttled before hashing, one hash whatever the key id -----------


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts scrypt computations (one entry per call)."""
    import hashlib

    real, calls = hashlib.scrypt, []

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def attempt(key_id: str, secret: str, source_ip: str, **headers: str) -> tuple[int, Any, Any]:
    status, answer_headers, body = call_api(
        "POST",
        "/v1/auth/token",
        body={"key_id": key_id, "secret": secret},
        source_ip=source_ip,
        headers=headers,
    )
    return status, answer_headers, body


def test_revoked_unknown_and_live_key_ids_each_cost_one_hash(
    seeded: TradingStore, hashes: list[int]
) -> None:
    # Given a live key and a revoked one
    live, revoked = new_key(["read"]), new_key(["read"])
    assert revoke(revoked["key_id"], admin())[0] == 200
    cases = {
        "live": (live["key_id"], live["secret"], 200),
        "live, wrong secret": (live["key_id"], "wrong", 401),
        "revoked": (revoked["key_id"], revoked["secret"], 401),
        "unknown": ("key_unknown", "whatever", 401),
        "not a key id": ("nope", "whatever", 401),
    }
    for case, (key_id, secret, expected) in cases.items():
        # When each is exchanged (from its own address, so no limit is near)
        hashes.clear()
        status = attempt(key_id, secret, f"198.51.100.{len(case)}")[0]

        # Then each computes exactly one scrypt hash
        assert (status, len(hashes)) == (expected, 1), case


def test_the_token_exchange_is_throttled_per_address_before_hashing(
    seeded: TradingStore, hashes: list[int]
) -> None:
    from redfire_core.services import key_checks

    # Given a limit of 3 exchanges per minute per address
    with (
        patch.object(key_checks.attempt_limiters()[0], "limit", 3),
        patch("redfire_api.security.time.time", return_value=1_800_000_010.5),
    ):
        # When one address guesses 4 key ids, each with another X-Forwarded-For
        answers = [
            attempt(f"key_guess{n}", "x", "192.0.2.10", **{"x-forwarded-for": f"10.0.0.{n}"})
            for n in range(4)
        ]
        hashed = len(hashes)
        # and another address tries at the same time
        elsewhere = attempt("key_guess9", "x", "192.0.2.11")

    # Then the 4th is 429 with Retry-After (to the window's end), before any hashing
    assert [a[0] for a in answers] == [401, 401, 401, 429] and hashed == 3
    assert answers[3][2]["code"] == "RATE_LIMITED" and answers[3][1]["retry-after"] == "50"
    assert elsewhere[0] == 401  # the limit is the address's, not everyone's


def test_guessing_one_key_from_one_address_does_not_lock_its_owner_out(
    seeded: TradingStore, hashes: list[int]
) -> None:
    from redfire_core.services import key_checks

    # Given a live key and a limit of 2 attempts per key and address per minute
    key = new_key(["read"])
    hashes.clear()
    with (
        patch.object(key_checks.attempt_limiters()[1], "limit", 2),
        patch("redfire_api.security.time.time", return_value=1_800_000_020.0),
    ):
        # When an attacker guesses its secret 3 times from one address
        guesses = [attempt(key["key_id"], f"guess-{n}", "192.0.2.66")[0] for n in range(3)]
        # and the owner exchanges it from another address
        owner = attempt(key["key_id"], key["secret"], "192.0.2.77")
        # and the attacker's address tries another key id
        other = attempt("key_other", "x", "192.0.2.66")

    # Then the attacker's 3rd guess is 429 unhashed, and the owner still gets a token
    assert guesses == [401, 401, 429] and len(hashes) == 2 + 1 + 1
    assert owner[0] == 200 and other[0] == 401


def test_ipv6_callers_are_throttled_per_64_prefix(seeded: TradingStore) -> None:
    from redfire_core.services import key_checks

    with (
        patch.object(key_checks.attempt_limiters()[0], "limit", 2),
        patch("redfire_api.security.time.time", return_value=1_800_000_030.0),
    ):
        answers = [attempt("key_x", "x", f"2001:db8:1:2::{n}")[0] for n in range(3)]
    assert answers == [401, 401, 429]


def test_the_local_gateway_throttles_by_the_peer_address_not_x_forwarded_for(
    seeded: TradingStore,
) -> None:
    from redfire_api.handler import handler
    from redfire_cli.localcloud.http_gateway import build_http_api_event
    from redfire_core.services import key_checks
    from tests.support.events import LambdaContext

    def through_local_gateway(forwarded_for: str) -> int:
        event = build_http_api_event(
            method="POST",
            target="/v1/auth/token",
            headers=[("content-type", "application/json"), ("x-forwarded-for", forwarded_for)],
            body=json.dumps({"key_id": "key_guess", "secret": "x"}).encode(),
            source_ip="127.0.0.1",
        )
        return int(handler(event, LambdaContext())["statusCode"])

    # Given a limit of 2 per address, when one peer claims 3 forwarded addresses
    with (
        patch.object(key_checks.attempt_limiters()[0], "limit", 2),
        patch("redfire_api.security.time.time", return_value=1_800_000_040.0),
    ):
        statuses = [through_local_gateway(f"10.9.0.{n}") for n in range(3)]

    # Then the peer's address (sourceIp) is what counts
    assert statuses == [401, 401, 429]

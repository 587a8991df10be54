"""External identity provider: RS256 tokens checked against the provider's JWKS.

The provider is a local ``http.server`` thread serving a key set made from an RSA key
generated here (no network). A valid token gets in with the account and scopes its claims
map to; every bad one gets the same 401 as a bad HS256 token, on REST and at WebSocket
$connect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.auth import JwksCache
from redfire_core.config import get_settings
from redfire_core.domain.roles import Role
from tests.integration.conftest import call_api, token_for
from tests.support.events import LambdaContext, load_event

ISSUER = "https://idp.example.com/"
AUDIENCE = "redfire-external"
ACCOUNT_CLAIM = "https://redfire.dev/account_id"
KID = "idp-key-1"


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


PROVIDER_KEY = _rsa_key()
ATTACKER_KEY = _rsa_key()


def _public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


class Provider:
    """The identity provider's JWKS endpoint: the served key set, and how often it was asked."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = [_public_jwk(PROVIDER_KEY, KID)]
        self.requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests += 1
                body = json.dumps({"keys": provider.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _clear_caches() -> None:
    from redfire_api import security
    from redfire_stream import ws_handler

    get_settings.cache_clear()
    security._jwks.cache_clear()
    ws_handler._jwks.cache_clear()


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    """A provider configured for this stage, as the CDK stage config would set it."""
    running = Provider()
    monkeypatch.setenv("REDFIRE_JWKS_URL", running.url)
    monkeypatch.setenv("REDFIRE_JWKS_ISSUER", ISSUER)
    monkeypatch.setenv("REDFIRE_JWKS_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("REDFIRE_JWKS_ACCOUNT_CLAIM", ACCOUNT_CLAIM)
    _clear_caches()
    yield running
    running.close()
    _clear_caches()  # the monkeypatched variables are gone right after: read afresh later


def _claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": "alice@example.com",
        ACCOUNT_CLAIM: "demo",
        "scope": "openid profile read trade",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=15)).timestamp()),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": "idp-token-1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def idp_token(
    claims: dict[str, Any] | None = None,
    key: rsa.RSAPrivateKey = PROVIDER_KEY,
    kid: str = KID,
) -> str:
    return jwt.encode(claims or _claims(), key, algorithm="RS256", headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _confused_token() -> str:
    """Algorithm confusion: HS256 'signed' with the provider's public key as the HMAC secret."""
    public_pem = PROVIDER_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _hand_made(
        {"alg": "HS256", "typ": "JWT", "kid": KID},
        _claims(),
        lambda data: hmac.new(public_pem, data, hashlib.sha256).digest(),
    )


def _bad_tokens() -> Iterator[tuple[str, Any]]:
    now = int(datetime.now(UTC).timestamp())
    yield "signed by another key under the provider's kid", lambda: idp_token(key=ATTACKER_KEY)
    yield "expired", lambda: idp_token(_claims(exp=now - 3600, iat=now - 7200))
    yield "not yet valid", lambda: idp_token(_claims(nbf=now + 3600))
    yield "wrong issuer", lambda: idp_token(_claims(iss="https://evil.example.com/"))
    yield "wrong audience", lambda: idp_token(_claims(aud="someone-else"))
    yield "unknown kid", lambda: idp_token(key=ATTACKER_KEY, kid="attacker-key")
    yield "no kid", lambda: jwt.encode(_claims(), PROVIDER_KEY, algorithm="RS256")
    yield "HS256 with the public key (algorithm confusion)", _confused_token
    yield "alg none", lambda: _hand_made({"alg": "none", "kid": KID}, _claims(), lambda _: b"")
    yield (
        "RS512 under an RS256 key",
        lambda: jwt.encode(_claims(), PROVIDER_KEY, algorithm="RS512", headers={"kid": KID}),
    )
    yield "no account claim", lambda: idp_token(_claims(**{ACCOUNT_CLAIM: None}))
    for claim in ("sub", "iat", "exp", "iss", "aud"):
        yield f"missing {claim}", lambda claim=claim: idp_token(_claims(**{claim: None}))


BAD_TOKENS = list(_bad_tokens())


def _unauthorized_body() -> dict[str, Any]:
    status, _, body = call_api("GET", "/v1/account", token="not-a-token")
    assert status == 401
    return {k: v for k, v in body.items() if k != "instance"}


def test_a_valid_provider_token_is_accepted_as_its_mapped_account(
    seeded: TradingStore, provider: Provider
) -> None:
    status, _, body = call_api("GET", "/v1/account", token=idp_token())
    assert status == 200, body
    assert body["id"] == "demo"
    status, _, orders = call_api("GET", "/v1/orders", token=idp_token())
    assert status == 200 and orders["items"] == []


def test_provider_scopes_map_onto_ours_and_too_small_a_scope_is_403(
    seeded: TradingStore, provider: Provider
) -> None:
    reader = idp_token(_claims(scope="openid read"))
    order = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"}
    assert call_api("GET", "/v1/orders", token=reader)[0] == 200
    status, _, body = call_api("POST", "/v1/orders", token=reader, body=order)
    assert status == 403 and body["code"] == "FORBIDDEN"
    status, _, body = call_api("POST", "/v1/orders", token=idp_token(), body=order)
    assert status in (201, 202), body


def test_a_scopes_claim_as_a_list_is_understood_and_operator_is_never_granted(
    seeded: TradingStore, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDFIRE_JWKS_SCOPES_CLAIM", "scp")
    _clear_caches()
    token = idp_token(_claims(scope=None, scp=["read", "operator"]))
    assert call_api("GET", "/v1/orders", token=token)[0] == 200
    status, _, _ = call_api("GET", "/v1/api-keys", token=token)
    assert status == 403


@pytest.mark.parametrize(("case", "make"), BAD_TOKENS, ids=[case for case, _ in BAD_TOKENS])
def test_every_bad_provider_token_gets_the_same_401(
    seeded: TradingStore, provider: Provider, case: str, make: Any
) -> None:
    expected = _unauthorized_body()
    status, headers, body = call_api("GET", "/v1/account", token=make())
    assert status == 401, case
    assert headers["content-type"] == "application/problem+json"
    assert {k: v for k, v in body.items() if k != "instance"} == expected


def test_our_own_hs256_tokens_still_work_beside_the_provider(
    seeded: TradingStore, provider: Provider
) -> None:
    assert call_api("GET", "/v1/account", token=token_for("demo", Role.TRADER))[0] == 200


def test_without_a_configured_provider_rs256_tokens_are_refused(seeded: TradingStore) -> None:
    _clear_caches()
    assert get_settings().jwks_url == ""
    status, _, body = call_api("GET", "/v1/account", token=idp_token())
    assert status == 401 and body["code"] == "UNAUTHORIZED"


def test_a_rotated_provider_key_is_fetched_once_on_its_unknown_kid(
    seeded: TradingStore, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDFIRE_JWKS_REFETCH_SECONDS", "1")
    _clear_caches()
    assert call_api("GET", "/v1/account", token=idp_token())[0] == 200
    assert provider.requests == 1  # cached from here on
    assert call_api("GET", "/v1/account", token=idp_token())[0] == 200
    assert provider.requests == 1
    new_key = _rsa_key()
    provider.keys.append(_public_jwk(new_key, "idp-key-2"))
    token = idp_token(key=new_key, kid="idp-key-2")
    time.sleep(1.1)  # past the refetch interval (within it, an unknown kid is just refused)
    assert call_api("GET", "/v1/account", token=token)[0] == 200
    assert provider.requests == 2
    assert call_api("GET", "/v1/account", token=token)[0] == 200
    assert provider.requests == 2


# --- the key set cache (a fake clock; the same local provider) ---------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_unknown_kids_refetch_at_most_once_per_interval(provider: Provider) -> None:
    clock = Clock()
    cache = JwksCache(provider.url, ttl_seconds=300, refetch_seconds=30, clock=clock)
    assert cache.key(KID) is not None
    for n in range(50):  # made-up kids cannot hammer the provider
        assert cache.key(f"made-up-{n}") is None
    assert provider.requests == 1
    clock.now += 31
    assert cache.key("made-up-again") is None
    assert provider.requests == 2


def test_the_key_set_is_refetched_after_its_ttl_and_a_removed_key_stops_working(
    provider: Provider,
) -> None:
    clock = Clock()
    cache = JwksCache(provider.url, ttl_seconds=300, refetch_seconds=30, clock=clock)
    assert cache.key(KID) is not None
    provider.keys = []
    clock.now += 299
    assert cache.key(KID) is not None and provider.requests == 1
    clock.now += 2
    assert cache.key(KID) is None and provider.requests == 2


def test_an_unreachable_provider_keeps_the_keys_it_had(provider: Provider) -> None:
    clock = Clock()
    cache = JwksCache(provider.url, ttl_seconds=300, refetch_seconds=30, clock=clock)
    assert cache.key(KID) is not None
    provider.close()
    clock.now += 301
    assert cache.key(KID) is not None  # stale but not empty: an outage logs nobody out


def test_only_https_or_loopback_urls_are_accepted() -> None:
    with pytest.raises(ValueError):
        JwksCache("http://idp.example.com/jwks.json")
    JwksCache("https://idp.example.com/jwks.json")


def test_private_and_non_rsa_keys_in_the_set_are_ignored(provider: Provider) -> None:
    private: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PROVIDER_KEY))
    provider.keys = [
        {**private, "kid": "private"},
        {"kty": "oct", "k": _b64(b"shared-secret-shared-secret-32by"), "kid": "hmac"},
        {**_public_jwk(PROVIDER_KEY, "enc"), "use": "enc"},
        {**_public_jwk(PROVIDER_KEY, "rs512"), "alg": "RS512"},
    ]
    cache = JwksCache(provider.url)
    assert [cache.key(kid) for kid in ("private", "hmac", "enc", "rs512")] == [None] * 4


# --- WebSocket $connect uses the same checks ---------------------------------------------


def _ws_connect(cid: str, token: str) -> dict[str, Any]:
    from redfire_stream.ws_handler import handler

    event = load_event("apigw_ws_connect")
    event["requestContext"]["connectionId"] = cid
    event["queryStringParameters"] = {"token": token}
    event["multiValueQueryStringParameters"] = {"token": [token]}
    reply: dict[str, Any] = handler(event, LambdaContext())
    return reply


def test_websocket_connect_accepts_a_provider_token_and_refuses_bad_ones(
    seeded: TradingStore, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redfire_stream import wiring
    from tests.support.stream_fakes import RecordingPoster

    monkeypatch.setattr(wiring, "ApiGatewayManagement", lambda url: RecordingPoster())
    wiring.stream.cache_clear()
    try:
        assert _ws_connect("c-ok", idp_token())["statusCode"] == 200
        for case, make in BAD_TOKENS:
            assert _ws_connect("c-bad", make()) == {"statusCode": 401}, case
    finally:
        wiring.stream.cache_clear()


@pytest.mark.parametrize("claimed", ["PLATFORM", "platform", "Fund_A", "x#orders"])
def test_a_provider_cannot_name_an_account_outside_the_account_id_pattern(
    seeded: TradingStore, provider: Provider, claimed: str
) -> None:
    # Given a provider token claiming a reserved or malformed account, as its admin
    token = idp_token(_claims(**{ACCOUNT_CLAIM: claimed, "scope": "read trade admin"}))
    halt = {"state": "halted", "reason": "posing as the platform"}

    # When it tries to set its "account's" trading state
    status, _, _ = call_api("PUT", "/v1/risk/state", body=halt, token=token)

    # Then the token is refused and the global trading state is untouched
    assert status == 401
    operator = token_for("platform-ops", Role.OPERATOR)
    status, _, state = call_api("GET", "/v1/risk/global-state", token=operator)
    assert status == 200 and state["state"] == "active"

"""Bearer tokens: HS256 JWTs with a 30-minute life, as the original design had.

Roles map to scopes; a token carries both. The signing secret lives in Secrets
Manager and is fetched lazily, then cached per container for a few minutes so a
rotation reaches every container without a redeploy.

Optionally (per stage) an external identity provider's RS256 tokens are accepted too:
their ``kid`` must name an RSA key of the provider's JWKS, which is cached per container.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redfire_core import hs256
from redfire_core.config import Settings
from redfire_core.domain.account_ids import account_id_problem, collides_with_internal_key
from redfire_core.domain.roles import ROLE_SCOPES, Role
from redfire_core.events import new_id

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "account_id", "role", "scopes", "iat", "exp", "iss", "aud", "jti")
LEEWAY_SECONDS = 30

# External (JWKS) tokens: one algorithm per key type, so a key can never verify anything else
# (an HS256 token "signed" with the provider's public key never reaches an RSA key).
EXTERNAL_ALGORITHM = "RS256"
EXTERNAL_KEY_TYPE = "RSA"
EXTERNAL_REQUIRED_CLAIMS = ("sub", "iat", "exp", "iss", "aud")
# Subjects of external tokens are namespaced so they can never pose as one of our API keys.
EXTERNAL_SUBJECT_PREFIX = "idp:"
MAX_JWKS_BYTES = 256 * 1024
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class InvalidToken(Exception):
    """The token is missing, malformed, expired or not ours (deliberately not saying which)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    account_id: str
    role: Role
    scopes: frozenset[str]
    token_id: str

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def signing_keys(secret: str) -> list[str]:
    """The HMAC keys in a secret value: a plain string, or, during a rotation,
    ``{"current": ..., "previous": ...}`` so tokens signed with either stay valid."""
    if secret.startswith("{"):
        try:
            value = json.loads(secret)
        except ValueError:
            return [secret]
        if isinstance(value, dict) and isinstance(value.get("current"), str):
            previous = value.get("previous")
            return [value["current"], *([previous] if isinstance(previous, str) else [])]
    return [secret]


def key_fingerprint(key: str) -> str:
    """Names a signing key in the token header (``kid``) without revealing it."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def issue_token(
    secret: str,
    *,
    account_id: str,
    role: Role,
    subject: str,
    settings: Settings,
    now: datetime,
    scopes: Sequence[str] | None = None,
) -> str:
    """A signed token; ``scopes`` narrows the role's (an API key may hold fewer)."""
    granted = list(ROLE_SCOPES[role]) if scopes is None else list(scopes)
    if not set(granted) <= set(ROLE_SCOPES[role]):
        raise ValueError("scopes exceed the role")
    claims: dict[str, Any] = {
        "sub": subject,
        "account_id": account_id,
        "role": role.value,
        "scopes": granted,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.token_ttl_seconds)).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": new_id(),
    }
    key = signing_keys(secret)[0]
    return hs256.encode(claims, key, headers={"kid": key_fingerprint(key)})


def verify_token(
    token: str, secret: str, settings: Settings, jwks: JwksCache | None = None
) -> Principal:
    """The principal of a valid token; ``InvalidToken`` for anything else.

    With ``jwks`` (the stage's external identity provider), a token whose header says RS256
    is checked against the provider's keys; every other token must be one of our HS256 ones.
    """
    try:
        header = hs256.unverified_header(token)
        if jwks is not None and header.get("alg") == EXTERNAL_ALGORITHM:
            return _verify_external(token, header, jwks, settings)
        keys = signing_keys(secret)
        kid = header.get("kid")
        key = next((k for k in keys if key_fingerprint(k) == kid), keys[0])
        claims = hs256.decode(  # HS256 pinned: refuses "none" and algorithm confusion
            token,
            key,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_SECONDS,
            required=REQUIRED_CLAIMS,
        )
        role = Role(claims["role"])
        scopes = claims["scopes"]
        if not isinstance(scopes, list) or not set(scopes) <= set(ROLE_SCOPES[role]):
            raise InvalidToken("scopes exceed the role")
        account_id = str(claims["account_id"])
        # Ids from before the account id pattern still verify; an internal key never does.
        if collides_with_internal_key(account_id):
            raise InvalidToken("the account id is reserved")
        return Principal(
            subject=str(claims["sub"]),
            account_id=account_id,
            role=role,
            scopes=frozenset(str(s) for s in scopes),
            token_id=str(claims["jti"]),
        )
    except (ValueError, KeyError, TypeError) as error:  # hs256.TokenError is a ValueError
        raise InvalidToken(str(error)) from None


def _verify_external(
    token: str, header: dict[str, Any], jwks: JwksCache, settings: Settings
) -> Principal:
    """An identity provider's RS256 token: known kid, RS256 only, its issuer and audience."""
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("no kid")
    key = jwks.key(kid)
    if key is None:
        raise InvalidToken("unknown kid")
    import jwt  # lazy: PyJWT loads cryptography; only stages with an identity provider need it

    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[EXTERNAL_ALGORITHM],
            audience=settings.jwks_audience,
            issuer=settings.jwks_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": list(EXTERNAL_REQUIRED_CLAIMS)},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    account_id = claims.get(settings.jwks_account_claim)
    if not isinstance(account_id, str) or not account_id:
        raise InvalidToken("no account claim")
    # The provider names accounts we never created: each must follow the account id pattern.
    if account_id_problem(account_id) is not None:
        raise InvalidToken("the account claim is not a valid account id")
    scopes = external_scopes(claims.get(settings.jwks_scopes_claim))
    role = Role.ADMIN if "admin" in scopes else Role.TRADER if "trade" in scopes else Role.VIEWER
    jti = claims.get("jti")
    token_id = jti if isinstance(jti, str) and jti else hashlib.sha256(token.encode()).hexdigest()
    return Principal(
        subject=EXTERNAL_SUBJECT_PREFIX + str(claims["sub"]),
        account_id=account_id,
        role=role,
        scopes=scopes,
        token_id=token_id,
    )


def external_scopes(value: object) -> frozenset[str]:
    """Our scopes among a provider's (a space-separated ``scope`` string or a list); the
    provider's own (``openid``, ``profile``...) are ignored and ``operator`` is never granted."""
    if isinstance(value, str):
        offered = set(value.split())
    elif isinstance(value, list):
        offered = {item for item in value if isinstance(item, str)}
    else:
        offered = set()
    return frozenset(offered & set(ROLE_SCOPES[Role.ADMIN]))


def parse_jwks(document: object) -> dict[str, Any]:
    """kid -> public key for every RSA signing key of a JWKS document (others are skipped)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    import jwt  # lazy: PyJWT loads cryptography; only RS256 verification needs it

    keys: dict[str, Any] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("kty") != EXTERNAL_KEY_TYPE or "d" in jwk:  # public RSA keys only
            continue
        if jwk.get("alg", EXTERNAL_ALGORITHM) != EXTERNAL_ALGORITHM:
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        try:
            keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm=EXTERNAL_ALGORITHM).key
        except jwt.PyJWTError:
            continue
    return keys


class JwksCache:
    """An identity provider's signing keys, fetched over HTTPS with urllib and kept
    ``ttl_seconds``; a kid not in the set refetches it, at most once per
    ``refetch_seconds`` (so tokens with made-up kids cannot hammer the provider)."""

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float = 300,
        refetch_seconds: float = 30,
        timeout_seconds: float = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "https" and not (
            parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS
        ):
            raise ValueError("the JWKS URL must be https")
        self.url = url
        self.ttl_seconds = ttl_seconds
        self.refetch_seconds = refetch_seconds
        self.timeout_seconds = timeout_seconds
        self.fetches = 0
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any | None:
        """The public key named ``kid``, or None when the provider does not have it."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.ttl_seconds
            may_refetch = self._fetched_at is None or now - self._fetched_at >= self.refetch_seconds
            if stale or (kid not in self._keys and may_refetch):
                self._refresh(now)
            return self._keys.get(kid)

    def _refresh(self, now: float) -> None:
        self._fetched_at = now  # also when it fails: the next try waits refetch_seconds
        self.fetches += 1
        try:
            self._keys = parse_jwks(self._fetch())
        except (OSError, ValueError, http.client.HTTPException):
            # Keep the keys we had (a provider outage must not log everyone out); retry soon.
            self._fetched_at = now - max(self.ttl_seconds - self.refetch_seconds, 0)

    def _fetch(self) -> object:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
            body = response.read(MAX_JWKS_BYTES + 1)
        if len(body) > MAX_JWKS_BYTES:
            raise ValueError("JWKS document too large")
        return json.loads(body)


def jwks_from_settings(settings: Settings) -> JwksCache | None:
    """The stage's key set cache, or None when no identity provider is fully configured
    (URL, issuer and audience all set): RS256 tokens are then refused like any other."""
    if not (settings.jwks_url and settings.jwks_issuer and settings.jwks_audience):
        return None
    return JwksCache(
        settings.jwks_url,
        ttl_seconds=settings.jwks_cache_seconds,
        refetch_seconds=settings.jwks_refetch_seconds,
    )


class SecretCache:
    """The JWT secret from Secrets Manager, refreshed every ``ttl_seconds``."""

    def __init__(self, secret_id: str, ttl_seconds: float = 300) -> None:
        self.secret_id = secret_id
        self.ttl_seconds = ttl_seconds
        self._value: str | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self._value is None or time.monotonic() - self._fetched_at > self.ttl_seconds:
                self._value = self._fetch()
                self._fetched_at = time.monotonic()
            return self._value

    def _fetch(self) -> str:
        import boto3  # lazy: only the API function pays for the client

        client = boto3.client("secretsmanager")
        return str(client.get_secret_value(SecretId=self.secret_id)["SecretString"])

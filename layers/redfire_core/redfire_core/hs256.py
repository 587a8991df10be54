"""Our own HS256 JWTs with the standard library: signing and the checks PyJWT's decode makes.

PyJWT loads ``cryptography`` at import (about 0.3 s of every cold start) although HS256
needs only ``hmac``; PyJWT stays for the RS256 tokens of an external identity provider,
imported where those are verified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

ALGORITHM = "HS256"


class TokenError(ValueError):
    """Malformed, badly signed, expired or not for us (callers turn it into one answer)."""


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(part: bytes) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as error:
        raise TokenError("not base64url") from error


def _json(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def encode(claims: Mapping[str, Any], key: str, headers: Mapping[str, Any] | None = None) -> str:
    """A compact JWS of ``claims`` signed with HMAC-SHA256."""
    header = {"alg": ALGORITHM, "typ": "JWT", **(headers or {})}
    signing_input = _b64encode(_json(header)) + b"." + _b64encode(_json(claims))
    signature = hmac.new(key.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64encode(signature)).decode()


def _parts(token: str) -> tuple[bytes, bytes, bytes]:
    raw = token.encode()
    if raw.count(b".") != 2:
        raise TokenError("not a compact JWS")
    header, payload, signature = raw.split(b".")
    return header, payload, signature


def _object(part: bytes) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(part))
    except ValueError as error:
        raise TokenError("not JSON") from error
    if not isinstance(value, dict):
        raise TokenError("not a JSON object")
    return value


def unverified_header(token: str) -> dict[str, Any]:
    """The header, unchecked: only to pick a key or an algorithm."""
    return _object(_parts(token)[0])


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims, unchecked: only for a token already verified elsewhere."""
    return _object(_parts(token)[1])


def decode(
    token: str,
    key: str,
    *,
    audience: str,
    issuer: str,
    leeway: float,
    required: Sequence[str],
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of an HS256 token signed with ``key``, for ``audience`` from ``issuer``,
    within its ``exp``/``iat``/``nbf`` (give or take ``leeway`` seconds); ``TokenError``
    otherwise. The algorithm is pinned: ``none`` and every other ``alg`` are refused."""
    header_part, payload_part, signature_part = _parts(token)
    if _object(header_part).get("alg") != ALGORITHM:
        raise TokenError("algorithm not allowed")
    expected = hmac.new(key.encode(), header_part + b"." + payload_part, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64decode(signature_part)):
        raise TokenError("signature mismatch")
    claims = _object(payload_part)
    missing = [name for name in required if name not in claims]
    if missing:
        raise TokenError(f"missing claims {missing}")
    current = datetime.now(UTC).timestamp() if now is None else now
    for name in ("exp", "iat", "nbf"):
        if name in claims and (
            isinstance(claims[name], bool) or not isinstance(claims[name], int | float)
        ):
            raise TokenError(f"{name} is not a number")
    if "exp" in claims and claims["exp"] <= current - leeway:
        raise TokenError("expired")
    for name in ("iat", "nbf"):
        if name in claims and claims[name] > current + leeway:
            raise TokenError(f"{name} is in the future")
    audiences = claims.get("aud")
    if isinstance(audiences, str):
        audiences = [audiences]
    if not isinstance(audiences, list) or audience not in audiences:
        raise TokenError("wrong audience")
    if claims.get("iss") != issuer:
        raise TokenError("wrong issuer")
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise TokenError(f"{name} is not a string")
    return claims

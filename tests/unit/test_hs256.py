"""Our HS256 tokens agree with PyJWT both ways and refuse what PyJWT's decode refuses."""

from __future__ import annotations

import jwt
import pytest

from redfire_core import hs256

KEY = "k" * 64
NOW = 1_800_000_000
CLAIMS = {"sub": "key_1", "iat": NOW, "exp": NOW + 1800, "iss": "redfire", "aud": "redfire-api"}
CHECKS = {"audience": "redfire-api", "issuer": "redfire", "leeway": 30, "required": ("sub",)}


def decode(token: str, now: float = NOW) -> dict:
    return hs256.decode(token, KEY, now=now, **CHECKS)  # type: ignore[arg-type]


def test_a_pyjwt_token_decodes_and_ours_decodes_with_pyjwt() -> None:
    theirs = jwt.encode(CLAIMS, KEY, algorithm="HS256", headers={"kid": "a"})
    assert decode(theirs) == CLAIMS
    ours = hs256.encode(CLAIMS, KEY, headers={"kid": "a"})
    assert jwt.get_unverified_header(ours)["kid"] == "a"
    assert (
        jwt.decode(
            ours,
            KEY,
            algorithms=["HS256"],
            audience="redfire-api",
            issuer="redfire",
            options={"verify_exp": False, "verify_iat": False},
        )
        == CLAIMS
    )


@pytest.mark.parametrize(
    ("token", "now"),
    [
        (jwt.encode(CLAIMS, "other" * 13, algorithm="HS256"), NOW),  # wrong key
        (jwt.encode(CLAIMS, KEY, algorithm="HS512"), NOW),  # another algorithm
        (jwt.encode(CLAIMS, None, algorithm="none"), NOW),  # unsigned
        (jwt.encode(CLAIMS, KEY, algorithm="HS256"), NOW + 1800 + 31),  # expired
        (jwt.encode(CLAIMS, KEY, algorithm="HS256"), NOW - 31),  # issued in the future
        (jwt.encode({**CLAIMS, "aud": "other"}, KEY, algorithm="HS256"), NOW),
        (jwt.encode({**CLAIMS, "iss": "other"}, KEY, algorithm="HS256"), NOW),
        (jwt.encode({k: v for k, v in CLAIMS.items() if k != "sub"}, KEY), NOW),
        (jwt.encode({**CLAIMS, "exp": "soon"}, KEY, algorithm="HS256"), NOW),
        (jwt.encode({**CLAIMS, "nbf": NOW + 60}, KEY, algorithm="HS256"), NOW),
        ("a.b", NOW),
        ("!!.??.**", NOW),
    ],
)
def test_a_token_pyjwt_would_refuse_is_refused(token: str, now: float) -> None:
    with pytest.raises(hs256.TokenError):
        decode(token, now)


def test_an_audience_list_holding_ours_is_accepted_within_the_leeway() -> None:
    token = hs256.encode({**CLAIMS, "aud": ["x", "redfire-api"]}, KEY)
    assert decode(token, NOW + 1800 + 29)["sub"] == "key_1"

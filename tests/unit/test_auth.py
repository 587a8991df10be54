"""Bearer tokens: only an unexpired HS256 token of ours, for our audience, with every claim."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from redfire_core.auth import REQUIRED_CLAIMS, InvalidToken, Principal, issue_token, verify_token
from redfire_core.config import Settings
from redfire_core.domain.roles import ROLE_SCOPES, Role

SECRET = "unit-test-signing-secret-" + "s" * 48  # long enough for HS512 too
OTHER_SECRET = "another-signing-secret-" + "o" * 48
SETTINGS = Settings(
    stage="test", jwt_issuer="redfire", jwt_audience="redfire-api", token_ttl_seconds=1800
)


def _now() -> datetime:
    # verify_token checks expiry against the wall clock, so tokens are minted relative to it.
    return datetime.now(UTC)


def _claims(**changes: Any) -> dict[str, Any]:
    """Valid trader claims issued now; a value of None removes the claim."""
    now = int(_now().timestamp())
    claims = {
        "sub": "user-1",
        "account_id": "acct-1",
        "role": "trader",
        "scopes": ["read", "trade"],
        "iat": now,
        "exp": now + 600,
        "iss": "redfire",
        "aud": "redfire-api",
        "jti": "01JD0000000000000000000001",
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _sign(claims: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(token, SECRET, SETTINGS)


@pytest.mark.parametrize("role", list(Role))
def test_an_issued_token_round_trips_to_its_principal(role: Role) -> None:
    # Given a token issued for a role
    token = issue_token(
        SECRET, account_id="acct-1", role=role, subject="user-1", settings=SETTINGS, now=_now()
    )

    # When it is verified
    principal = verify_token(token, SECRET, SETTINGS)

    # Then the principal carries the account, role and exactly the role's scopes
    assert (principal.subject, principal.account_id, principal.role) == ("user-1", "acct-1", role)
    assert principal.scopes == frozenset(ROLE_SCOPES[role])
    assert principal.token_id


def test_every_issued_token_has_its_own_id() -> None:
    # Given two tokens issued at the same moment, then their ids differ
    now = _now()
    ids = {
        verify_token(
            issue_token(
                SECRET, account_id="a", role=Role.VIEWER, subject="s", settings=SETTINGS, now=now
            ),
            SECRET,
            SETTINGS,
        ).token_id
        for _ in range(2)
    }
    assert len(ids) == 2


def test_a_principal_has_only_the_scopes_it_was_given() -> None:
    # Given a viewer, then it may read and may not trade
    principal = verify_token(_sign(_claims(role="viewer", scopes=["read"])), SECRET, SETTINGS)
    assert isinstance(principal, Principal)
    assert principal.has_scope("read")
    assert not principal.has_scope("trade")


def test_a_token_issued_half_an_hour_ago_has_expired() -> None:
    # Given a token issued 31 minutes ago with the 30-minute life
    token = issue_token(
        SECRET,
        account_id="acct-1",
        role=Role.TRADER,
        subject="user-1",
        settings=SETTINGS,
        now=_now() - timedelta(minutes=31),
    )

    # Then it is refused
    _refused(token)


def test_an_expired_token_is_refused() -> None:
    # Given a token that expired two minutes ago (beyond the 30 s leeway), then it is refused
    now = int(_now().timestamp())
    _refused(_sign(_claims(iat=now - 900, exp=now - 120)))


def test_a_token_expired_within_the_clock_leeway_is_still_accepted() -> None:
    # Given a token that expired 5 s ago, then the 30 s leeway for clock skew lets it through
    now = int(_now().timestamp())
    assert verify_token(_sign(_claims(exp=now - 5)), SECRET, SETTINGS).subject == "user-1"


def test_a_token_that_is_not_yet_valid_is_refused() -> None:
    # Given a token whose nbf is an hour from now, then it is refused
    _refused(_sign(_claims(nbf=int(_now().timestamp()) + 3600)))


def test_a_token_issued_in_the_future_is_refused() -> None:
    # Given a token whose iat is an hour from now (a forged or badly skewed clock)
    # Then it is refused (PyJWT 2.x rejects iat beyond now + leeway)
    _refused(_sign(_claims(iat=int(_now().timestamp()) + 3600)))


def test_a_token_with_a_tampered_payload_is_refused() -> None:
    # Given a valid viewer token whose payload is swapped for an admin one, signature kept
    header, _, signature = _sign(_claims(role="viewer", scopes=["read"])).split(".")
    forged = _b64(_claims(role="admin", scopes=["read", "trade", "admin"]))

    # Then the signature no longer matches
    _refused(f"{header}.{forged}.{signature}")


def test_a_token_signed_with_another_secret_is_refused() -> None:
    # Given an HS256 token signed with a secret that is not ours, then it is refused
    _refused(_sign(_claims(), secret=OTHER_SECRET))


def test_an_unsigned_alg_none_token_is_refused() -> None:
    # Given a token with "alg": "none" and no signature, then it is refused
    _refused(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.")


def test_a_token_signed_with_another_hmac_algorithm_is_refused() -> None:
    # Given a token signed with our secret but HS512, then only the pinned HS256 is accepted
    _refused(_sign(_claims(), algorithm="HS512"))


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "Bearer x.y.z"])
def test_a_malformed_token_is_refused(token: str) -> None:
    # Given something that is not a JWT, then it is refused
    _refused(token)


def test_a_token_from_another_issuer_is_refused() -> None:
    # Given a token issued by someone else, then it is refused
    _refused(_sign(_claims(iss="someone-else")))


def test_a_token_for_another_audience_is_refused() -> None:
    # Given a token meant for another service, then it is refused
    _refused(_sign(_claims(aud="billing-api")))


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_a_token_missing_a_required_claim_is_refused(claim: str) -> None:
    # Given an otherwise valid token without one required claim, then it is refused
    claims = _claims()
    del claims[claim]
    _refused(_sign(claims))


@pytest.mark.parametrize(
    ("role", "scopes"),
    [
        ("viewer", ["read", "trade"]),
        ("trader", ["read", "trade", "admin"]),
        ("operator", ["read"]),
    ],
)
def test_a_token_with_scopes_beyond_its_role_is_refused(role: str, scopes: list[str]) -> None:
    # Given a token that claims more scopes than its role grants, then it is refused
    _refused(_sign(_claims(role=role, scopes=scopes)))


def test_a_token_with_scopes_that_are_not_a_list_is_refused() -> None:
    # Given scopes as a space-separated string, then it is refused
    _refused(_sign(_claims(scopes="read trade")))


def test_a_token_with_an_unknown_role_is_refused() -> None:
    # Given a role that does not exist, then it is refused
    _refused(_sign(_claims(role="superuser", scopes=[])))

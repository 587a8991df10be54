"""The stage's external identity provider (``jwks`` in cdk.json) reaches exactly the functions
that check tokens (API and WebSocket), and a half-configured provider is refused on load."""

from __future__ import annotations

import pytest

from tests.infra.conftest import PROD_JWKS, Synthesis, cdk_json_context

pytestmark = pytest.mark.slow  # synthesizes the stack (seconds)

TOKEN_CHECKERS = ("api", "ws")
JWKS_VARIABLES = {
    "REDFIRE_JWKS_URL": PROD_JWKS["url"],
    "REDFIRE_JWKS_ISSUER": PROD_JWKS["issuer"],
    "REDFIRE_JWKS_AUDIENCE": PROD_JWKS["audience"],
    "REDFIRE_JWKS_ACCOUNT_CLAIM": PROD_JWKS["account_claim"],
}


def _environments(synthesis: Synthesis) -> dict[str, dict[str, str]]:
    """Function name -> its environment variables."""
    return {
        resource["Properties"]["FunctionName"]: resource["Properties"]
        .get("Environment", {})
        .get("Variables", {})
        for resource in synthesis.resources("AWS::Lambda::Function").values()
        if isinstance(resource["Properties"].get("FunctionName"), str)
    }


def test_the_api_and_websocket_functions_get_the_stages_identity_provider(
    prod: Synthesis,
) -> None:
    environments = _environments(prod)
    for name in TOKEN_CHECKERS:
        variables = environments[f"redfire-prod-{name}"]
        assert {k: variables.get(k) for k in JWKS_VARIABLES} == JWKS_VARIABLES, name


def test_no_other_function_sees_the_identity_provider(prod: Synthesis) -> None:
    checkers = {f"redfire-prod-{name}" for name in TOKEN_CHECKERS}
    for name, variables in _environments(prod).items():
        if name not in checkers:
            assert not any(k.startswith("REDFIRE_JWKS_") for k in variables), name


def test_a_stage_without_a_provider_sets_nothing(dev: Synthesis) -> None:
    for name, variables in _environments(dev).items():
        assert not any(k.startswith("REDFIRE_JWKS_") for k in variables), name


@pytest.mark.parametrize(
    ("jwks", "message"),
    [
        ({"url": "https://idp.example.com/jwks.json", "issuer": "x"}, "audience"),
        ({**PROD_JWKS, "url": "http://idp.example.com/jwks.json"}, "https"),
        ({**PROD_JWKS, "algorithm": "HS256"}, "unknown keys"),
        ("https://idp.example.com/jwks.json", "object or null"),
    ],
)
def test_a_half_configured_provider_is_refused(jwks: object, message: str) -> None:
    from redfire_infra.stage_config import StageConfigError, stage_config_from_context

    context = cdk_json_context()
    stages = {"dev": {**context["redfire:stages"]["dev"], "jwks": jwks}}
    with pytest.raises(StageConfigError, match=message):
        stage_config_from_context({"stage": "dev", "redfire:stages": stages})


def test_only_the_api_function_gets_the_stages_graphql_limits(prod: Synthesis) -> None:
    for name, variables in _environments(prod).items():
        graphql = {k: v for k, v in variables.items() if k.startswith("REDFIRE_GRAPHQL_")}
        if name == "redfire-prod-api":
            assert graphql == {
                "REDFIRE_GRAPHQL_INTROSPECTION": "false",
                "REDFIRE_GRAPHQL_MAX_MUTATIONS": "10",
            }
        else:
            assert graphql == {}, name

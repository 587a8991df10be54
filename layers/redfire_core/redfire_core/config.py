"""Typed runtime settings, read once per container from the environment."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator

from redfire_core.domain.quotas import Quotas
from redfire_core.resources import BUCKETS, Declaration

if TYPE_CHECKING:
    from redfire_core.domain.caps import StageCaps

# Risk limits per stage where they differ from the domain's defaults (redfire_core.domain.risk
# .RiskLimits): decimal strings, as PUT /v1/risk/limits takes them.
RISK_LIMIT_DEFAULTS: dict[str, dict[str, str]] = {
    "prod": {
        "max_order_notional": "250000",
        "max_orders_per_second": "10",
        "max_orders_per_minute": "300",
        "duplicate_window_seconds": "2",
    },
}


ENV_PREFIX = "REDFIRE_"


class Settings(BaseModel):
    """Everything a function needs to know about its stage; names derive from the declaration.

    Each field is read from ``REDFIRE_<FIELD>`` (any case) unless passed as an argument; a
    dict field's variable holds JSON. A plain pydantic model: pydantic-settings would add
    about 0.15 s to every cold start for these few variables."""

    model_config = ConfigDict(extra="ignore")

    stage: str = "dev"
    # True only inside the local cloud (`redfire dev`): enables dev-only conveniences.
    local: bool = False
    jwt_issuer: str = "redfire"
    jwt_audience: str = "redfire-api"
    token_ttl_seconds: int = 1800
    # Optional external identity provider (RS256 tokens checked against its JWKS); off when
    # jwks_url is empty. The claim names map the provider's tokens onto an account and scopes.
    jwks_url: str = ""
    jwks_issuer: str = ""
    jwks_audience: str = ""
    jwks_account_claim: str = "account_id"
    jwks_scopes_claim: str = "scope"
    # The key set is cached this long; an unknown kid refetches it at most once per interval.
    jwks_cache_seconds: int = 300
    jwks_refetch_seconds: int = 30
    # Seconds a price may be old and still fill a market order on the paper gateway.
    max_price_age_seconds: int = 300
    instrument_cache_seconds: int = 60
    # WebSocket management API (post_to_connection); empty: derived from the ws event.
    ws_management_url: str = ""
    # How long stream messages are kept for a resume (seconds).
    stream_retention_seconds: int = 86_400
    # Where bars live: "dynamodb" (default) or "timestream" (stages with timestream_enabled).
    marketdata_store: str = "dynamodb"
    # Requests per second per caller (token subject) before 429; 0 turns the limit off.
    rate_limit_per_second: int = 50
    # Tokens a container takes from that limit in one DynamoDB write (1: a write per request).
    rate_limit_lease: int = 20
    # POST /v1/auth/token, checked before any hashing: exchanges per minute from one source
    # address, and per key id from one address (never per key id alone: ids are not secret).
    token_exchanges_per_address_per_minute: int = 20
    token_exchanges_per_key_per_minute: int = 5
    max_request_bytes: int = 1_048_576
    # Orders still ``submitted`` this long after creation are denied (RISK_TIMEOUT).
    risk_timeout_seconds: int = 120
    # Host of the binance klines provider. api.binance.com answers 451 to US addresses;
    # stages in US regions use the public market data mirror https://data-api.binance.vision.
    binance_base_url: str = "https://api.binance.com"
    # Bucket names on a deployed stage (CloudFormation names them; the variables are
    # resources.Bucket.environment_variable). Empty: the declaration's local name.
    marketdata_uploads_bucket: str = ""
    backtest_results_bucket: str = ""
    # GraphQL: whether introspection (__schema, __type) is answered, and how many mutations
    # one request may hold (each counts against the caller's rate limit).
    graphql_introspection: bool = True
    graphql_max_mutations: int = 10
    # How long `POST /v2/orders` waits for the pre-trade decision before it answers
    # `pending_new` (cdk.json ``alpaca_decision_wait_seconds``).
    alpaca_decision_wait_seconds: float = 2.0
    # Per-account quotas (429 QUOTA_EXCEEDED; 0 turns one off), from cdk.json "quotas".
    quota_concurrent_sweeps: int = 2
    quota_combinations_per_day: int = 20_000
    quota_running_instances: int = 10
    # The stage's caps on risk limits and execution settings (JSON, cdk.json ``limit_caps``);
    # redfire_core.domain.caps.DEFAULT_CAPS fills the keys left out.
    limit_caps: dict[str, str] = Field(default_factory=dict)

    # Venue accounts (docs/trading.md): the ccxt exchange ids an admin may route to
    # (comma-separated), endpoint overrides per gateway kind (JSON: {"alpaca": "http://..."},
    # the local cloud's fake venues), and how long PUT /v1/account/gateway waits for the check.
    venue_exchanges: str = "binance"
    venue_base_urls: dict[str, str] = Field(default_factory=dict)
    gateway_connect_wait_seconds: float = 5.0

    # Deployed stages with `deep_tracing` in cdk.json: Powertools' Tracer and the X-Ray SDK
    # (subsegments per AWS call). Off, Lambda's active tracing still records each invocation.
    deep_tracing: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        """Arguments win over the environment, as pydantic-settings had it."""
        if not isinstance(data, dict):
            return data
        return {**_environment(), **data}

    def caps(self) -> StageCaps:
        """The stage caps (parsed once per distinct value)."""
        return _stage_caps(tuple(sorted(self.limit_caps.items())))

    def risk_limit_defaults(self) -> dict[str, str]:
        """The stage's default risk limits (wire form); accounts and symbols override them."""
        defaults = {"max_price_age_seconds": str(self.max_price_age_seconds)}
        return defaults | RISK_LIMIT_DEFAULTS.get(self.stage, {})

    def quotas(self) -> Quotas:
        return Quotas(
            concurrent_sweeps=self.quota_concurrent_sweeps,
            combinations_per_day=self.quota_combinations_per_day,
            running_instances=self.quota_running_instances,
        )

    @property
    def declaration(self) -> Declaration:
        return Declaration(self.stage)

    def table_name(self, logical: str) -> str:
        return self.declaration.name(logical)

    def bucket_name(self, logical: str) -> str:
        """The name of the declared bucket ``logical`` on this stage."""
        field = BUCKETS[logical].environment_variable.removeprefix("REDFIRE_").lower()
        return str(getattr(self, field)) or self.declaration.bucket_name(logical)


def _environment() -> dict[str, Any]:
    """The REDFIRE_* variables that name a field, keyed by field; dict fields parsed as JSON."""
    fields = Settings.model_fields
    found: dict[str, Any] = {}
    for name, value in os.environ.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        field = name[len(ENV_PREFIX) :].lower()
        if field in fields:
            is_json = get_origin(fields[field].annotation) is dict
            found[field] = json.loads(value) if is_json else value
    return found


@lru_cache(maxsize=8)
def _stage_caps(items: tuple[tuple[str, str], ...]) -> StageCaps:
    from redfire_core.domain.caps import parse_caps  # lazy: the domain loads only when needed

    return parse_caps(dict(items))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this container (cached: the environment does not change under Lambda)."""
    return Settings()

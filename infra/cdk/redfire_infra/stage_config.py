"""Typed settings of one stage, read from the ``redfire:stages`` context of ``cdk.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from redfire_core.domain.bars import INTERVALS
from redfire_core.domain.caps import parse_caps
from redfire_core.providers import provider_names
from redfire_core.resources import FUNCTIONS, MAX_CONCURRENCY_RANGE, QUEUES, Schedule

STAGE_CONTEXT_KEY = "stage"
STAGES_CONTEXT_KEY = "redfire:stages"
DEFAULT_STAGE = "dev"

# CloudWatch Logs accepts only these retention periods.
_RETENTION_BY_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

_REMOVAL_POLICIES: dict[str, RemovalPolicy] = {
    "destroy": RemovalPolicy.DESTROY,
    # Kept through stack updates and deletes, but deleted when the deploy that created them
    # rolls back (DeletionPolicy RetainExceptOnCreate), so a failed first deploy can be retried.
    "retain": RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    "snapshot": RemovalPolicy.SNAPSHOT,
}


class StageConfigError(ValueError):
    """The stage asked for, or its settings in ``cdk.json``, are not valid."""


# The stage's external identity provider (``"jwks"`` in cdk.json): key -> function variable.
# The decision wait of `POST /v2/orders` stays well inside the API function's 29 s.
MAX_ALPACA_DECISION_WAIT_SECONDS = 10
_JWKS_REQUIRED = ("url", "issuer", "audience")
_JWKS_VARIABLES = {
    "url": "REDFIRE_JWKS_URL",
    "issuer": "REDFIRE_JWKS_ISSUER",
    "audience": "REDFIRE_JWKS_AUDIENCE",
    "account_claim": "REDFIRE_JWKS_ACCOUNT_CLAIM",
    "scopes_claim": "REDFIRE_JWKS_SCOPES_CLAIM",
}

# Per-account quotas (``"quotas"`` in cdk.json; 0 turns one off): key -> function variable.
_QUOTA_VARIABLES = {
    "concurrent_sweeps": "REDFIRE_QUOTA_CONCURRENT_SWEEPS",
    "combinations_per_day": "REDFIRE_QUOTA_COMBINATIONS_PER_DAY",
    "running_instances": "REDFIRE_QUOTA_RUNNING_INSTANCES",
}


@dataclass(frozen=True)
class StageConfig:
    """What differs between dev, staging and prod; every other fact comes from the declaration."""

    stage: str
    log_retention_days: int
    removal_policy: str  # "destroy" | "retain" | "snapshot" for stateful resources
    api_throttle_rate: float  # steady-state requests per second on the HTTP API stage
    api_throttle_burst: int
    alarm_email: str | None = None  # alarms notify this address when set
    timestream_enabled: bool = False  # DynamoDB market data store unless the account has it
    # External identity provider whose RS256 tokens the API and WebSocket accept (None: off):
    # {"url", "issuer", "audience", optional "account_claim", "scopes_claim"}.
    jwks: dict[str, str] | None = None
    # API Gateway access logs of the WebSocket API. They need the account-wide (per region)
    # API Gateway CloudWatch role, which the stack then creates and sets (docs/deploy.md).
    websocket_access_logs: bool = False
    # Queue logical name -> MaximumConcurrency of its consumer, overriding the declaration's.
    queue_max_concurrency: dict[str, int] = field(default_factory=dict)
    # Function name -> reserved concurrent executions (opt-in: a deploy fails when
    # reservations leave fewer than 100 unreserved executions in the account).
    reserved_concurrency: dict[str, int] = field(default_factory=dict)
    # DynamoDB deletion protection; off until the first deploy succeeded, because a protected
    # table cannot be deleted by the rollback of the deploy that created it.
    table_deletion_protection: bool = False
    # The CloudWatch dashboard: $3.00 a month at list price (free for an account's first
    # three), more than the rest of an idle stage's alarms; off unless a stage asks for it.
    dashboard: bool = False
    # The web console on S3 behind CloudFront (docs/console.md); synth then needs its build
    # (`make console`), so it is opt-in per stage.
    web_console: bool = False
    # Powertools' Tracer with the X-Ray SDK in every function (subsegments per AWS call):
    # about 0.2-0.4 s more per cold start. Off, Lambda's active tracing still records each
    # invocation (its duration and cold start) without any SDK in the code.
    deep_tracing: bool = False
    # Host of the binance klines provider (None: Settings' default, api.binance.com, which
    # answers 451 to US addresses; https://data-api.binance.vision is the public mirror).
    binance_base_url: str | None = None
    # GraphQL on the API: whether introspection is answered, and how many mutations one
    # request may hold (each still counts against the caller's rate limit).
    graphql_introspection: bool = True
    graphql_max_mutations: int = 10
    # How long `POST /v2/orders` (Alpaca's dialect) waits for the pre-trade decision before
    # answering `pending_new`; within the API function's timeout.
    alpaca_decision_wait_seconds: float = 2
    # Per-account quotas of the functions that take work requests (None: Settings' defaults):
    # {"concurrent_sweeps", "combinations_per_day", "running_instances"}.
    quotas: dict[str, int] | None = None
    # The most an account's admin may set each risk limit and execution setting to (decimal
    # strings by key, redfire_core.domain.caps.CAP_KEYS); keys left out take DEFAULT_CAPS.
    limit_caps: dict[str, str] = field(default_factory=dict)
    # Lambda SnapStart for every function (docs/deploy.md, "SnapStart"): each deploy
    # publishes a version and a "live" alias that the triggers invoke. Off unless asked.
    snapstart: bool = False
    # Scheduled market data ingest (none unless a stage asks): each entry
    # {"provider", "symbols", "intervals"} becomes one schedule per interval that invokes
    # the ingest function as often as a bar of that interval closes.
    ingest: list[dict[str, Any]] = field(default_factory=list)
    # Strategy, provider and gateway plug-ins for the stage: pip requirements ("pkg==1.0")
    # or local wheels / project folders relative to the repository root. Non-empty, they
    # become a "plugins" layer on the functions that load plug-ins (docs/backtesting.md).
    plugins: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.log_retention_days not in _RETENTION_BY_DAYS:
            raise StageConfigError(
                f"{self.stage}: log_retention_days={self.log_retention_days} is not one of "
                f"{sorted(_RETENTION_BY_DAYS)}"
            )
        if self.removal_policy not in _REMOVAL_POLICIES:
            raise StageConfigError(
                f"{self.stage}: removal_policy={self.removal_policy!r} is not one of "
                f"{sorted(_REMOVAL_POLICIES)}"
            )
        if self.api_throttle_rate <= 0 or self.api_throttle_burst <= 0:
            raise StageConfigError(f"{self.stage}: API throttling must be positive")
        if self.jwks is not None:
            self._check_jwks(self.jwks)
        if not isinstance(self.limit_caps, dict):
            raise StageConfigError(f"{self.stage}: limit_caps must be an object")
        try:
            parse_caps(self.limit_caps)
        except ValueError as error:
            raise StageConfigError(f"{self.stage}: limit_caps: {error}") from None
        if self.binance_base_url is not None and not self.binance_base_url.startswith("https://"):
            raise StageConfigError(f"{self.stage}: binance_base_url must be https")
        if self.graphql_max_mutations < 1:
            raise StageConfigError(f"{self.stage}: graphql_max_mutations must be at least 1")
        if not 0 <= self.alpaca_decision_wait_seconds <= MAX_ALPACA_DECISION_WAIT_SECONDS:
            raise StageConfigError(
                f"{self.stage}: alpaca_decision_wait_seconds must be 0 to "
                f"{MAX_ALPACA_DECISION_WAIT_SECONDS}"
            )
        if self.quotas is not None:
            self._check_quotas(self.quotas)
        self._check_concurrency()
        if not isinstance(self.snapstart, bool):
            raise StageConfigError(f"{self.stage}: snapstart must be true or false")
        self._check_ingest()
        if not isinstance(self.plugins, list) or not all(
            isinstance(entry, str) and entry.strip() for entry in self.plugins
        ):
            raise StageConfigError(
                f"{self.stage}: plugins must be a list of pip requirements or wheel paths"
            )

    def _check_ingest(self) -> None:
        if not isinstance(self.ingest, list):
            raise StageConfigError(f"{self.stage}: ingest must be a list")
        for n, entry in enumerate(self.ingest):
            where = f"{self.stage}: ingest[{n}]"
            if not isinstance(entry, dict) or set(entry) != {"provider", "symbols", "intervals"}:
                raise StageConfigError(f"{where} must have provider, symbols and intervals")
            if entry["provider"] not in provider_names():
                raise StageConfigError(
                    f"{where}: unknown provider {entry['provider']!r} "
                    f"(known: {', '.join(provider_names())})"
                )
            symbols, intervals = entry["symbols"], entry["intervals"]
            if (
                not isinstance(symbols, list)
                or not symbols
                or not all(isinstance(symbol, str) and symbol for symbol in symbols)
            ):
                raise StageConfigError(f"{where}: symbols must be a non-empty list of symbols")
            if (
                not isinstance(intervals, list)
                or not intervals
                or not set(intervals) <= set(INTERVALS)
            ):
                raise StageConfigError(
                    f"{where}: intervals must be a non-empty list among {', '.join(INTERVALS)}"
                )

    def ingest_schedules(self) -> list[Schedule]:
        """One schedule per configured provider and interval (``ingest`` in cdk.json)."""
        schedules = []
        for entry in self.ingest:
            for interval in entry["intervals"]:
                minutes = int(INTERVALS[interval].total_seconds() // 60)
                unit = "minute" if minutes == 1 else "minutes"
                schedules.append(
                    Schedule(
                        f"ingest-{entry['provider']}-{interval}",
                        function="ingest",
                        expression=f"rate({minutes} {unit})",
                        payload={
                            "provider": entry["provider"],
                            "symbols": list(entry["symbols"]),
                            "interval": interval,
                        },
                        purpose=f"{entry['provider']} {interval} bars of the stage's symbols",
                    )
                )
        return schedules

    def _check_quotas(self, quotas: object) -> None:
        if not isinstance(quotas, dict) or set(quotas) - set(_QUOTA_VARIABLES):
            raise StageConfigError(
                f"{self.stage}: quotas must be an object with keys among {sorted(_QUOTA_VARIABLES)}"
            )
        for key, value in quotas.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise StageConfigError(f"{self.stage}: quotas.{key} must be an integer >= 0")

    @property
    def quota_environment(self) -> dict[str, str]:
        """Variables of the functions that take work requests for the stage's quotas."""
        return {_QUOTA_VARIABLES[key]: str(value) for key, value in (self.quotas or {}).items()}

    def _check_concurrency(self) -> None:
        low, high = MAX_CONCURRENCY_RANGE
        unknown = set(self.queue_max_concurrency) - set(QUEUES)
        if unknown:
            raise StageConfigError(f"{self.stage}: queue_max_concurrency names {sorted(unknown)}")
        for queue, limit in self.queue_max_concurrency.items():
            if not isinstance(limit, int) or not low <= limit <= high:
                raise StageConfigError(
                    f"{self.stage}: queue_max_concurrency[{queue!r}]={limit!r} is not an "
                    f"integer from {low} to {high}"
                )
        unknown = set(self.reserved_concurrency) - set(FUNCTIONS)
        if unknown:
            raise StageConfigError(f"{self.stage}: reserved_concurrency names {sorted(unknown)}")
        for function, reserved in self.reserved_concurrency.items():
            if not isinstance(reserved, int) or reserved < 1:
                raise StageConfigError(
                    f"{self.stage}: reserved_concurrency[{function!r}]={reserved!r} is not a "
                    "positive integer"
                )

    def max_concurrency(self, queue: str) -> int:
        """MaximumConcurrency of the queue's consumer on this stage."""
        return self.queue_max_concurrency.get(queue, QUEUES[queue].max_concurrency)

    def _check_jwks(self, jwks: object) -> None:
        if not isinstance(jwks, dict):
            raise StageConfigError(f"{self.stage}: jwks must be an object or null")
        unknown = set(jwks) - set(_JWKS_VARIABLES)
        missing = [key for key in _JWKS_REQUIRED if not jwks.get(key)]
        if unknown or missing:
            raise StageConfigError(
                f"{self.stage}: jwks needs {list(_JWKS_REQUIRED)} (missing {missing}), "
                f"unknown keys {sorted(unknown)}"
            )
        if not str(jwks["url"]).startswith("https://"):
            raise StageConfigError(f"{self.stage}: jwks url must be https")

    @property
    def jwks_environment(self) -> dict[str, str]:
        """Variables of the token-checking functions (API, WebSocket) for the stage's provider."""
        if not self.jwks:
            return {}
        return {_JWKS_VARIABLES[key]: str(value) for key, value in self.jwks.items() if value}

    @property
    def caps_environment(self) -> dict[str, str]:
        """Every function's ``REDFIRE_LIMIT_CAPS``: the stage's caps, complete (JSON)."""
        return {"REDFIRE_LIMIT_CAPS": json.dumps(parse_caps(self.limit_caps).as_strings())}

    @property
    def tracing_environment(self) -> dict[str, str]:
        """Every function's ``REDFIRE_DEEP_TRACING`` (whether it loads the X-Ray SDK)."""
        return {"REDFIRE_DEEP_TRACING": "true" if self.deep_tracing else "false"}

    @property
    def provider_environment(self) -> dict[str, str]:
        """Variables of the functions that fetch from market data providers."""
        if not self.binance_base_url:
            return {}
        return {"REDFIRE_BINANCE_BASE_URL": self.binance_base_url}

    @property
    def api_environment(self) -> dict[str, str]:
        """Variables of the API function for the stage's GraphQL limits."""
        return {
            "REDFIRE_GRAPHQL_INTROSPECTION": "true" if self.graphql_introspection else "false",
            "REDFIRE_GRAPHQL_MAX_MUTATIONS": str(self.graphql_max_mutations),
            "REDFIRE_ALPACA_DECISION_WAIT_SECONDS": str(self.alpaca_decision_wait_seconds),
        }

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION_BY_DAYS[self.log_retention_days]

    @property
    def stateful_removal_policy(self) -> RemovalPolicy:
        """Removal policy of tables, secrets, log groups and buckets."""
        return _REMOVAL_POLICIES[self.removal_policy]

    @property
    def protects_data(self) -> bool:
        """True when stateful resources outlive the stack."""
        return self.removal_policy != "destroy"

    @classmethod
    def from_settings(cls, stage: str, settings: dict[str, Any]) -> StageConfig:
        known = {f.name for f in fields(cls)} - {"stage"}
        unknown = set(settings) - known
        if unknown:
            raise StageConfigError(f"{stage}: unknown stage settings {sorted(unknown)}")
        try:
            return cls(stage=stage, **settings)
        except TypeError as error:  # a required setting is missing
            raise StageConfigError(f"{stage}: {error}") from error


def stage_config_from_context(context: dict[str, Any]) -> StageConfig:
    """Pick the stage named by ``-c stage=<name>`` (default dev) from the context."""
    stage = context.get(STAGE_CONTEXT_KEY) or DEFAULT_STAGE
    stages = context.get(STAGES_CONTEXT_KEY)
    if not isinstance(stages, dict) or not stages:
        raise StageConfigError(f"context {STAGES_CONTEXT_KEY!r} is missing from cdk.json")
    if stage not in stages:
        raise StageConfigError(f"unknown stage {stage!r}; cdk.json declares {sorted(stages)}")
    return StageConfig.from_settings(stage, dict(stages[stage]))

"""The one declaration of RedFire's AWS resources.

Read by the CDK app (``infra/cdk``) and by the local cloud (``redfire dev``), so
the two cannot drift; ``tests/infra`` compares the synthesized template with it.
Pure data: no boto3, no CDK imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from redfire_core.domain.channels import (
    STRATEGY_CLIENT_ID_PREFIX,
    STRATEGY_ORDER_EVENTS,
    STREAMED_EVENTS,
)

KeyType = Literal["S", "N"]

APP = "redfire"
EVENT_SOURCE = "redfire"


def physical_name(stage: str, logical: str) -> str:
    """Name of a resource on a stage, e.g. ``redfire-dev-orders``."""
    return f"{APP}-{stage}-{logical}"


@dataclass(frozen=True)
class Gsi:
    name: str
    partition_key: str
    sort_key: str | None = None
    key_types: tuple[tuple[str, KeyType], ...] = ()


@dataclass(frozen=True)
class Table:
    logical: str
    partition_key: str = "pk"
    sort_key: str | None = "sk"
    gsis: tuple[Gsi, ...] = ()
    ttl_attribute: str | None = None
    stream: Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES"] | None = None
    # Writers may only create items (IAM grants PutItem alone; writes are conditional).
    append_only: bool = False
    purpose: str = ""

    def attribute_types(self) -> dict[str, KeyType]:
        """Every key attribute (table and GSIs) with its type: strings unless a GSI says."""
        names = [self.partition_key, self.sort_key]
        declared: dict[str, KeyType] = {}
        for gsi in self.gsis:
            names += [gsi.partition_key, gsi.sort_key]
            declared.update(dict(gsi.key_types))
        return {name: declared.get(name, "S") for name in names if name}


# Receives before a message is dead-lettered, at least: a throttled consumer (new accounts
# may have 10 concurrent executions) returns messages unprocessed, and each return counts.
MIN_MAX_RECEIVE_COUNT = 5
# Lambda's bounds on an SQS event source mapping's MaximumConcurrency.
MAX_CONCURRENCY_RANGE = (2, 1000)


@dataclass(frozen=True)
class Queue:
    logical: str
    consumer: str  # the function (key of FUNCTIONS) that polls it
    max_receive_count: int = MIN_MAX_RECEIVE_COUNT
    visibility_timeout_seconds: int = 60  # >= 6x the consumer's timeout, as AWS advises
    batch_size: int = 10
    dlq_retention_days: int = 14
    # Most concurrent consumer invocations: the event source mapping's MaximumConcurrency,
    # which caps the consumer without reserving account concurrency; a stage may override it
    # (``queue_max_concurrency`` in cdk.json).
    max_concurrency: int = MAX_CONCURRENCY_RANGE[0]
    # The local cloud runs the consumer in worker processes (max_concurrency of them, at most
    # one per core) instead of in its own process.
    local_workers: bool = False
    purpose: str = ""

    @property
    def dlq_logical(self) -> str:
        return f"{self.logical}-dlq"


@dataclass(frozen=True)
class Rule:
    logical: str
    queue: str  # key of QUEUES
    detail_types: tuple[str, ...]
    # A filter on the event's ``detail`` (EventBridge pattern syntax), for a consumer
    # that acts on only some events of these types: what it would ignore is never sent,
    # so it costs no SQS request and no invocation.
    detail: dict[str, Any] | None = field(default=None, hash=False)

    def event_pattern(self) -> dict[str, Any]:
        pattern: dict[str, Any] = {"source": [EVENT_SOURCE], "detail-type": list(self.detail_types)}
        if self.detail:
            pattern["detail"] = self.detail
        return pattern


@dataclass(frozen=True)
class Schedule:
    logical: str
    function: str  # key of FUNCTIONS
    expression: str  # EventBridge Scheduler expression
    payload: dict[str, Any]
    stages: tuple[str, ...] | None = None  # None = every stage
    purpose: str = ""
    # The local cloud runs schedules at most every 30 s; one that calls a venue keeps its rate.
    local_keeps_rate: bool = False

    def rate_seconds(self) -> int:
        """Period of a ``rate(N unit)`` expression, for the local scheduler."""
        inner = self.expression.removeprefix("rate(").removesuffix(")")
        amount, unit = inner.split()
        seconds = {
            "minute": 60,
            "minutes": 60,
            "hour": 3600,
            "hours": 3600,
            "day": 86400,
            "days": 86400,
        }
        return int(amount) * seconds[unit.lower()]


@dataclass(frozen=True)
class Function:
    name: str
    asset: str  # folder relative to the repository root, bundled as the code asset
    handler: str  # module.function, as Lambda imports it
    memory_mb: int = 512
    timeout_seconds: int = 10
    tables_read: tuple[str, ...] = ()
    tables_write: tuple[str, ...] = ()
    publishes_events: bool = False
    reads_jwt_secret: bool = False
    buckets_read: tuple[str, ...] = ()
    buckets_write: tuple[str, ...] = ()
    uses_timestream: bool = False  # the Timestream market data store, where a stage enables it
    manages_websockets: bool = False  # execute-api:ManageConnections on the WebSocket API
    queues_send: tuple[str, ...] = ()  # keys of QUEUES it sends messages to itself
    fetches_market_data: bool = False  # calls external providers (their stage settings)
    enforces_quotas: bool = False  # gets the stage's per-account quotas (cdk.json "quotas")
    # The accounts' venue credentials in Secrets Manager (``redfire/<stage>/venues/*``):
    # "read" (the venue functions), "write" (the API, which sets them).
    venue_secrets: Literal["read", "write"] | None = None
    # Looks up strategy, provider or gateway plug-ins: gets the stage's plug-ins layer
    # (cdk.json "plugins") when it has one.
    loads_plugins: bool = False
    purpose: str = ""
    # Keys of LAYERS the function runs with ("core" always; tests/infra/test_layers.py runs
    # every handler with only these layers on its path).
    layers: tuple[str, ...] = ("core",)


@dataclass(frozen=True)
class Bucket:
    """An S3 bucket whose objects live under ``prefix`` (functions are granted that prefix
    only); with ``notify_queue``, objects created there are sent to that queue."""

    logical: str
    notify_queue: str | None = None  # key of QUEUES
    prefix: str = ""
    expire_days: int | None = None
    # Versioned, so an overwrite or delete can be undone; replaced versions are kept this long.
    noncurrent_version_expire_days: int = 7
    purpose: str = ""

    @property
    def environment_variable(self) -> str:
        """The variable that gives functions (and the CLI) the bucket's name on a deployed
        stage, where CloudFormation names buckets (S3 names are global), e.g.
        ``REDFIRE_MARKETDATA_UPLOADS_BUCKET`` (``Settings.marketdata_uploads_bucket``)."""
        return f"REDFIRE_{self.logical.upper().replace('-', '_')}_BUCKET"

    @property
    def output_name(self) -> str:
        """The stack output with the bucket's name, e.g. ``MarketdataUploadsBucket``."""
        return "".join(part.title() for part in self.logical.split("-")) + "Bucket"


@dataclass(frozen=True)
class TimeseriesTable:
    """The Timestream database and table of the market data store (when a stage enables it)."""

    database_logical: str
    table_logical: str
    memory_retention_hours: int
    magnetic_retention_days: int


# --- tables ---------------------------------------------------------------------------

ORDERS = Table(
    "orders",
    # pk = account id; sk = "ORDER#<ulid>" | "CID#<client_order_id>" | "OUTBOX#<event id>"
    # (events of writes without an order; TTL removes them). Order items carry the events
    # of each write (``events``): the stream is the outbox.
    # gsi1 says what a non-final order waits for (gsi1sk = created_at#id): "SUBMITTED"
    # while it waits for its decision (the risk-timeout sweep finds every order waiting
    # past the timeout with one query), "OPEN#<symbol>" once it works (a price update and
    # the expiry sweep find it with one query per symbol). gsi2 ("OPEN#<account>") holds
    # every non-final order for cancel-all. Both lose their keys when the order is final
    # (sparse indexes): an order that fills at its decision enters and leaves each once.
    gsis=(
        Gsi("gsi1", "gsi1pk", "gsi1sk"),
        Gsi("gsi2", "gsi2pk", "gsi2sk"),
    ),
    ttl_attribute="ttl",
    stream="NEW_IMAGE",
    purpose="orders, client-order-id claims and the transactional outbox",
)
ACCOUNTS = Table(
    "accounts",
    # sk = "ACCOUNT" (cash, reservations, paper costs) | "ACTIVITY#<at>#<id>" (cash ledger)
    # Book items of accounts routed to a venue carry ``gateway`` ("alpaca", "ccxt:binance";
    # absent on paper accounts), the key of gsi1: the venue reconciliation lists a venue's
    # accounts from it without scanning the ledger (sparse index).
    gsis=(Gsi("gsi1", "gateway", "pk"),),
    purpose="accounts, their cash and the cash ledger",
)
TRADES = Table("trades", purpose="fills (executions), keyed by trade id per account")
POSITIONS = Table(
    "positions",
    # pk = account id, sk = "POSITION#<symbol>". Open positions (quantity <> 0) carry gsi1
    # keys (gsi1pk = "HOLDING#<symbol>", gsi1sk = account id) so post-trade monitoring
    # finds the holders of a symbol with one query; removed when flat (sparse index).
    gsis=(Gsi("gsi1", "gsi1pk", "gsi1sk"),),
    purpose="positions per account and symbol",
)
INSTRUMENTS = Table("instruments", purpose="tradable instruments with tick and lot sizes")
LIMITS = Table(
    "limits",
    # pk = account | "PLATFORM"; sk = "LIMITS" | "STATE" | "COUNTERS#<day>" (the day's
    # equity marks; see redfire_core.adapters.risk_store). Order, cancel and trade counts
    # live on the account's book item.
    ttl_attribute="expires_at",
    purpose="risk limits per account and symbol, trading states and the day's equity marks",
)
MARKET_DATA = Table(
    "marketdata",
    # pk = "BAR#<symbol>#<interval>#<yyyy-mm-dd>", sk = bar start; pk = "LATEST#<symbol>".
    purpose="bars and latest prices (the DynamoDB market data store)",
)
IDEMPOTENCY = Table(
    "idempotency",
    partition_key="id",
    sort_key=None,
    ttl_attribute="expiration",
    purpose="Powertools idempotency records and Idempotency-Key replies",
)
AUDIT = Table("audit", append_only=True, purpose="append-only record of security-relevant actions")
CONNECTIONS = Table(
    "connections",
    # pk = "CONN#<id>" (META, SUB#...) | "SUBS#<scope>#<channel>" | "WATCH#<account or
    # *#symbol>" (until when each channel is watched) | "CHAN#<scope>#<channel>"
    # (seq counter, delivered seq, delivery lease) | "MSG#<scope>#<channel>" (retained
    # messages by seq) | "EVT#<event id>#<n>" (the seq an event got); see stream_store.
    # META items carry gsi1 keys (gsi1pk = "CONN") so the sweep lists every connection
    # without scanning retained messages (sparse index).
    gsis=(Gsi("gsi1", "gsi1pk", "gsi1sk"),),
    ttl_attribute="ttl",
    purpose="WebSocket connections, subscriptions, channel sequences and retained messages",
)
API_KEYS = Table(
    "apikeys",
    # pk = key id, sk = "KEY"; gsi1 lists an account's keys (gsi1pk = account id).
    gsis=(Gsi("gsi1", "gsi1pk", "gsi1sk"),),
    purpose="API keys: salted scrypt hashes of their secrets, scopes, revocation",
)
# Why each queue message last failed (``redfire dlq show``), written by the consumer where the
# batch item fails, kept about as long as a DLQ keeps the message (adapters/failures.py).
FAILURES = Table(
    "failures",
    partition_key="message_id",
    sort_key=None,
    ttl_attribute="expires_at",
    purpose="the last failure reason of each queue message, for dead-letter inspection",
)

STRATEGIES = Table(
    "strategies",
    # pk = account id; sk = "BT#<id>" (a backtest and its statistics) | "BTHASH#<hash>"
    # (reproducibility claim -> backtest id) | "SWEEP#<id>" | "SWEEP#<id>#CHUNK#<n>"
    # (a finished chunk's results) | "INST#<id>" (a live strategy instance and its state).
    # Running instances carry gsi1 keys (gsi1pk = "RUNNING#<symbol>#<interval>") so a
    # bar finds the instances it drives with one query; removed when stopped (sparse).
    gsis=(Gsi("gsi1", "gsi1pk", "gsi1sk"),),
    purpose="backtests, parameter sweeps and live strategy instances with their state",
)

TABLES: dict[str, Table] = {
    t.logical: t
    for t in (
        API_KEYS,
        ORDERS,
        ACCOUNTS,
        TRADES,
        POSITIONS,
        INSTRUMENTS,
        LIMITS,
        MARKET_DATA,
        IDEMPOTENCY,
        AUDIT,
        CONNECTIONS,
        STRATEGIES,
        FAILURES,
    )
}

# --- functions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """A Lambda layer: the locked closure (``uv.lock``) of the distributions in ``requires``
    (names as uv.lock spells them, extras in brackets), less what the Python runtime provides
    and, for every layer but ``core``, less what ``core`` holds. ``core`` also carries the
    ``redfire_core`` package. Built by infra/cdk/redfire_infra/layer_contents.py."""

    name: str
    requires: tuple[str, ...]
    purpose: str = ""
    # The wheel platform of the Lambda build when the default (manylinux2014 aarch64) has no
    # wheels: numpy 2.5 and pandas 3 ship manylinux_2_28 only, which Lambda's python3.12
    # (Amazon Linux 2023, glibc 2.34) runs.
    platform: str | None = None


CORE_LAYER = "core"

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            CORE_LAYER,
            (
                "aws-lambda-powertools[tracer]",
                "pydantic",
                # HS256 tokens and API keys (redfire_core.auth); RS256 needs the rs256 layer.
                "pyjwt",
                "pynamodb",
                "python-ulid",
            ),
            purpose="redfire_core and what every function imports (<= 20 MB unzipped)",
        ),
        Layer(
            "web",
            ("fastapi", "mangum", "strawberry-graphql"),
            purpose="the HTTP API's web stack: FastAPI, Starlette, Mangum, Strawberry",
        ),
        Layer(
            "rs256",
            ("cryptography",),
            purpose="RS256 verification of an external identity provider's tokens (JWKS)",
        ),
        Layer(
            "parquet",
            ("pyarrow",),
            purpose="Parquet uploads (redfire_core.providers.files), ingest only",
        ),
        # One layer per venue kind (the dependency groups of the same names in pyproject.toml,
        # pinned in uv.lock), so no venue SDK reaches the paper path and the two stacks never
        # share a package (docs/venues.md, "Packaging").
        Layer(
            "venue-alpaca",
            ("alpaca-py",),
            purpose="alpaca-py with pandas and numpy: the venue-alpaca function only",
            platform="aarch64-manylinux_2_28",
        ),
        Layer(
            "venue-ccxt",
            ("ccxt",),
            purpose="ccxt and its HTTP stack: the venue-ccxt function only",
            platform="aarch64-manylinux_2_28",  # pycares (aiodns)
        ),
    )
}

# One queue (and function) per venue kind, so the paper path never loads a venue SDK;
# messages are sent by the decision hop, the API and the venue functions (delayed polls).
VENUE_QUEUES = ("venue-alpaca", "venue-ccxt")


def venue_queue(gateway: str) -> str:
    """The queue (and function) of an account's gateway: ``ccxt:binance`` -> ``venue-ccxt``."""
    return f"venue-{gateway.split(':', 1)[0]}"


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function(
            "api",
            asset="functions/api",
            handler="redfire_api.handler.handler",
            memory_mb=1024,
            timeout_seconds=29,
            tables_read=(
                "orders",
                "accounts",
                "trades",
                "positions",
                "instruments",
                "marketdata",
                "limits",
            ),
            # accounts: execution settings (PATCH /v1/account); instruments: operators.
            tables_write=(
                "orders",
                "idempotency",
                "audit",
                "accounts",
                "instruments",
                "apikeys",
                "limits",  # risk limits and trading states (PUT /v1/risk/...)
                "marketdata",  # ingest job records of pushed bars
                "strategies",  # backtest and sweep requests
            ),
            reads_jwt_secret=True,
            # PUT /v1/account/gateway: credentials, then a connect message to the venue.
            queues_send=VENUE_QUEUES,
            venue_secrets="write",
            enforces_quotas=True,  # backtests, sweeps and strategy instances
            buckets_write=("marketdata-uploads",),  # pushed bars, then ingested
            buckets_read=("backtest-results",),  # presigned links to backtest results
            uses_timestream=True,
            loads_plugins=True,
            purpose="HTTP API (FastAPI in Mangum)",
            layers=(CORE_LAYER, "web", "rs256"),
        ),
        Function(
            "risk",
            asset="functions/risk",
            handler="redfire_risk.handler.handler",
            tables_read=(
                "orders",
                "accounts",
                "instruments",
                "limits",
                "marketdata",
                "positions",
            ),
            # accounts: reservations; limits: counters, trading state; audit: breaches.
            tables_write=("orders", "accounts", "limits", "audit", "failures"),
            loads_plugins=True,  # gateway plug-ins
            purpose="post-trade monitoring (limits, trading states), RISK_TIMEOUT",
        ),
        Function(
            "orders",
            asset="functions/orders",
            handler="redfire_orders.handler.handler",
            tables_read=("orders", "accounts", "instruments", "marketdata", "positions"),
            tables_write=("orders", "accounts", "trades", "positions", "failures"),
            loads_plugins=True,  # gateway plug-ins
            purpose="order lifecycle after risk: paper gateway fills",
        ),
        Function(
            "ingest",
            asset="functions/ingest",
            handler="redfire_ingest.handler.handler",
            timeout_seconds=60,
            tables_read=("instruments",),
            tables_write=("marketdata",),
            publishes_events=True,
            buckets_read=("marketdata-uploads",),
            uses_timestream=True,
            fetches_market_data=True,
            loads_plugins=True,
            purpose="market data ingest: schedules, uploads, pushes, gap checks, backfills",
            layers=(CORE_LAYER, "parquet"),
        ),
        Function(
            "outbox",
            asset="functions/outbox",
            handler="redfire_outbox.handler.handler",
            # The decision hop reads limit overrides and trading states (limits) and writes
            # the order, the book with its counters (accounts) and the fill (trades, positions).
            tables_read=("instruments", "marketdata", "limits"),
            tables_write=("orders", "accounts", "trades", "positions"),
            publishes_events=True,
            queues_send=VENUE_QUEUES,  # a venue account's accepted and canceled orders
            loads_plugins=True,
            purpose="orders table stream: decide (and paper-fill) new orders; relay events",
        ),
        *(
            Function(
                f"venue-{kind}",
                asset=f"functions/venue_{kind}",
                handler=f"redfire_venue_{kind}.handler.handler",
                timeout_seconds=30,
                tables_read=("orders", "accounts", "instruments", "positions", "trades"),
                # The fill transaction (order, trade, position, book, ledger), the gateway
                # status on the book, the audit of the opening entry and of drift, and why a
                # message failed (failures).
                tables_write=("orders", "accounts", "trades", "positions", "audit", "failures"),
                queues_send=(f"venue-{kind}",),  # its own delayed polls
                venue_secrets="read",
                purpose=f"{kind} venue orders: submit, poll, cancel, replace, connect",
                layers=(CORE_LAYER, f"venue-{kind}"),
            )
            for kind in ("alpaca", "ccxt")
        ),
        Function(
            "ws",
            asset="functions/stream",
            handler="redfire_stream.ws_handler.handler",
            tables_read=("apikeys",),  # a revoked API key's tokens are refused, as on REST
            # idempotency: the key checks' throttle (Alpaca's authenticate), as on the API
            tables_write=("connections", "idempotency"),
            reads_jwt_secret=True,
            manages_websockets=True,
            # An Alpaca stream connection's authentication deadline (a delayed message).
            queues_send=("stream",),
            purpose="WebSocket routes: connect, disconnect, subscribe with resume, ping",
            layers=(CORE_LAYER, "rs256"),
        ),
        Function(
            "pusher",
            asset="functions/stream",
            handler="redfire_stream.pusher.handler",
            timeout_seconds=30,
            # apikeys: a revoked key's connections get nothing more; instruments: the asset
            # class of Alpaca's trade updates
            tables_read=("apikeys", "instruments"),
            tables_write=("connections", "failures"),
            manages_websockets=True,
            purpose="stream queue -> seq, retention and posts to WebSocket subscribers",
        ),
        Function(
            "backtests",
            asset="functions/strategies",
            handler="redfire_strategies.backtest_worker.handler",
            memory_mb=2048,  # CPU scales with memory: the engine is CPU bound
            timeout_seconds=120,
            tables_read=("marketdata", "instruments", "limits"),  # limits: apply_risk_limits
            # strategies: results and sweep chunks; orders: BacktestCompleted via the outbox.
            tables_write=("strategies", "orders", "failures"),
            buckets_write=("backtest-results",),
            uses_timestream=True,
            loads_plugins=True,
            purpose="backtest and sweep-chunk worker: runs the engine on stored bars",
        ),
        Function(
            "strategy-runner",
            asset="functions/strategies",
            handler="redfire_strategies.runner.handler",
            timeout_seconds=30,
            tables_read=("marketdata", "instruments", "accounts", "positions"),
            # strategies: instance state; orders: orders placed through the normal path;
            # accounts: the account's order counter (SEQUENCE) each placed order takes.
            tables_write=("strategies", "orders", "accounts", "failures"),
            loads_plugins=True,
            purpose="live strategy instances: bars and fills in, orders out (through risk)",
        ),
    )
}

# The orders table's stream is the outbox; its one consumer decides new orders (each new
# order's insert carries OrderSubmitted) and relays every event the stream carries.
STREAM_CONSUMERS: dict[str, str] = {"orders": "outbox"}
# What each stream consumer is invoked for (a Lambda event filter pattern on the stream
# record): writes that carry events (``events`` on an order item or an outbox row); writes
# without events and TTL removals invoke nothing. The event source mapping and the local
# cloud's stream poller both apply it.
STREAM_FILTERS: dict[str, dict[str, Any]] = {
    "orders": {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {"NewImage": {"events": {"S": [{"exists": True}]}}},
    }
}

# --- events, queues, rules ------------------------------------------------------------


QUEUES: dict[str, Queue] = {
    q.logical: q
    for q in (
        Queue("risk", consumer="risk", purpose="pre-trade risk checks"),
        Queue("orders", consumer="orders", purpose="order lifecycle after risk"),
        Queue(
            "ingest",
            consumer="ingest",
            batch_size=1,
            visibility_timeout_seconds=360,  # 6x the ingest function's timeout
            purpose="S3 object-created notifications: uploaded files and pushed bars",
        ),
        Queue(
            "stream",
            consumer="pusher",
            visibility_timeout_seconds=180,
            purpose="every event a client may watch, for the WebSocket pusher",
        ),
        Queue(
            "backtests",
            consumer="backtests",
            batch_size=1,
            visibility_timeout_seconds=720,  # 6x the worker's timeout
            max_concurrency=5,
            local_workers=True,
            purpose="backtests and sweep chunks, one per message so workers run in parallel",
        ),
        Queue(
            "strategy-runner",
            consumer="strategy-runner",
            visibility_timeout_seconds=180,
            purpose="bars and order outcomes that drive live strategy instances",
        ),
        *(
            Queue(
                queue,
                consumer=queue,
                visibility_timeout_seconds=180,  # 6x the venue function's timeout
                purpose="a venue's order work: submit, delayed polls, cancel, replace, connect",
            )
            for queue in VENUE_QUEUES
        ),
    )
}

# --- market data buckets and the optional Timestream store -------------------------------

MARKETDATA_UPLOADS = "marketdata-uploads"
BACKTEST_RESULTS = "backtest-results"
BUCKETS: dict[str, Bucket] = {
    b.logical: b
    for b in (
        Bucket(
            MARKETDATA_UPLOADS,
            notify_queue="ingest",
            prefix="ingest/",
            expire_days=30,
            purpose="bar files to ingest: CLI imports and POST /v1/marketdata/bars bodies",
        ),
        Bucket(
            BACKTEST_RESULTS,
            prefix="results/",
            purpose="equity curves and trade lists of finished backtests",
        ),
    )
}
TIMESERIES = TimeseriesTable(
    database_logical="marketdata",
    table_logical="bars",
    memory_retention_hours=24,
    magnetic_retention_days=3650,
)

RULES: dict[str, Rule] = {
    r.logical: r
    for r in (
        Rule(
            "to-risk",
            queue="risk",
            detail_types=("OrderFilled", "MarketDataUpdated"),
        ),
        Rule(
            "to-orders",
            queue="orders",
            detail_types=("OrderCancelRequested", "MarketDataUpdated"),
        ),
        Rule(
            "to-orders-replacements",
            queue="orders",
            detail_types=("OrderAccepted",),
            # Only a replacement's acceptance has work left (finishing the replace); any
            # other order was given to the gateway when it was decided.
            detail={"payload": {"order": {"replaces": [{"wildcard": "*"}]}}},
        ),
        Rule("to-stream", queue="stream", detail_types=STREAMED_EVENTS),
        Rule(
            "to-backtests",
            queue="backtests",
            detail_types=("BacktestRequested", "SweepChunkRequested"),
        ),
        Rule("to-strategy-runner", queue="strategy-runner", detail_types=("MarketDataUpdated",)),
        Rule(
            "to-strategy-runner-orders",
            queue="strategy-runner",
            detail_types=tuple(sorted(STRATEGY_ORDER_EVENTS)),
            detail={
                "payload": {"order": {"client_order_id": [{"prefix": STRATEGY_CLIENT_ID_PREFIX}]}}
            },
        ),
    )
}

EVENT_BUS_LOGICAL = "bus"
ARCHIVE_RETENTION_DAYS = 30
JWT_SECRET_LOGICAL = "jwt-secret"

# --- schedules ------------------------------------------------------------------------

DEMO_SYMBOLS = ("GOOG", "AAPL", "MSFT", "BTC-USD")

# Where EventBridge Scheduler sends an invocation it could not make (after its retries),
# shared by every schedule of a stage; its depth raises the DLQ alarm.
SCHEDULES_DLQ_LOGICAL = "schedules-dlq"

SCHEDULES: dict[str, Schedule] = {
    s.logical: s
    for s in (
        Schedule(
            "demo-feed",
            function="ingest",
            expression="rate(1 minute)",
            payload={"provider": "synthetic", "symbols": list(DEMO_SYMBOLS), "interval": "1m"},
            stages=("dev", "local"),
            purpose="synthetic price feed so paper orders fill at any hour",
        ),
        Schedule(
            "expire-orders",
            function="orders",
            expression="rate(5 minutes)",
            payload={"action": "expire_orders"},
            purpose="expire day orders whose trading day ended while no bar came",
        ),
        Schedule(
            "marketdata-gap-check",
            function="ingest",
            expression="rate(1 hour)",
            payload={"action": "check_gaps", "provider": "synthetic", "interval": "1m"},
            stages=("dev", "local"),
            purpose="find missing demo bars of the last day, announce and backfill them",
        ),
        Schedule(
            "risk-timeout",
            function="risk",
            expression="rate(1 minute)",
            payload={"action": "deny_timed_out"},
            purpose="deny orders left submitted past risk_timeout_seconds (RISK_TIMEOUT)",
        ),
        *(
            Schedule(
                f"venue-reconcile-{kind}",
                function=f"venue-{kind}",
                expression="rate(5 minutes)",
                payload={"action": "reconcile"},
                purpose=f"{kind} accounts' open orders, fills, positions and cash vs the venue",
                # Each run calls the venue for every connected account: locally too, no more
                # often than deployed (a real paper account's rate limits are shared).
                local_keeps_rate=True,
            )
            for kind in ("alpaca", "ccxt")
        ),
        Schedule(
            "close-stale-connections",
            function="pusher",
            expression="rate(1 minute)",
            payload={"action": "close_stale_connections"},
            purpose="close WebSockets whose token expired or whose API key was revoked",
        ),
    )
}


@dataclass(frozen=True)
class Declaration:
    """Everything above, resolved to physical names for one stage."""

    stage: str
    tables: dict[str, Table] = field(default_factory=lambda: dict(TABLES))

    def name(self, logical: str) -> str:
        return physical_name(self.stage, logical)

    @property
    def bus_name(self) -> str:
        return self.name(EVENT_BUS_LOGICAL)

    @property
    def archive_name(self) -> str:
        """The bus's archive of every domain event (``redfire events replay`` reads it)."""
        return self.name(f"{EVENT_BUS_LOGICAL}-archive")

    @property
    def jwt_secret_name(self) -> str:
        return f"{APP}/{self.stage}/{JWT_SECRET_LOGICAL}"

    @property
    def venue_secrets_prefix(self) -> str:
        """Where accounts' venue credentials live (``<prefix><account id>``); IAM grants
        the venue functions and the API this prefix only."""
        return f"{APP}/{self.stage}/venues/"

    def bucket_name(self, logical: str) -> str:
        """The local cloud's name of a bucket; deployed stages let CloudFormation name their
        buckets and pass the names in ``Bucket.environment_variable`` (see
        ``Settings.bucket_name``)."""
        return self.name(logical)

    def timestream_names(self) -> tuple[str, str]:
        """(database, table) of the Timestream market data store."""
        return self.name(TIMESERIES.database_logical), TIMESERIES.table_logical

    def schedules(self) -> list[Schedule]:
        return [s for s in SCHEDULES.values() if s.stages is None or self.stage in s.stages]

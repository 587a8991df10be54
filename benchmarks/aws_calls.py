"""AWS calls per order on moto, priced per million orders with published us-east-1 prices.

Inside ``mock_aws`` a market order is placed through the API handler and driven to
``filled`` by ``tests.support.pipeline.Pipeline`` (stream -> relay -> bus -> queues ->
handlers). A botocore hook installed before any client exists records every API call
with its parameters and response, tagged with the function whose invocation made it;
calls outside an invocation are what Lambda's event source mappings do. Request
units are derived from the calls (item sizes by DynamoDB's rules, 2 units per item
in a transaction), then priced.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import Result, Table, apply_bench_environment, mark
from benchmarks.pricing import PRICE, PRICE_SOURCES, PRICES_CHECKED, CapacityModel, CostLine

ORDERS = 3  # counted orders, after one uncounted warm-up order
ESM = "event source mapping"
ASSUMED_DURATION_S = 0.050  # billed duration assumed per warm invocation
TARGET_PER_MILLION = 7.00

# Calls of the harness itself that Lambda's pollers do not make per message, or that
# AWS does not bill (stream reads by a Lambda trigger are free).
UNBILLED = {
    ("sqs", "GetQueueUrl"),
    ("sqs", "GetQueueAttributes"),
    ("dynamodb", "DescribeTable"),
    ("dynamodbstreams", "DescribeStream"),
    ("dynamodbstreams", "GetShardIterator"),
    ("dynamodbstreams", "GetRecords"),
}


@dataclass
class Call:
    function: str
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recorder:
    """Every API call of every botocore client, and every handler invocation."""

    calls: list[Call] = field(default_factory=list)
    invocations: Counter[str] = field(default_factory=Counter)
    idle_relays: int = 0  # relay invocations that carried no outbox row
    durations: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    function: str = ESM

    def install(self) -> None:
        """Hook every future botocore session; call before any client is created."""
        from botocore.handlers import BUILTIN_HANDLERS

        BUILTIN_HANDLERS.append(("before-parameter-build", self._before))
        BUILTIN_HANDLERS.append(("after-call", self._after))

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        call = Call(
            self.function, model.service_model.service_name, model.name, copy.deepcopy(params)
        )
        self.calls.append(call)
        context["bench_call"] = call

    def _after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "bench_call" in context:
            context["bench_call"].response = parsed

    @contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        self.function = function
        self.invocations[function] += 1
        start = time.perf_counter()
        try:
            yield
        finally:
            self.durations[function].append(time.perf_counter() - start)
            self.function = ESM

    def reset(self) -> None:
        self.calls.clear()
        self.invocations.clear()
        self.durations.clear()
        self.idle_relays = 0


# --- the measurement --------------------------------------------------------------------


@dataclass
class Order:
    calls: list[Call]
    invocations: Counter[str]
    idle_relays: int
    durations: dict[str, list[float]]


def record_orders(recorder: Recorder) -> list[Order]:
    """One warm-up order, then ``ORDERS`` more, one after the other, each driven until quiet."""
    import tests.support.pipeline as pipeline_module
    from benchmarks.moto_account import demo_account, place_order
    from redfire_core.adapters.trading_store import TradingStore
    from redfire_core.config import get_settings

    original = pipeline_module.handler_of

    def counted(function: str) -> Callable[[dict[str, Any], Any], Any]:
        handler = original(function)

        def invoke(event: dict[str, Any], context: Any) -> Any:
            if function == "outbox" and not _carries_outbox_row(event):
                recorder.idle_relays += 1
            with recorder.invocation(function):
                return handler(event, context)

        return invoke

    pipeline_module.handler_of = counted
    orders = []
    try:
        with demo_account() as account:
            pipeline = pipeline_module.Pipeline(get_settings().stage)
            for _ in range(ORDERS + 1):
                recorder.reset()
                with recorder.invocation("api"):
                    order_id = place_order(account.token)["id"]
                pipeline.run_until_quiet()
                orders.append(
                    Order(
                        list(recorder.calls),
                        Counter(recorder.invocations),
                        recorder.idle_relays,
                        dict(recorder.durations),
                    )
                )
                order = TradingStore().get_order(account.account_id, order_id)
                if order is None or order.status != "filled" or pipeline.failures:
                    raise RuntimeError(
                        f"order {order_id} did not fill: {order} {pipeline.failures}"
                    )
    finally:
        pipeline_module.handler_of = original
    return orders


def capacity_model() -> CapacityModel:
    from redfire_core.config import get_settings
    from redfire_core.resources import TABLES

    declaration = get_settings().declaration
    return CapacityModel(
        {
            declaration.name(t.logical): tuple(k for k in (t.partition_key, t.sort_key) if k)
            for t in TABLES.values()
        },
        {declaration.name(t.logical): {g.partition_key for g in t.gsis} for t in TABLES.values()},
    )


@dataclass
class Tally:
    """Billed units over the counted orders, and the calls behind them."""

    wru: float = 0
    rru: float = 0
    events: float = 0
    event_bytes: float = 0
    sqs: float = 0
    # (caller, service, operation) -> [calls, DynamoDB request units, entries/messages]
    by_operation: defaultdict[tuple[str, str, str], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0, 0.0])
    )
    unbilled: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, call: Call, model: CapacityModel) -> None:
        row = self.by_operation[(call.function, call.service, call.operation)]
        if (call.service, call.operation) in UNBILLED:
            self.unbilled[(call.service, call.operation)] += 1
            return
        if call.service == "sqs" and call.operation == "ReceiveMessage":
            received = len(call.response.get("Messages", []))
            if not received:
                self.unbilled[("sqs", "ReceiveMessage (empty)")] += 1
                return
            sent = self.by_operation[(ESM, "sqs", "SendMessage (by EventBridge)")]
            sent[0] += received
            sent[2] += received
            row[2] += received
            self.sqs += 1 + received  # the receive, and EventBridge's SendMessage of each
        elif call.service == "sqs":
            self.sqs += 1
        elif call.service == "dynamodb":
            wru, rru = model.units(call.operation, call.params, call.response)
            self.wru, self.rru = self.wru + wru, self.rru + rru
            row[1] += wru + rru
        elif call.service == "events" and call.operation == "PutEvents":
            for entry in call.params["Entries"]:
                size = sum(len(str(value).encode()) for value in entry.values())
                self.events += math.ceil(size / 65536)
                self.event_bytes += size
            row[2] += len(call.params["Entries"])
        row[0] += 1


def _carries_outbox_row(event: dict[str, Any]) -> bool:
    return any(
        r.get("eventName") == "INSERT"
        and r["dynamodb"].get("NewImage", {}).get("sk", {}).get("S", "").startswith("OUTBOX#")
        for r in event.get("Records", [])
    )


def run() -> Result:
    apply_bench_environment()
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    recorder = Recorder()
    recorder.install()
    from redfire_core.resources import FUNCTIONS

    warmup, *orders = record_orders(recorder)
    model = capacity_model()
    # The warm-up order teaches the model the sizes of the items the counted ones replace.
    for call in warmup.calls:
        if call.service == "dynamodb":
            model.units(call.operation, call.params, call.response)
    model.wru_by_table.clear()
    tally = Tally()
    for order in orders:
        for call in order.calls:
            tally.add(call, model)
    n = len(orders)
    invocations = sum((o.invocations for o in orders), Counter())
    gb_seconds = sum(
        count * FUNCTIONS[f].memory_mb / 1024 * ASSUMED_DURATION_S
        for f, count in invocations.items()
    )
    lines = [
        CostLine("DynamoDB write request units", tally.wru / n, PRICE["wru"], "$0.625 per 1M"),
        CostLine("DynamoDB read request units", tally.rru / n, PRICE["rru"], "$0.125 per 1M"),
        CostLine("EventBridge custom events", tally.events / n, PRICE["event"], "$1.00 per 1M"),
        CostLine("SQS requests", tally.sqs / n, PRICE["sqs"], "$0.40 per 1M"),
        CostLine(
            "Lambda requests",
            sum(invocations.values()) / n,
            PRICE["lambda_request"],
            "$0.20 per 1M",
        ),
        CostLine(
            f"Lambda GB-seconds ({ASSUMED_DURATION_S * 1000:.0f} ms assumed per invocation)",
            gb_seconds / n,
            PRICE["gb_second"],
            "$0.0000133334 per GB-s",
        ),
    ]
    api_gateway = CostLine(
        "API Gateway HTTP API requests (the POST)", 1, PRICE["http_api_request"], "$1.00 per 1M"
    )
    subtotal = sum(line.per_million for line in lines)
    total = subtotal + api_gateway.per_million
    met = total <= TARGET_PER_MILLION

    cost_rows = [line.row() for line in lines]
    cost_rows.append(["subtotal: DynamoDB, EventBridge, SQS, Lambda", "", "", f"${subtotal:.2f}"])
    cost_rows.append(api_gateway.row())
    cost_rows.append(["**total per 1M orders**", "", "", f"**${total:.2f}**"])
    call_rows = [
        [f, s, o, f"{c / n:g}", f"{u / n:g}" if s == "dynamodb" else (f"{e / n:g}" if e else "")]
        for (f, s, o), (c, u, e) in sorted(tally.by_operation.items())
        if (s, o) not in UNBILLED
    ]
    table_rows = [
        [f"`{table}`", f"{units / n:g}", f"${units / n * PRICE['wru'] * 1e6:.2f}"]
        for table, units in model.wru_by_table.most_common()
    ]
    invocation_rows = [
        [
            f,
            f"{count / n:g}",
            str(FUNCTIONS[f].memory_mb),
            f"{1000 * sum(sum(o.durations.get(f, [])) for o in orders) / count:.1f}",
        ]
        for f, count in sorted(invocations.items())
    ]
    idle = sum(o.idle_relays for o in orders) / n
    gb_s_doubled = gb_seconds / n * 2 * PRICE["gb_second"] * 1e6
    return Result(
        name="aws_calls",
        title="AWS calls and cost per order",
        status="met" if met else "missed",
        summary=(
            f"${total:.2f} per 1M orders (target <= ${TARGET_PER_MILLION:.2f}); "
            f"{tally.wru / n:g} WRU, {tally.rru / n:g} RRU, {tally.events / n:g} events, "
            f"{tally.sqs / n:g} SQS requests, "
            f"{sum(invocations.values()) / n:g} Lambda invocations per order"
        ),
        target=f"<= ${TARGET_PER_MILLION:.2f} per 1M orders ({mark(met)} at ${total:.2f})",
        reference="published us-east-1 prices (table below), applied to the calls counted "
        "in this run",
        method=[
            f"In-process moto (`mock_aws`), resources provisioned from the declaration, demo "
            f"account seeded with a fresh GOOG price. One uncounted market order warms every "
            f"cache (JWT secret, instruments, clients); then {n} market buys, each placed "
            "through `redfire_api.handler` and driven to `filled` by "
            "`tests.support.pipeline.Pipeline.run_until_quiet()`; figures are per order.",
            "Calls are recorded by botocore `before-parameter-build`/`after-call` hooks in "
            "`BUILTIN_HANDLERS` (so every session, boto3's and PynamoDB's, has them) and "
            "attributed to the handler being invoked; calls outside a handler are those of "
            "the pipeline, standing in for Lambda's event source mappings.",
            "DynamoDB units: items sized by DynamoDB's rules from the request/response; "
            "writes 1 WRU per KB (2 per item in TransactWriteItems), an update or delete "
            "sized by the item it replaces, plus 1 WRU per KB when the item is in a GSI; "
            "reads 1 RRU per 4 KB, half for eventually consistent reads.",
            "SQS: per message EventBridge delivers, one SendMessage (by EventBridge), plus "
            "the pipeline's ReceiveMessage and DeleteMessage, i.e. Lambda's poller at batch "
            "size 1 - the worst case. Empty receives, queue look-ups and stream reads are "
            "not billed per order and are listed apart.",
            "Lambda: invocations counted; the duration is an assumption "
            f"({ASSUMED_DURATION_S * 1000:.0f} ms billed per warm invocation at each function's "
            "declared memory), since moto's in-process timings are not Lambda's.",
        ],
        tables=[
            Table(
                "Cost per 1M orders",
                ["line", "units per order", "price", "per 1M orders"],
                cost_rows,
            ),
            Table(
                "DynamoDB write request units per order, by table (GSI writes included)",
                ["table", "WRU", "per 1M orders"],
                table_rows,
            ),
            Table(
                "Billed API calls per order",
                [
                    "caller",
                    "service",
                    "operation",
                    "calls",
                    "request units (DynamoDB) / events, messages",
                ],
                call_rows,
            ),
            Table(
                "Lambda invocations per order",
                ["function", "invocations", "memory MB", "mean ms on moto (not billed duration)"],
                invocation_rows,
            ),
            Table(
                "Calls not billed per order (harness look-ups, free stream reads, empty polls)",
                ["service", "operation", "calls per order"],
                [[s, o, f"{c / n:g}"] for (s, o), c in sorted(tally.unbilled.items())],
            ),
            Table(
                "Prices used (checked " + PRICES_CHECKED + ")",
                ["item", "price", "source"],
                PRICE_SOURCES,
            ),
        ],
        notes=[
            f"{idle:g} of the {invocations['outbox'] / n:g} outbox relay invocations per order "
            "carried no outbox row (order-row changes and the REMOVE records of the relay's "
            "own deletes); an event filter on the stream mapping (INSERT of `OUTBOX#` rows) "
            "would drop them before Lambda is invoked.",
            f"Duration sensitivity: at {ASSUMED_DURATION_S * 2000:.0f} ms per invocation the "
            f"GB-second line becomes ${gb_s_doubled:.2f} per 1M orders.",
            "Not included: free tiers; Lambda init (cold start) duration; CloudWatch Logs "
            "ingestion of the handlers' JSON logs and EMF metrics; the EventBridge archive "
            f"({tally.event_bytes / n:.0f} bytes of events per order); KMS requests for encrypted "
            "queues (data keys are reused); a client polling GET /v1/orders/{id}.",
        ],
    )


if __name__ == "__main__":
    from benchmarks.common import run_cli

    run_cli(run)

"""Idle cost of each stage per month, from its synthesized CloudFormation template, at list
prices (us-east-1), with and without AWS's always-free tier.

"Idle" means no client traffic: what the stage costs by existing. The template is read,
not the code: every priced item is counted from its resources (``idle_cost`` is a pure
function of the template, unit-tested in ``tests/unit/test_idle_cost_model.py``):

- SQS polling: Lambda's event source mapping long-polls each SQS queue it triggers from
  (``SQS_POLLERS`` concurrent 20 s polls) even when the queue is empty; DynamoDB stream
  reads by a Lambda trigger are free.
- CloudWatch alarms (per metric each reads: a math expression over two metrics bills two),
  dashboards, Secrets Manager secrets.
- EventBridge Scheduler schedules: the schedule invocations, and for each, the target
  function's request, GB-seconds, X-Ray trace (active tracing records every idle sweep:
  the default sampling rule keeps the first request each second) and log lines. A
  schedule that feeds market data (the dev demo feed) also pays for what its events set
  off: events on the bus, archive, queue messages, consumer invocations, table writes.
- Storage of an idle stage (empty tables, buckets, logs) is a fraction of a cent.

Custom metrics: none while idle. The sweeps publish a count only when it is not zero
(``redfire_core.observability.count``); before, ``OrdersTimedOut`` and ``OrdersExpired``
were published every run, two custom metrics ($0.60 per month) per stage.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import Result, Table, apply_bench_environment, mark

STAGES = ("dev", "staging", "prod")
TARGET_PROD_USD = 2.50
HOURS_PER_MONTH = 730  # AWS's monthly hour count
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

# --- assumptions, stated ------------------------------------------------------------------
SQS_POLLERS = 5  # Lambda starts polling an SQS source with 5 concurrent long polls
SQS_WAIT_SECONDS = 20  # each poll waits up to 20 s on an empty queue
IDLE_INVOCATION_SECONDS = 0.2  # billed duration of a sweep or consumer run, INIT amortised
LOG_BYTES_PER_INVOCATION = 1024  # START/END/REPORT lines plus a few JSON log lines
EVENT_BYTES = 1024  # one MarketDataUpdated event in the archive
FEED_EVENT = "MarketDataUpdated"  # what a market data schedule announces, per symbol
FEED_WRU_PER_SYMBOL = 2  # the bar and the latest price, per symbol and tick
FEED_RRU_PER_CONSUMER_RUN = 1  # one query (open orders / holders / running instances)
SQS_REQUESTS_PER_FEED_MESSAGE = 2  # EventBridge's SendMessage, the consumer's delete
# Custom metrics an idle stage publishes: the sweeps publish a count only when it is not
# zero (redfire_core.observability.count, tests/unit/test_custom_metrics.py).
IDLE_CUSTOM_METRICS = 0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24

# --- list prices, us-east-1, USD (checked 2026-12-05) --------------------------------------
PRICES_CHECKED = "2026-12-05"
PRICE = {
    "sqs_request": 0.40 / 1e6,
    "alarm_metric": 0.10,
    "dashboard": 3.00,
    "custom_metric": 0.30,
    "secret": 0.40,
    "scheduler_invocation": 1.00 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "gb_second": 0.0000133334,
    "xray_trace": 5.00 / 1e6,
    "log_gb": 0.50,
    "log_stored_gb": 0.03,
    "event": 1.00 / 1e6,
    "archive_gb": 0.10,
    "wru": 0.625 / 1e6,
    "rru": 0.125 / 1e6,
}
PRICE_SOURCES = [
    ["SQS standard", "$0.40 per million requests", "aws.amazon.com/sqs/pricing"],
    [
        "CloudWatch",
        "alarm $0.10 per alarm metric (standard resolution; a metric math alarm bills each "
        "metric it reads); dashboard $3.00 per month; custom metric $0.30 per month; logs "
        "$0.50 per GB ingested, $0.03 per GB-month stored",
        "aws.amazon.com/cloudwatch/pricing",
    ],
    ["Secrets Manager", "$0.40 per secret per month", "aws.amazon.com/secrets-manager/pricing"],
    [
        "EventBridge Scheduler",
        "$1.00 per million invocations",
        "aws.amazon.com/eventbridge/pricing",
    ],
    [
        "EventBridge",
        "$1.00 per million custom events; archive $0.10 per GB processed",
        "aws.amazon.com/eventbridge/pricing",
    ],
    [
        "Lambda, arm64",
        "$0.20 per million requests; $0.0000133334 per GB-second",
        "aws.amazon.com/lambda/pricing",
    ],
    ["X-Ray", "$5.00 per million traces recorded", "aws.amazon.com/xray/pricing"],
    [
        "DynamoDB on-demand",
        "$0.625 per million WRU, $0.125 per million RRU",
        "aws.amazon.com/dynamodb/pricing/on-demand",
    ],
]
# Always-free tier per account and month (12-month offers are left out).
FREE_TIER = {
    "sqs_request": 1_000_000,
    "alarm_metric": 10,
    "dashboard": 3,
    "custom_metric": 10,
    "scheduler_invocation": 14_000_000,
    "lambda_request": 1_000_000,
    "gb_second": 400_000,
    "xray_trace": 100_000,
    "log_gb": 5,
    "log_stored_gb": 5,
}


@dataclass(frozen=True)
class Item:
    """One priced item of a stage: ``quantity`` units of ``meter`` per month."""

    component: str
    meter: str  # key of PRICE
    quantity: float

    @property
    def list_usd(self) -> float:
        return self.quantity * PRICE[self.meter]


def monthly_usd(items: Iterable[Item], *, free_tier: bool) -> float:
    """The month's bill; with ``free_tier``, each meter's free allowance comes off first."""
    by_meter: defaultdict[str, float] = defaultdict(float)
    for item in items:
        by_meter[item.meter] += item.quantity
    return sum(
        max(0.0, quantity - (FREE_TIER.get(meter, 0) if free_tier else 0)) * PRICE[meter]
        for meter, quantity in by_meter.items()
    )


# --- reading the template -----------------------------------------------------------------


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _arn_target(value: Any) -> str | None:
    """The logical id behind ``{"Fn::GetAtt": [id, "Arn"]}``."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def rate_seconds(expression: str) -> int:
    """Period of ``rate(N unit)``; other expressions are not idle sweeps we can price."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if not match:
        raise ValueError(f"cannot price schedule {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


def alarm_metrics(alarm: dict[str, Any]) -> int:
    """Metrics an alarm reads (what it is billed for)."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return 1
    return sum(1 for query in properties.get("Metrics", []) if "MetricStat" in query)


def _invocation_items(
    component: str, function: dict[str, Any], runs: float, template: dict[str, Any]
) -> list[Item]:
    """A function invoked ``runs`` times a month: request, GB-s, trace, logs (ingested, and
    kept for the retention of the function's log group, in the steady state)."""
    properties = function["Properties"]
    gb = properties.get("MemorySize", 128) / 1024
    logged = runs * LOG_BYTES_PER_INVOCATION / 1e9
    kept_months = _retention_days(function, template) / DAYS_PER_MONTH
    items = [
        Item(f"{component}: Lambda requests", "lambda_request", runs),
        Item(f"{component}: Lambda GB-s", "gb_second", runs * gb * IDLE_INVOCATION_SECONDS),
        Item(f"{component}: logs", "log_gb", logged),
        Item(f"{component}: logs stored", "log_stored_gb", logged * kept_months),
    ]
    if properties.get("TracingConfig", {}).get("Mode") == "Active":
        items.append(Item(f"{component}: X-Ray traces", "xray_trace", runs))
    return items


def _retention_days(function: dict[str, Any], template: dict[str, Any]) -> float:
    """Retention of the function's log group; without one, count a year of logs."""
    reference = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
    group_id = reference.get("Ref") if isinstance(reference, dict) else None
    group = template["Resources"].get(group_id) if group_id else None
    if group is None:
        return 365.0
    return float(group["Properties"].get("RetentionInDays", 365))


def idle_cost(template: dict[str, Any]) -> list[Item]:
    """Every item a stage pays for in a month without traffic, read from its template."""
    functions = _of_type(template, "AWS::Lambda::Function")
    queues = _of_type(template, "AWS::SQS::Queue")
    mappings = _of_type(template, "AWS::Lambda::EventSourceMapping")
    consumer_of_queue = {
        _arn_target(m["Properties"]["EventSourceArn"]): m["Properties"]["FunctionName"]["Ref"]
        for m in mappings.values()
        if _arn_target(m["Properties"]["EventSourceArn"]) in queues
    }
    items: list[Item] = []

    polls = SQS_POLLERS * SECONDS_PER_MONTH / SQS_WAIT_SECONDS
    for queue in sorted(q for q in consumer_of_queue if q is not None):
        items.append(Item(f"SQS polling of {queue}", "sqs_request", polls))

    for logical_id, alarm in sorted(_of_type(template, "AWS::CloudWatch::Alarm").items()):
        items.append(Item(f"alarm {logical_id}", "alarm_metric", alarm_metrics(alarm)))
    for logical_id in sorted(_of_type(template, "AWS::CloudWatch::Dashboard")):
        items.append(Item(f"dashboard {logical_id}", "dashboard", 1))
    for logical_id in sorted(_of_type(template, "AWS::SecretsManager::Secret")):
        items.append(Item(f"secret {logical_id}", "secret", 1))
    items.append(Item("custom metrics published while idle", "custom_metric", IDLE_CUSTOM_METRICS))

    for logical_id, schedule in sorted(_of_type(template, "AWS::Scheduler::Schedule").items()):
        properties = schedule["Properties"]
        if properties.get("State", "ENABLED") != "ENABLED":
            continue
        runs = SECONDS_PER_MONTH / rate_seconds(properties["ScheduleExpression"])
        target = properties["Target"]
        function_id = _arn_target(target["Arn"])
        name = f"schedule {properties.get('Name', logical_id)}"
        items.append(Item(f"{name}: Scheduler", "scheduler_invocation", runs))
        if function_id in functions:
            items += _invocation_items(name, functions[function_id], runs, template)
        payload = json.loads(target.get("Input") or "{}")
        if "provider" in payload and "symbols" in payload and "action" not in payload:
            items += _feed_items(template, name, runs, len(payload["symbols"]), consumer_of_queue)
    return items


def _feed_items(
    template: dict[str, Any],
    name: str,
    runs: float,
    symbols: int,
    consumer_of_queue: dict[str | None, Any],
) -> list[Item]:
    """What a market data schedule sets off each tick: one event per symbol on the bus (and
    its archive), each rule that routes it delivers to a queue whose consumer runs once."""
    functions = template["Resources"]
    events = runs * symbols
    items = [
        Item(f"{name}: events on the bus", "event", events),
        Item(f"{name}: event archive", "archive_gb", events * EVENT_BYTES / 1e9),
        Item(f"{name}: bars and latest prices", "wru", events * FEED_WRU_PER_SYMBOL),
    ]
    for rule in _of_type(template, "AWS::Events::Rule").values():
        pattern = rule["Properties"].get("EventPattern", {})
        if FEED_EVENT not in pattern.get("detail-type", []):
            continue
        for target in rule["Properties"].get("Targets", []):
            queue = _arn_target(target["Arn"])
            if queue not in consumer_of_queue:
                continue
            consumer = consumer_of_queue[queue]
            part = f"{name} -> {queue}"
            items.append(
                Item(f"{part}: messages", "sqs_request", events * SQS_REQUESTS_PER_FEED_MESSAGE)
            )
            items += _invocation_items(part, functions[consumer], runs, template)
            items.append(Item(f"{part}: reads", "rru", runs * FEED_RRU_PER_CONSUMER_RUN))
    return items


# --- the benchmark --------------------------------------------------------------------------


def _synthesized(stage: str, outdir: Path) -> dict[str, Any]:
    """The stage's template as ``cdk synth -c stage=<stage>`` writes it (cdk.json context)."""
    from benchmarks.common import REPO_ROOT
    from redfire_infra.app import build_app

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app, stack = build_app({**context, "stage": stage}, str(outdir))
    app.synth()
    template: dict[str, Any] = json.loads(
        (outdir / f"{stack.stack_name}.template.json").read_text()
    )
    return template


def _group(item: Item) -> str:
    """Rows of the report: items summed by kind."""
    component = item.component
    if component.startswith("SQS polling"):
        return "SQS polling (Lambda event source mappings)"
    if component.startswith("alarm "):
        return "CloudWatch alarms (per metric read)"
    if component.startswith("dashboard "):
        return "CloudWatch dashboards"
    if component.startswith("secret "):
        return "Secrets Manager secrets"
    if " -> " in component:
        return "demo feed fan-out: " + component.split(": ", 1)[1]
    if component.startswith("schedule "):
        return "schedules: " + component.split(": ", 1)[1]
    return component


def stage_table(stage: str, items: list[Item]) -> Table:
    rows: dict[str, list[float]] = {}
    for item in items:
        row = rows.setdefault(_group(item), [0.0, 0.0])
        row[0] += item.quantity
        row[1] += item.list_usd
    body = [
        [group, f"{quantity:,.6g}", f"${usd:.2f}"]
        for group, (quantity, usd) in sorted(rows.items(), key=lambda kv: -kv[1][1])
    ]
    body.append(["**total at list prices**", "", f"**${monthly_usd(items, free_tier=False):.2f}**"])
    body.append(
        ["total with the always-free tier", "", f"${monthly_usd(items, free_tier=True):.2f}"]
    )
    return Table(f"{stage}: idle cost per month", ["item", "quantity per month", "list USD"], body)


def run() -> Result:
    apply_bench_environment()
    costs: dict[str, list[Item]] = {}
    with tempfile.TemporaryDirectory(prefix="redfire-idle-") as scratch:
        for stage in STAGES:
            costs[stage] = idle_cost(_synthesized(stage, Path(scratch) / stage))
    totals = {
        s: (monthly_usd(i, free_tier=False), monthly_usd(i, free_tier=True))
        for s, i in costs.items()
    }
    prod_list = totals["prod"][0]
    met = prod_list <= TARGET_PROD_USD
    summary = ", ".join(
        f"{stage} ${at_list:.2f} (${free:.2f} with free tier)"
        for stage, (at_list, free) in totals.items()
    )
    prod_groups: defaultdict[str, float] = defaultdict(float)
    for item in costs["prod"]:
        prod_groups[_group(item)] += item.list_usd
    largest = sorted(prod_groups.items(), key=lambda kv: -kv[1])[:4]
    notes = [
        f"prod misses the ${TARGET_PROD_USD:.2f} target by ${prod_list - TARGET_PROD_USD:.2f}; "
        "its largest items: " + "; ".join(f"{g} ${usd:.2f}" for g, usd in largest) + "."
        if not met
        else f"prod is ${TARGET_PROD_USD - prod_list:.2f} under the target.",
        "Alarms are billed per metric they read: the alarm set of issue 20 item 7 (one "
        "Errors + Throttles alarm per function, one per dead-letter queue, the stream's "
        "iterator age, failed schedules) reads 2 metrics per function, so it costs about "
        "$0.10 x (2 x functions + DLQs + 2) at list price; the first 10 alarm metrics of an "
        "account are free.",
        "The dashboard is $3.00 at list price and free for an account's first three.",
        "Free tiers are per account: stages sharing an account share them.",
    ]
    return Result(
        name="idle_cost",
        title="Idle cost per stage and month",
        status="met" if met else "missed",
        summary=summary,
        target=f"prod <= ${TARGET_PROD_USD:.2f} per month at list prices",
        reference="list prices of us-east-1 (below), no free tier; the free tier column "
        "applies AWS's always-free allowances",
        method=[
            "Each stage is synthesized as `cdk synth -c stage=<stage>` would (cdk.json "
            "context, cdk-nag on) and `benchmarks.idle_cost.idle_cost` prices its template.",
            f"SQS polling: {SQS_POLLERS} concurrent {SQS_WAIT_SECONDS} s long polls per "
            "Lambda-triggered queue, all month.",
            f"Idle function runs (sweeps, demo-feed consumers): {IDLE_INVOCATION_SECONDS} s "
            f"billed at the function's memory, {LOG_BYTES_PER_INVOCATION} bytes of logs, one "
            "X-Ray trace when tracing is active.",
            f"Demo feed (dev): one {FEED_EVENT} per symbol and tick, "
            f"{FEED_WRU_PER_SYMBOL} WRU per symbol, each routed queue's consumer runs once per "
            f"tick with {FEED_RRU_PER_CONSUMER_RUN} RRU.",
            f"Prices checked {PRICES_CHECKED}; a month is {HOURS_PER_MONTH} hours.",
        ],
        tables=[
            Table(
                "idle cost per month",
                [
                    "stage",
                    "list prices",
                    "with the always-free tier",
                    f"prod <= ${TARGET_PROD_USD:.2f}",
                ],
                [
                    [
                        stage,
                        f"${at_list:.2f}",
                        f"${free:.2f}",
                        mark(met) if stage == "prod" else "",
                    ]
                    for stage, (at_list, free) in totals.items()
                ],
            ),
            *[stage_table(stage, items) for stage, items in costs.items()],
            Table("list prices used", ["service", "price", "source"], PRICE_SOURCES),
        ],
        notes=notes,
    )


if __name__ == "__main__":
    from benchmarks.report import run_cli

    run_cli(run)

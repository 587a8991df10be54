"""The idle cost model (benchmarks.idle_cost) counts and prices what a template holds, so
the figure in RESULTS.md and docs/deploy.md cannot silently drift from the stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks.idle_cost import (
    FREE_TIER,
    PRICE,
    SECONDS_PER_MONTH,
    SQS_POLLERS,
    SQS_WAIT_SECONDS,
    idle_cost,
    monthly_usd,
    rate_seconds,
)


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _template() -> dict[str, Any]:
    """Two SQS queues triggering a function, a DLQ nobody polls, a stream trigger, two
    alarms (one on a metric, one on a math expression over two), a dashboard, a secret and a
    sweep every minute."""
    metric = {"Metric": {"MetricName": "Errors", "Namespace": "AWS/Lambda"}, "Stat": "Sum"}
    resources: dict[str, Any] = {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"MemorySize": 1024, "TracingConfig": {"Mode": "Active"}},
        },
        "QueueA": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "QueueB": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "Alarm1": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "Errors"}},
        "Alarm2": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Metrics": [
                    {"Id": "e", "MetricStat": metric},
                    {"Id": "t", "MetricStat": metric},
                    {"Id": "sum", "Expression": "e + t"},
                ]
            },
        },
        "Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "Sweep": {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "Name": "sweep",
                "ScheduleExpression": "rate(1 minute)",
                "State": "ENABLED",
                "Target": {"Arn": _arn("Fn"), "Input": json.dumps({"action": "sweep"})},
            },
        },
    }
    for n, source in enumerate(("QueueA", "QueueB", "Table")):
        resources[f"Esm{n}"] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": _arn(source)
                if source != "Table"
                else {"Fn::GetAtt": [source, "StreamArn"]},
                "FunctionName": {"Ref": "Fn"},
            },
        }
    return {"Resources": resources}


def _quantity(items: list[Any], meter: str) -> float:
    return sum(item.quantity for item in items if item.meter == meter)


def test_every_lambda_triggered_queue_is_polled_all_month_and_nothing_else() -> None:
    items = idle_cost(_template())
    polls = SQS_POLLERS * SECONDS_PER_MONTH / SQS_WAIT_SECONDS
    # two SQS sources; the DLQ is not polled and stream reads by a trigger are free
    assert _quantity(items, "sqs_request") == 2 * polls


def test_alarms_are_priced_per_metric_they_read() -> None:
    assert _quantity(idle_cost(_template()), "alarm_metric") == 3


def test_a_sweep_every_minute_pays_scheduler_lambda_tracing_and_logs() -> None:
    items = idle_cost(_template())
    runs = SECONDS_PER_MONTH / 60
    for meter in ("scheduler_invocation", "lambda_request", "xray_trace"):
        assert _quantity(items, meter) == pytest.approx(runs), meter
    assert _quantity(items, "gb_second") > 0 and _quantity(items, "log_gb") > 0


def test_the_totals_at_list_price_and_with_the_free_tier() -> None:
    items = idle_cost(_template())
    polls = 2 * SQS_POLLERS * SECONDS_PER_MONTH / SQS_WAIT_SECONDS
    fixed = 3 * PRICE["alarm_metric"] + PRICE["dashboard"] + PRICE["secret"]
    at_list = monthly_usd(items, free_tier=False)
    assert at_list == pytest.approx(sum(item.list_usd for item in items))
    assert at_list > fixed + polls * PRICE["sqs_request"]
    # the free tier covers the alarms, dashboard, sweep and the first million SQS requests;
    # a secret has no free tier
    free = monthly_usd(items, free_tier=True)
    expected = (polls - FREE_TIER["sqs_request"]) * PRICE["sqs_request"] + PRICE["secret"]
    assert free == pytest.approx(expected)


def test_a_schedule_that_is_not_a_rate_is_refused_rather_than_priced_wrong() -> None:
    assert rate_seconds("rate(5 minutes)") == 300
    with pytest.raises(ValueError):
        rate_seconds("cron(0 9 * * ? *)")


def test_logs_are_kept_as_long_as_the_function_log_group_says() -> None:
    template = _template()
    template["Resources"]["Logs"] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"RetentionInDays": 14},
    }
    template["Resources"]["Fn"]["Properties"]["LoggingConfig"] = {"LogGroup": {"Ref": "Logs"}}
    items = idle_cost(template)
    ingested, stored = _quantity(items, "log_gb"), _quantity(items, "log_stored_gb")
    assert stored == pytest.approx(ingested * 14 / (730 / 24))

"""The resource declaration: key types for tables, periods for schedules, names per stage."""

from __future__ import annotations

import pytest

from redfire_core.resources import (
    FUNCTIONS,
    IDEMPOTENCY,
    ORDERS,
    QUEUES,
    RULES,
    SCHEDULES,
    TABLES,
    Declaration,
    Gsi,
    Schedule,
    Table,
)


def a_schedule(expression: str) -> Schedule:
    return Schedule("feed", function="ingest", expression=expression, payload={})


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(12 hours)", 43200),
        ("rate(1 day)", 86400),
        ("rate(2 Minutes)", 120),
    ],
)
def test_a_rate_expression_gives_its_period_in_seconds(expression: str, seconds: int) -> None:
    # Given a schedule with a rate expression, then its period is known in seconds
    assert a_schedule(expression).rate_seconds() == seconds


def test_a_rate_of_several_days_gives_its_period_in_seconds() -> None:
    # Given "rate(2 days)", a valid EventBridge Scheduler expression, then it is 172,800 s
    assert a_schedule("rate(2 days)").rate_seconds() == 172_800


def test_a_cron_expression_has_no_fixed_rate() -> None:
    # Given a cron expression, then asking for a rate fails loudly instead of guessing
    with pytest.raises((ValueError, KeyError)):
        a_schedule("cron(0 9 ? * MON-FRI *)").rate_seconds()


def test_the_declared_schedules_all_have_a_rate() -> None:
    # Given every declared schedule, then each period is a positive number of seconds
    assert all(schedule.rate_seconds() > 0 for schedule in SCHEDULES.values())


def test_the_orders_table_declares_its_gsi_keys_as_strings() -> None:
    # Given the orders table with gsi1 (what an order waits for: its decision or prices)
    # and gsi2 (open by account). Then table and index keys are all string attributes
    assert ORDERS.attribute_types() == {
        "pk": "S",
        "sk": "S",
        "gsi1pk": "S",
        "gsi1sk": "S",
        "gsi2pk": "S",
        "gsi2sk": "S",
    }


def test_the_orders_table_expires_rows_by_their_ttl_attribute() -> None:
    # Given the orders table, then DynamoDB TTL reads "ttl" (expires_at is an order field)
    assert ORDERS.ttl_attribute == "ttl"


def test_a_table_without_a_sort_key_declares_only_its_partition_key() -> None:
    # Given the idempotency table (partition key "id" only), then only "id" is declared
    assert IDEMPOTENCY.attribute_types() == {"id": "S"}


def test_a_gsi_without_a_sort_key_adds_only_its_partition_key() -> None:
    # Given a table whose index has no sort key, then the missing key is not declared
    table = Table("t", gsis=(Gsi("by-status", "status"),))
    assert table.attribute_types() == {"pk": "S", "sk": "S", "status": "S"}


def test_a_key_shared_by_table_and_index_is_declared_once() -> None:
    # Given an index that reuses the table's partition key, then it appears once
    table = Table("t", gsis=(Gsi("by-pk", "pk", "created_at"),))
    assert table.attribute_types() == {"pk": "S", "sk": "S", "created_at": "S"}


def test_a_gsi_key_declared_numeric_is_declared_as_a_number() -> None:
    # Given an index whose sort key is declared numeric
    table = Table("t", gsis=(Gsi("by-score", "gsi1pk", "score", key_types=(("score", "N"),)),))

    # Then the table declares it as a number attribute
    assert table.attribute_types()["score"] == "N"


def test_every_declared_key_type_is_a_string_or_a_number() -> None:
    # Given the declared tables, then every key type is S or N
    for table in TABLES.values():
        assert set(table.attribute_types().values()) <= {"S", "N"}, table.logical


def test_physical_names_carry_the_app_and_stage() -> None:
    # Given the prod stage, then names are redfire-prod-<logical>
    declaration = Declaration("prod")
    assert declaration.name("orders") == "redfire-prod-orders"
    assert declaration.bus_name == "redfire-prod-bus"
    assert declaration.jwt_secret_name == "redfire/prod/jwt-secret"


@pytest.mark.parametrize(
    ("stage", "schedules"),
    [
        ("dev", ["demo-feed", "expire-orders"]),
        ("local", ["demo-feed", "expire-orders"]),
        ("staging", ["expire-orders"]),
        ("prod", ["expire-orders"]),
    ],
)
def test_every_stage_sweeps_expiries_and_only_dev_and_local_run_the_demo_feed(
    stage: str, schedules: list[str]
) -> None:
    # Given a stage, then it runs the expiry sweep, and the demo feed only on dev and local
    # (other schedules, such as risk-timeout, are checked by their own tests)
    names = [s.logical for s in Declaration(stage).schedules()]
    assert [name for name in names if name in ("demo-feed", "expire-orders")] == schedules


def test_the_expiry_sweep_asks_the_orders_function_to_expire_orders() -> None:
    # Given the expire-orders schedule, then it invokes the orders function every 5 minutes
    sweep = SCHEDULES["expire-orders"]
    assert (sweep.function, sweep.payload, sweep.rate_seconds()) == (
        "orders",
        {"action": "expire_orders"},
        300,
    )


def test_every_schedule_invokes_a_declared_function() -> None:
    # Given the schedules, then each targets a function that exists
    assert {s.function for s in SCHEDULES.values()} <= set(FUNCTIONS)


def test_every_rule_targets_a_declared_queue_and_matches_our_source() -> None:
    # Given the event rules, then each routes to a queue that exists, for our source only
    for rule in RULES.values():
        assert rule.queue in QUEUES
        assert rule.event_pattern() == {
            "source": ["redfire"],
            "detail-type": list(rule.detail_types),
            **({"detail": rule.detail} if rule.detail else {}),
        }


def test_a_queue_has_a_dead_letter_queue_named_after_it() -> None:
    # Given the risk queue, then its DLQ is risk-dlq
    assert QUEUES["risk"].dlq_logical == "risk-dlq"


def test_every_declared_bucket_has_a_setting_for_its_deployed_name() -> None:
    # Given the declared buckets, then Settings reads each one's environment variable
    from redfire_core.config import Settings
    from redfire_core.resources import BUCKETS

    for bucket in BUCKETS.values():
        field = bucket.environment_variable.removeprefix("REDFIRE_").lower()
        assert field in Settings.model_fields, bucket.logical
        assert Settings(**{field: "generated-name"}).bucket_name(bucket.logical) == (
            "generated-name"
        )

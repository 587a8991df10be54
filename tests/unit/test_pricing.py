"""The cost model's arithmetic (benchmarks/pricing.py) against AWS's billing rules, so the
per-order price cannot drift silently."""

from __future__ import annotations

import pytest

from benchmarks.pricing import (
    TableShape,
    billed_milliseconds,
    eventbridge_events,
    log_ingestion_bytes,
    read_units,
    sqs_requests_per_message,
    write_units,
    xray_traces_per_second,
)

ORDERS = TableShape({"gsi1": ("gsi1pk", "gsi1sk"), "gsi2": ("gsi2pk", "gsi2sk")})


def order(size: int = 500, *, open_: bool = True, status: str = "submitted") -> dict:
    item = {"pk": {"S": "acct"}, "sk": {"S": "ORDER#1"}, "status": {"S": status}}
    if open_:
        item |= {
            "gsi1pk": {"S": "OPEN#GOOG"},
            "gsi1sk": {"S": "1"},
            "gsi2pk": {"S": "OPEN#acct"},
            "gsi2sk": {"S": "1"},
        }
    used = sum(len(k) + len(v["S"]) for k, v in item.items())
    item["pad"] = {"S": "x" * (size - used - 3)}
    return item


def test_a_transaction_putting_an_open_order_pays_twice_for_the_item_and_once_per_index() -> None:
    units = write_units(ORDERS, None, order(), transactional=True)
    assert units.table == 2
    assert units.indexes == {"gsi1": 1, "gsi2": 1}
    assert units.total == 4


def test_a_plain_put_of_the_same_item_costs_one_unit_plus_the_indexes() -> None:
    assert write_units(ORDERS, None, order()).total == 3


def test_items_are_billed_per_started_kilobyte_in_the_table_and_each_index() -> None:
    units = write_units(ORDERS, None, order(1500), transactional=True)
    assert (units.table, units.indexes) == (4, {"gsi1": 2, "gsi2": 2})


def test_an_order_leaving_both_open_indexes_pays_a_delete_in_each() -> None:
    units = write_units(ORDERS, order(), order(open_=False, status="filled"), transactional=True)
    assert (units.table, units.indexes) == (2, {"gsi1": 1, "gsi2": 1})


def test_changing_an_indexed_key_pays_a_delete_and_a_put_in_that_index() -> None:
    moved = order()
    moved["gsi1pk"] = {"S": "OPEN#AAPL"}
    units = write_units(ORDERS, order(), moved)
    assert units.indexes == {"gsi1": 2, "gsi2": 1}  # gsi2: its entry's projection changed


def test_an_item_outside_every_index_pays_the_table_alone_sized_by_the_larger_image() -> None:
    small, large = order(300, open_=False), order(2100, open_=False)
    assert write_units(ORDERS, large, small) == write_units(ORDERS, small, large)
    assert write_units(ORDERS, small, large).total == 3
    assert write_units(ORDERS, large, None).total == 3  # a delete: the item it removes


def test_reads_round_per_item_or_per_query_and_halve_when_eventually_consistent() -> None:
    assert read_units([100], consistent=True, per_item=True) == 1
    assert read_units([100], consistent=False, per_item=True) == 0.5
    assert read_units([], consistent=True, per_item=True) == 1  # a miss still reads
    assert read_units([3000, 3000], consistent=True, per_item=True) == 2
    assert read_units([3000, 3000], consistent=True, per_item=False) == 2
    assert read_units([1000, 1000], consistent=False, per_item=False) == 0.5
    assert read_units([100, 100], consistent=True, per_item=True, transactional=True) == 4


def test_eventbridge_bills_each_entry_in_64_kb_chunks() -> None:
    assert eventbridge_events([1200, 1200, 70_000]) == 4


def test_sqs_through_a_lambda_mapping_costs_send_receive_and_batched_delete() -> None:
    assert sqs_requests_per_message(1) == 3
    assert sqs_requests_per_message(10) == pytest.approx(1.2)


def test_xray_samples_one_request_a_second_and_five_percent_of_the_rest() -> None:
    assert xray_traces_per_second(0) == 0
    assert xray_traces_per_second(0.5) == 0.5
    assert xray_traces_per_second(21) == pytest.approx(2.0)


def test_cloudwatch_logs_bill_26_bytes_per_event_on_top_of_the_message() -> None:
    assert log_ingestion_bytes(1000, 4) == 1104


def test_lambda_bills_cpu_at_the_memory_share_plus_waiting_rounded_up() -> None:
    assert billed_milliseconds(10, 20, 1769) == 30
    assert billed_milliseconds(10, 20, 512) == 55  # 10 ms of CPU takes 34.6 ms at 512 MB
    assert billed_milliseconds(0.1, 0, 4096) == 1


def test_the_critical_path_is_the_post_the_order_writers_and_the_relays_that_fed_them() -> None:
    from benchmarks.aws_calls import STREAM, Call, Invocation, mark_critical_path

    def relay(*types: str) -> Invocation:
        entries = [{"DetailType": t} for t in types]
        return Invocation(
            "outbox", STREAM, calls=[Call("events", "PutEvents", {"Entries": entries})]
        )

    def writing(function: str, queue: str, event: str, *, order: bool) -> Invocation:
        key = {"pk": {"S": "a"}, "sk": {"S": "ORDER#1" if order else "CHAN#x"}}
        table = "redfire-bench-orders" if order else "redfire-bench-connections"
        call = Call(
            "dynamodb",
            "UpdateItem",
            {},
            touched=[(table, key, {"v": {"N": "1"}}, {"v": {"N": "2"}})],
        )
        return Invocation(function, queue, records=1, inputs=[event], calls=[call])

    invocations = [
        Invocation("api", "http", records=1),
        relay("OrderSubmitted"),
        writing("risk", "risk", "OrderSubmitted", order=True),
        writing("pusher", "stream", "OrderSubmitted", order=False),
        relay("OrderAccepted"),
        writing("orders", "orders", "OrderAccepted", order=True),
        relay("OrderFilled"),
    ]
    mark_critical_path(invocations)
    assert [i.critical for i in invocations] == [True, True, True, False, True, True, False]


def test_a_fan_out_consumer_pays_its_share_of_a_batch() -> None:
    from benchmarks.aws_calls import Invocation, hop_units

    pushed = Invocation("pusher", "stream", records=3, inputs=["OrderSubmitted"] * 3)
    units, weight = hop_units(pushed, {})
    assert weight == pytest.approx(0.3)  # the stream queue's batch size is 10
    assert units.invocations == pytest.approx(0.3)
    assert units.sqs == pytest.approx(3 + 2 * 0.3)  # EventBridge's sends; receive, delete

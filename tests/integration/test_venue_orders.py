"""A venue account's orders end to end on moto, against the scripted fake venue: the
decision hop accepts and routes them, the venue function submits, polls, cancels and
applies what the venue reports; after every scenario the books balance."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.domain.roles import Role
from redfire_core.events import Envelope, MarketDataUpdated, iso
from redfire_core.services.execution import expire_due, on_market_data
from redfire_core.services.venue_intake import POLL_WINDOW_SECONDS, handle_venue_message
from redfire_core.services.venue_orders import apply_venue_order
from redfire_core.venues import (
    VenueFill,
    VenueOrder,
    VenueRateLimited,
    VenueStatus,
    VenueUnavailable,
)
from tests.integration.conftest import call_api, sqs_messages, token_for
from tests.integration.test_order_flow import place
from tests.support.books import assert_books
from tests.support.fake_venue import T0, FakeVenue
from tests.support.pipeline import Pipeline, VenueDesk

MARKET_BUY = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10"}
LIMIT_BUY = {
    "symbol": "GOOG",
    "side": "buy",
    "type": "limit",
    "quantity": "10",
    "limit_price": "99.00",
    "time_in_force": "gtc",
}


def route_to_venue(store: TradingStore, status: str = "connected") -> None:
    """The demo account routed to Alpaca (as a finished connect leaves it)."""
    before = store.get_account("demo")
    assert before is not None
    store.save_account(
        before,
        replace(
            before,
            gateway="alpaca",
            gateway_mode="paper",
            gateway_status=status,
            version=before.version + 1,
        ),
    )


@pytest.fixture
def venue() -> FakeVenue:
    return FakeVenue()


@pytest.fixture
def desk(seeded: TradingStore, pipeline: Pipeline, venue: FakeVenue) -> VenueDesk:
    route_to_venue(seeded)
    return VenueDesk(pipeline, venue, datetime.now(UTC))


def order_of(store: TradingStore, order_id: str) -> Order:
    order = store.get_order("demo", order_id)
    assert order is not None
    return order


def test_a_venue_order_is_accepted_without_a_paper_fill_and_sent_to_its_queue(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a venue account and a market order (paper would fill it at once)
    route_to_venue(seeded)
    order = place(MARKET_BUY)

    # When the stream decides it, and relays what the decision wrote
    pipeline.relay()
    pipeline.relay()

    # Then it is accepted, not filled, and one submit waits on the alpaca venue queue
    accepted = order_of(seeded, order["id"])
    assert accepted.status is OrderStatus.ACCEPTED and accepted.venue == "alpaca"
    assert seeded.list_trades("demo").items == []
    bodies = [json.loads(str(m["Body"])) for m in sqs_messages("venue-alpaca")]
    assert [(b["action"], b["order_id"]) for b in bodies] == [("submit", order["id"])]
    assert sqs_messages("venue-ccxt") == []


def test_a_paper_order_sends_nothing_to_the_venue_queues(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    place(MARKET_BUY)
    pipeline.run_until_quiet()

    assert sqs_messages("venue-alpaca") == [] and sqs_messages("venue-ccxt") == []


def test_immediate_fill_goes_through_the_fill_transaction(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    # Given a venue that fills the order as it accepts it
    venue.fill_on_submit = [("10", "101.25")]
    order = place(MARKET_BUY)

    desk.run()

    filled = order_of(seeded, order["id"])
    assert filled.status is OrderStatus.FILLED and filled.venue_order_id == "V1"
    assert filled.average_fill_price == Decimal("101.25")
    assert seeded.get_position("demo", "GOOG").quantity == Decimal(10)
    account = seeded.get_account("demo")
    assert account is not None and account.reserved == 0
    assert account.cash == Decimal("100000") - Decimal("1012.50")
    assert venue.submits == [order["id"]]
    assert_books(seeded, "demo")


def test_partial_fills_over_several_polls(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    order = place(LIMIT_BUY)
    while not venue.orders:  # decided, sent, submitted
        assert desk.step()

    for quantity in ("3", "3", "4"):
        venue.execute(order["id"], quantity, "99.00")
        desk.step()  # the next poll
        assert desk.step() or True
    desk.run()

    filled = order_of(seeded, order["id"])
    assert filled.status is OrderStatus.FILLED and filled.filled_quantity == 10
    assert len(seeded.list_trades("demo").items) == 3
    assert [b["action"] for b in desk.handled].count("poll") >= 3
    assert_books(seeded, "demo")


def test_a_fill_that_wins_the_race_with_a_cancel_leaves_the_order_filled(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    order = place(LIMIT_BUY)
    while not venue.orders:
        assert desk.step()
    venue.execute(order["id"], "4", "99.00")

    # When the client cancels and the venue fills the rest before the cancel arrives
    status, _, body = call_api("DELETE", f"/v1/orders/{order['id']}", token=token_for())
    assert status == 202 and body["status"] == "pending_cancel"
    venue.execute(order["id"], "6", "98.50")
    desk.run()

    # Then the order is filled (the venue refused the late cancel), nothing is lost
    ended = order_of(seeded, order["id"])
    assert ended.status is OrderStatus.FILLED and ended.filled_quantity == 10
    assert "cancel" in [b["action"] for b in desk.handled]
    assert_books(seeded, "demo")


def test_a_cancel_after_a_partial_fill_keeps_the_fill_and_cancels_the_rest(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    order = place(LIMIT_BUY)
    while not venue.orders:
        assert desk.step()
    venue.execute(order["id"], "4", "99.00")

    call_api("DELETE", f"/v1/orders/{order['id']}", token=token_for())
    desk.run()

    ended = order_of(seeded, order["id"])
    assert ended.status is OrderStatus.CANCELED and ended.filled_quantity == 4
    account = seeded.get_account("demo")
    assert account is not None and account.reserved == 0
    assert venue.orders[order["id"]].status is VenueStatus.CANCELED
    assert_books(seeded, "demo")


def test_cancel_all_reaches_the_venue(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    first, second = place(LIMIT_BUY), place({**LIMIT_BUY, "limit_price": "98.00"})
    desk.run(until=desk.now)

    status, _, _ = call_api("DELETE", "/v1/orders", token=token_for())
    desk.run()

    assert status in (200, 202, 207)
    assert {order_of(seeded, o["id"]).status for o in (first, second)} == {OrderStatus.CANCELED}
    assert {venue.orders[o["id"]].status for o in (first, second)} == {VenueStatus.CANCELED}
    assert_books(seeded, "demo")


def test_a_submit_that_timed_out_after_the_venue_accepted_is_found_not_sent_again(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    # Given a venue that takes the order but whose answer is lost, then a lookup that fails
    venue.fail_next("submit", VenueUnavailable("read timed out"), after=True)
    venue.fail_next("find", VenueUnavailable("502 bad gateway"))
    order = place(MARKET_BUY)

    desk.run(until=desk.now)
    venue.execute(order["id"], "10", "100.50")
    desk.run()

    # Then the venue holds exactly one order, and RedFire applied its fill once
    assert venue.submits == [order["id"]]
    assert order_of(seeded, order["id"]).status is OrderStatus.FILLED
    assert_books(seeded, "demo")


def test_a_submit_that_never_reached_the_venue_is_sent_again_after_a_lookup(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    venue.fail_next("submit", VenueUnavailable("connect timeout"))
    venue.fill_on_submit = [("10", "100")]
    order = place(MARKET_BUY)

    desk.run()

    second = venue.calls.index("submit", 1)
    assert venue.calls[second - 1] == "find"  # looked up before it was sent again
    assert venue.submits == [order["id"]]  # the first never arrived
    assert order_of(seeded, order["id"]).status is OrderStatus.FILLED
    assert_books(seeded, "demo")


def test_duplicate_and_out_of_order_reports_change_nothing(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    order = place(LIMIT_BUY)
    desk.run(until=desk.now)
    first = VenueFill("E1", Decimal(4), Decimal("99"), T0)
    second = VenueFill("E2", Decimal(6), Decimal("98"), T0 + timedelta(seconds=1))
    older = VenueOrder(order["id"], "V1", VenueStatus.PARTIALLY_FILLED, Decimal(4), fills=(first,))
    newer = VenueOrder(order["id"], "V1", VenueStatus.FILLED, Decimal(10), fills=(first, second))
    now = datetime.now(UTC)

    assert apply_venue_order("demo", order["id"], newer, now=now) is True
    assert apply_venue_order("demo", order["id"], older, now=now) is True
    assert apply_venue_order("demo", order["id"], newer, now=now) is True

    ended = order_of(seeded, order["id"])
    assert ended.status is OrderStatus.FILLED and ended.filled_quantity == 10
    assert ended.filled_notional == Decimal(4 * 99 + 6 * 98)
    assert len(seeded.list_trades("demo").items) == 2
    assert_books(seeded, "demo")


def test_a_report_without_executions_fills_by_the_cumulative_quantity_once(
    seeded: TradingStore, desk: VenueDesk
) -> None:
    order = place(LIMIT_BUY)
    desk.run(until=desk.now)
    partial = VenueOrder(order["id"], "V1", VenueStatus.PARTIALLY_FILLED, Decimal(4), Decimal("99"))
    full = VenueOrder(order["id"], "V1", VenueStatus.FILLED, Decimal(10), Decimal("98.4"))
    now = datetime.now(UTC)

    for report in (partial, partial, full, partial, full):
        apply_venue_order("demo", order["id"], report, now=now)

    ended = order_of(seeded, order["id"])
    assert ended.status is OrderStatus.FILLED and ended.filled_notional == Decimal("984.0")
    assert len(seeded.list_trades("demo").items) == 2
    assert_books(seeded, "demo")


def test_a_venue_reject_ends_the_order_rejected_with_the_venues_message(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    venue.reject_with = "insufficient buying power"
    order = place(LIMIT_BUY)

    desk.run()

    rejected = order_of(seeded, order["id"])
    assert rejected.status is OrderStatus.REJECTED
    assert rejected.reject_reason == {
        "code": "VENUE_REJECTED",
        "message": "insufficient buying power",
    }
    account = seeded.get_account("demo")
    assert account is not None and account.reserved == 0
    assert_books(seeded, "demo")


def test_a_revoked_key_puts_the_gateway_in_error_and_denies_new_orders(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    venue.revoked = True
    first = place(LIMIT_BUY)
    desk.run()

    account = seeded.get_account("demo")
    assert account is not None
    assert (account.gateway_status, account.gateway_error) == ("error", "API key revoked")
    rejected = order_of(seeded, first["id"]).reject_reason
    assert rejected is not None and rejected["code"] == "GATEWAY_UNAVAILABLE"

    second = place(LIMIT_BUY)
    desk.run()

    denied = order_of(seeded, second["id"])
    assert denied.status is OrderStatus.DENIED
    assert (
        denied.reject_reason is not None and denied.reject_reason["code"] == "GATEWAY_UNAVAILABLE"
    )
    assert venue.submits == []
    assert_books(seeded, "demo")


def test_a_rate_limit_requeues_after_the_venues_retry_after(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    venue.fail_next("submit", VenueRateLimited("too many requests", retry_after=7))
    order = place(LIMIT_BUY)
    while not venue.calls:
        assert desk.step()

    assert [(b["action"], b["order_id"]) for b in desk.pending] == [("submit", order["id"])]
    start = desk.now
    desk.step()
    assert desk.now - start == timedelta(seconds=7)
    assert venue.submits == [order["id"]]


def test_an_open_order_is_polled_with_backoff_then_left_to_reconciliation(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    order = place(LIMIT_BUY)
    started = desk.now

    desk.run()

    polls = [b for b in desk.handled if b["action"] == "poll"]
    assert 10 <= len(polls) <= 30
    assert desk.now - started <= timedelta(seconds=POLL_WINDOW_SECONDS + 60)
    assert desk.pending == []
    assert order_of(seeded, order["id"]).status is OrderStatus.ACCEPTED


def test_the_kill_switch_cancels_at_the_venue(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    order = place(LIMIT_BUY)
    desk.run(until=desk.now)

    status, _, body = call_api(
        "PUT",
        "/v1/risk/state",
        body={"state": "halted", "reason": "drill"},
        token=token_for(role=Role.ADMIN),
    )
    desk.run()

    assert status == 200 and body["canceled_orders"] == [order["id"]]
    assert order_of(seeded, order["id"]).status is OrderStatus.CANCELED
    assert venue.orders[order["id"]].status is VenueStatus.CANCELED
    assert_books(seeded, "demo")


def test_a_replace_reaches_the_venue_and_retires_the_original(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    original = place(LIMIT_BUY)
    desk.run(until=desk.now)

    status, _, replacement = call_api(
        "PATCH", f"/v1/orders/{original['id']}", body={"limit_price": "99.50"}, token=token_for()
    )
    assert status in (200, 201, 202), replacement
    assert order_of(seeded, original["id"]).status is OrderStatus.PENDING_REPLACE
    desk.run(until=desk.now + timedelta(seconds=3))

    assert "replace" in [b["action"] for b in desk.handled]
    assert order_of(seeded, original["id"]).status is OrderStatus.REPLACED
    new = order_of(seeded, replacement["id"])
    assert new.status is OrderStatus.ACCEPTED and new.venue_order_id is not None
    assert venue.orders[original["id"]].status is VenueStatus.CANCELED
    venue.execute(replacement["id"], "10", "99.50")
    desk.run()
    assert order_of(seeded, replacement["id"]).status is OrderStatus.FILLED
    account = seeded.get_account("demo")
    assert account is not None and account.reserved == 0
    assert_books(seeded, "demo")


def test_closing_a_position_sells_it_at_the_venue(
    seeded: TradingStore, desk: VenueDesk, venue: FakeVenue
) -> None:
    venue.fill_on_submit = [("10", "100")]
    place(MARKET_BUY)
    desk.run()

    status, _, close = call_api("DELETE", "/v1/positions/GOOG", token=token_for())
    desk.run()

    assert status in (200, 201, 202), close
    assert order_of(seeded, close["id"]).status is OrderStatus.FILLED
    assert seeded.get_position("demo", "GOOG").quantity == 0
    assert venue.submits[-1] == close["id"]
    assert_books(seeded, "demo")


def test_the_paper_gateway_leaves_a_resting_venue_order_alone(
    seeded: TradingStore, desk: VenueDesk
) -> None:
    # Given a venue day limit buy at 99 resting at the venue
    order = place({**LIMIT_BUY, "time_in_force": "day"})
    desk.run(until=desk.now)
    now = datetime.now(UTC)
    bar = MarketDataUpdated(
        symbol="GOOG",
        interval="1m",
        first_start=iso(now - timedelta(minutes=1)),
        last_end=iso(now + timedelta(minutes=1)),
        open="95",
        high="96",
        low="90",
        close="95",
        volume="1000",
        bar_count=1,
    )
    event = Envelope.wrap(bar, account_id=None, correlation_id="c", occurred_at=now)

    # When a bar trades through its limit, and the expiry sweep runs past its time
    filled = on_market_data(seeded, event, now + timedelta(minutes=2))
    expired = expire_due(seeded, now + timedelta(days=400), event)

    # Then the paper gateway neither fills nor expires it: only the venue does
    assert (filled, expired) == (0, 0)
    assert order_of(seeded, order["id"]).status is OrderStatus.ACCEPTED


def test_a_venue_that_never_answers_a_check_ends_in_error(
    seeded: TradingStore, pipeline: Pipeline, venue: FakeVenue
) -> None:
    route_to_venue(seeded, status="connecting")
    for _ in range(10):
        venue.fail_next("check", VenueUnavailable("503 service unavailable"))
    desk = VenueDesk(pipeline, venue, datetime.now(UTC))
    desk.send("venue-alpaca", {"action": "connect", "account_id": "demo"})

    desk.run()

    account = seeded.get_account("demo")
    assert account is not None
    assert (account.gateway_status, account.gateway_error) == (
        "error",
        "the venue does not answer",
    )
    assert venue.calls.count("check") == 6


def test_an_unknown_action_is_refused(seeded: TradingStore, desk: VenueDesk) -> None:
    with pytest.raises(ValueError, match="unknown venue action"):
        handle_venue_message(
            {"action": "_order", "account_id": "demo"}, desk.gateway, now=desk.now, sender=desk
        )


def test_accounts_routed_to_a_venue_kind_are_found(
    seeded: TradingStore, other_account: str
) -> None:
    route_to_venue(seeded)

    assert [a.id for a in seeded.accounts_routed_to("alpaca")] == ["demo"]
    assert seeded.accounts_routed_to("ccxt") == []

"""Seq allocation, delivery order and resume of the stream service, on in-memory fakes."""

from __future__ import annotations

from typing import Any

import pytest

from redfire_core.adapters.stream_store import SeqConflict
from redfire_core.domain.channels import MARKET_SCOPE, ChannelError, Subscription, resolve
from redfire_core.events import Envelope, new_id
from redfire_core.services.streaming import CONNECTION_TTL_SECONDS, Stream
from tests.support.stream_fakes import FakeStreamStore, RecordingPoster

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def order_event(account: str = "demo", status: str = "accepted", order_id: str = "o1") -> Envelope:
    return Envelope(
        id=new_id(),
        type="OrderAccepted",
        occurred_at="2026-11-25T09:30:00.000Z",
        account_id=account,
        correlation_id="c",
        payload={"order": {"id": order_id, "status": status}},
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> FakeStreamStore:
    return FakeStreamStore()


@pytest.fixture
def poster() -> RecordingPoster:
    return RecordingPoster()


@pytest.fixture
def stream(store: FakeStreamStore, poster: RecordingPoster, clock: Clock) -> Stream:
    return Stream(store, poster, retention_seconds=3600, clock=clock, sleep=lambda _: None)


def market_event() -> Envelope:
    return Envelope(
        id=new_id(),
        type="MarketDataUpdated",
        occurred_at="2026-11-25T09:31:00.000Z",
        account_id=None,
        correlation_id="c",
        payload={
            "symbol": "GOOG",
            "interval": "1m",
            "first_start": "2026-11-25T09:30:00Z",
            "last_end": "2026-11-25T09:31:00Z",
            "open": "1",
            "high": "2",
            "low": "1",
            "close": "2",
            "volume": "10",
            "bar_count": 1,
        },
    )


def connect(stream: Stream, cid: str, account: str = "demo", **subscribe: Any) -> None:
    stream.connect(cid, account, f"user-{account}", "2026-11-25T09:30:00.000Z")
    stream.receive(cid, _json({"action": "subscribe", "channels": ["orders"], **subscribe}))


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def test_a_channel_numbers_its_messages_from_one_without_gaps(
    stream: Stream, poster: RecordingPoster
) -> None:
    connect(stream, "c1")
    for _ in range(3):
        stream.publish(order_event())
    assert [m["seq"] for m in poster.of_channel("c1", "orders")] == [1, 2, 3]


def test_a_redelivered_event_keeps_its_seq_and_is_not_posted_again(
    stream: Stream, poster: RecordingPoster
) -> None:
    connect(stream, "c1")
    event = order_event()
    first = stream.publish(event)
    again = stream.publish(event)
    assert first == again
    assert len(poster.of_channel("c1", "orders")) == 1


def test_each_account_has_its_own_sequence(stream: Stream, poster: RecordingPoster) -> None:
    connect(stream, "mine", "demo")
    connect(stream, "theirs", "other")
    stream.publish(order_event("demo"))
    stream.publish(order_event("other"))
    stream.publish(order_event("demo"))
    assert [m["seq"] for m in poster.of_channel("mine", "orders")] == [1, 2]
    assert [m["seq"] for m in poster.of_channel("theirs", "orders")] == [1]


def test_a_lost_race_for_the_counter_takes_the_next_seq(
    stream: Stream, store: FakeStreamStore
) -> None:
    # Given another pusher that takes seq 1 between our read and our write
    original = store.append
    calls = {"n": 0}

    def racing(sub: Subscription, key: str, expected: int, message: Any, ttl: int) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            original(sub, "someone-else", expected, message, ttl)
            raise SeqConflict("lost")
        return original(sub, key, expected, message, ttl)

    store.append = racing  # type: ignore[method-assign]
    # When we allocate, then we get seq 2, not a duplicate 1
    assert stream.allocate(Subscription("demo", "orders"), "ev#0", {"type": "x"}) == 2


def test_a_busy_lease_defers_delivery_to_its_holder_who_delivers_after_releasing(
    stream: Stream, store: FakeStreamStore, poster: RecordingPoster
) -> None:
    connect(stream, "c1")
    sub = Subscription("demo", "orders")
    # Given another delivery holds the channel
    assert store.acquire_lease(sub, "holder", int(NOW * 1000), 30_000)
    # When an event is published, then it is stored but not posted by us
    stream.publish(order_event())
    assert poster.of_channel("c1", "orders") == []
    # And when the holder releases and looks again (as deliver does), it is posted once
    store.release_lease(sub, "holder", 0)
    stream.deliver(sub)
    assert [m["seq"] for m in poster.of_channel("c1", "orders")] == [1]


def test_subscribing_with_resume_replays_what_followed_then_continues_live(
    stream: Stream, poster: RecordingPoster
) -> None:
    connect(stream, "c1")
    for n in range(5):
        stream.publish(order_event(order_id=f"o{n}"))
    connect(stream, "c2", resume={"orders": 3})
    stream.publish(order_event(order_id="o5"))
    assert [m["seq"] for m in poster.of_channel("c2", "orders")] == [4, 5, 6]
    assert poster.sent["c2"][0] == {"type": "subscribed", "channel": "orders", "seq": 5}


def test_a_resume_point_older_than_the_retention_window_is_reported(
    stream: Stream, poster: RecordingPoster, clock: Clock
) -> None:
    connect(stream, "c1")
    stream.publish(order_event())
    clock.now += 3601  # seq 1 is past its retention
    stream.publish(order_event())
    connect(stream, "c2", resume={"orders": 0})
    errors = [m for m in poster.sent["c2"] if m["type"] == "error"]
    assert errors and errors[0]["code"] == "RESUME_POINT_EXPIRED"
    assert errors[0]["oldest_seq"] == 2


def test_a_gone_connection_is_removed_and_the_others_still_receive(
    stream: Stream, store: FakeStreamStore, poster: RecordingPoster
) -> None:
    connect(stream, "alive")
    connect(stream, "dead")
    poster.gone.add("dead")
    stream.publish(order_event())
    assert store.get_connection("dead") is None
    assert len(poster.of_channel("alive", "orders")) == 1


def test_one_event_to_n_connections_costs_n_posts(stream: Stream, poster: RecordingPoster) -> None:
    for n in range(25):
        connect(stream, f"c{n}")
    before = poster.posts
    stream.publish(order_event())
    assert poster.posts - before == 25
    assert stream.last_posts == 25  # what the pusher reports as StreamPosts


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{nope", "MESSAGE_MALFORMED"),
        ('"just a string"', "MESSAGE_MALFORMED"),
        ('{"action": "dance"}', "ACTION_UNKNOWN"),
        ('{"action": "subscribe", "channels": ["weather"]}', "CHANNEL_UNKNOWN"),
        ('{"action": "subscribe", "channels": ["orders:other"]}', "CHANNEL_FORBIDDEN"),
        ('{"action": "subscribe", "channels": []}', "MESSAGE_MALFORMED"),
    ],
)
def test_a_bad_message_is_answered_with_an_error_and_the_connection_kept(
    stream: Stream, store: FakeStreamStore, poster: RecordingPoster, body: str, code: str
) -> None:
    stream.connect("c1", "demo", "user", "2026-11-25T09:30:00.000Z")
    stream.receive("c1", body)
    assert poster.sent["c1"][-1]["code"] == code
    assert store.get_connection("c1") is not None


def test_ping_is_answered_with_pong(stream: Stream, poster: RecordingPoster) -> None:
    stream.connect("c1", "demo", "user", "2026-11-25T09:30:00.000Z")
    stream.receive("c1", '{"action": "ping"}')
    assert poster.sent["c1"] == [{"type": "pong"}]


def test_market_data_goes_to_every_subscriber_of_its_symbol(
    stream: Stream, poster: RecordingPoster
) -> None:
    for cid, account in (("a", "demo"), ("b", "other")):
        stream.connect(cid, account, "user", "2026-11-25T09:30:00.000Z")
        stream.receive(cid, '{"action": "subscribe", "channels": ["quotes:GOOG", "bars:GOOG:1m"]}')
    stream.publish(market_event())
    for cid in ("a", "b"):
        assert poster.of_channel(cid, "quotes:GOOG")[0]["data"]["price"] == "2"
        assert poster.of_channel(cid, "bars:GOOG:1m")[0]["seq"] == 1


def test_channels_resolve_to_the_callers_account_or_the_market() -> None:
    assert resolve("orders", "demo") == Subscription("demo", "orders")
    assert resolve("orders:demo", "demo") == Subscription("demo", "orders")
    assert resolve("quotes:BTC-USD", "demo") == Subscription(MARKET_SCOPE, "quotes:BTC-USD")
    with pytest.raises(ChannelError) as refused:
        resolve("trades:alice", "demo")
    assert refused.value.code == "CHANNEL_FORBIDDEN"


def test_account_changes_are_published_on_the_account_channel_only() -> None:
    from redfire_core.domain.channels import publications

    payload = {
        "account": {"currency": "USD", "cash": "9000", "reserved": "0", "realized_pnl": "0",
                    "commissions": "1"},
        "reason": "fill",
        "order_id": "o-1",
    }  # fmt: skip
    [published] = publications("AccountChanged", "demo", payload)
    assert (published.scope, published.channel) == ("demo", "account")
    assert published.data == {**payload["account"], "reason": "fill", "order_id": "o-1"}
    assert publications("AccountChanged", None, payload) == []


# --- channels nobody watches ----------------------------------------------------------

WINDOW = CONNECTION_TTL_SECONDS + 3600  # a subscription's longest life, then retention


def test_an_event_on_a_channel_nobody_watches_is_neither_sequenced_nor_kept(
    stream: Stream, store: FakeStreamStore
) -> None:
    assert stream.publish(order_event()) == []
    assert (store.channels, store.claims) == ({}, {})  # nothing written at all


def test_a_subscriber_numbers_from_one_whatever_was_not_kept_before(
    stream: Stream, poster: RecordingPoster
) -> None:
    stream.publish(order_event())
    stream.publish(order_event())
    connect(stream, "c1")
    for _ in range(3):
        stream.publish(order_event())
    assert poster.sent["c1"][0] == {"type": "subscribed", "channel": "orders", "seq": 0}
    assert [m["seq"] for m in poster.of_channel("c1", "orders")] == [1, 2, 3]


def test_a_client_resuming_within_the_window_gets_every_event_it_missed(
    stream: Stream, poster: RecordingPoster, clock: Clock
) -> None:
    connect(stream, "c1")
    stream.publish(order_event())
    stream.disconnect("c1")
    clock.now += WINDOW - 10  # nobody connected since, but still within the window
    stream.publish(order_event())
    stream.publish(order_event())
    connect(stream, "c2", resume={"orders": 1})
    assert [m["seq"] for m in poster.of_channel("c2", "orders")] == [2, 3]
    assert [m for m in poster.sent["c2"] if m["type"] == "error"] == []


@pytest.mark.parametrize("resume", [0, 1, 2])
def test_a_resume_point_before_an_event_that_was_not_kept_is_reported_then_live_goes_on(
    stream: Stream, poster: RecordingPoster, clock: Clock, resume: int
) -> None:
    # Given seqs 1..2 seen, then the channel unwatched past the window and an event dropped
    connect(stream, "c1")
    stream.publish(order_event())
    stream.publish(order_event())
    stream.disconnect("c1")
    clock.now += WINDOW + 1
    assert stream.publish(order_event()) == []
    # When the client resumes (even from 2, the last seq: the dropped event came after it)
    connect(stream, "c2", resume={"orders": resume})
    stream.publish(order_event())
    # Then it is told, explicitly, before any message; and live goes on from its ack (the
    # lapse consumed seq 3, which nobody was subscribed to receive)
    control = [m["type"] for m in poster.sent["c2"]]
    assert control[:2] == ["subscribed", "error"]
    ack, error = poster.sent["c2"][:2]
    assert ack["seq"] == 3
    assert (error["code"], error["resume"], error["oldest_seq"]) == (
        "RESUME_POINT_EXPIRED",
        resume,
        4,
    )
    assert [m["seq"] for m in poster.of_channel("c2", "orders")] == [4]


def test_a_subscriber_acknowledged_after_a_lapse_resumes_without_an_error(
    stream: Stream, poster: RecordingPoster, clock: Clock
) -> None:
    connect(stream, "c1")
    stream.publish(order_event())
    stream.disconnect("c1")
    clock.now += WINDOW + 1
    stream.publish(order_event())  # not kept
    connect(stream, "c2")
    [ack] = poster.sent["c2"]
    stream.disconnect("c2")
    stream.publish(order_event())  # missed by c2, kept for it
    connect(stream, "c3", resume={"orders": ack["seq"]})
    assert [m for m in poster.sent["c3"] if m["type"] == "error"] == []
    assert [m["seq"] for m in poster.of_channel("c3", "orders")] == [ack["seq"] + 1]


def test_a_resume_point_after_the_last_event_not_kept_is_honoured(
    stream: Stream, poster: RecordingPoster, clock: Clock
) -> None:
    stream.publish(order_event())  # not kept: nobody watches
    connect(stream, "c1")
    stream.publish(order_event())  # seq 1, the first the client sees
    stream.disconnect("c1")
    stream.publish(order_event())  # seq 2, missed
    connect(stream, "c2", resume={"orders": 1})
    assert [m["seq"] for m in poster.of_channel("c2", "orders")] == [2]
    assert [m for m in poster.sent["c2"] if m["type"] == "error"] == []


def test_a_subscribe_landing_before_the_states_read_gets_the_event_sequenced(
    stream: Stream, store: FakeStreamStore, poster: RecordingPoster
) -> None:
    # Given a subscribe that lands between the event's arrival and the pusher's read
    original = store.watches

    def subscribe_first(subs: Any) -> Any:
        connect(stream, "late")
        return original(subs)

    store.watches = subscribe_first  # type: ignore[method-assign]
    # Then the read sees the watch and the event is sequenced and delivered
    [(_, seq)] = stream.publish(order_event())
    assert seq == 1
    assert [m["seq"] for m in poster.of_channel("late", "orders")] == [1]


def test_a_subscribe_landing_after_the_states_read_starts_after_the_event(
    stream: Stream, store: FakeStreamStore, poster: RecordingPoster
) -> None:
    original = store.watches

    def subscribe_after(subs: Any) -> Any:
        watched = original(subs)
        connect(stream, "late")
        return watched

    store.watches = subscribe_after  # type: ignore[method-assign]
    assert stream.publish(order_event()) == []
    store.watches = original  # type: ignore[method-assign]
    stream.publish(order_event())
    assert poster.sent["late"][0]["seq"] == 0  # its live start: nothing before it
    assert [m["seq"] for m in poster.of_channel("late", "orders")] == [1]


def test_one_batch_reads_each_channel_once_and_numbers_in_order(
    stream: Stream, store: FakeStreamStore, poster: RecordingPoster
) -> None:
    connect(stream, "c1")
    events = [order_event() for _ in range(3)]
    reads: list[tuple[str, set[str]]] = []
    for name in ("watches", "channel_states"):
        original = getattr(store, name)

        def counted(subs: Any, name: str = name, original: Any = original) -> Any:
            subs = list(subs)
            reads.append((name, {sub.channel for sub in subs}))
            return original(subs)

        setattr(store, name, counted)
    states = stream.channel_states(events)
    for event in events:
        stream.publish(event, states)
    # one watch read for the whole batch (the orders channel and trade_updates), then the
    # sequence state of the watched channel only
    assert reads == [("watches", {"orders", "trade_updates"}), ("channel_states", {"orders"})]
    assert [m["seq"] for m in poster.of_channel("c1", "orders")] == [1, 2, 3]


def test_market_data_nobody_watches_is_not_kept(stream: Stream, store: FakeStreamStore) -> None:
    assert stream.publish(market_event()) == []
    assert store.channels == {}  # not even a state item


def test_an_accounts_channels_share_one_watch_item_and_a_symbols_market_channels_another() -> None:
    from redfire_core.domain.channels import watch_group

    account = {watch_group(Subscription("demo", c)) for c in ("orders", "trades", "account")}
    market = {watch_group(resolve(c, "demo")) for c in ("quotes:GOOG", "bars:GOOG:1m")}
    assert account == {"demo"}
    assert market == {f"{MARKET_SCOPE}#GOOG"}
    assert watch_group(resolve("quotes:AAPL", "demo")) != f"{MARKET_SCOPE}#GOOG"
    assert watch_group(Subscription("alice", "orders")) != "demo"


def test_a_batch_nobody_watches_reads_no_sequence_state(
    stream: Stream, store: FakeStreamStore
) -> None:
    read: list[Any] = []
    original = store.channel_states

    def counted(subs: Any) -> Any:
        read.append(list(subs))
        return original(subs)

    store.channel_states = counted  # type: ignore[method-assign]
    states = stream.channel_states([order_event(), market_event()])
    assert stream.publish(order_event(), states) == []
    # the watch read said nobody watches: no channel's state was read
    assert read == []
    assert all(state.watched_until == 0 for state in states.values())

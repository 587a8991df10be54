"""The ws handler and the pusher on moto, with real API Gateway WebSocket and SQS event
shapes; the management API is a recording fake."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from redfire_core.adapters.trading_store import TradingStore
from redfire_core.auth import issue_token
from redfire_core.config import get_settings
from redfire_core.domain.channels import Subscription
from redfire_core.domain.roles import Role
from redfire_core.events import Envelope, new_id
from redfire_stream import wiring
from tests.integration.conftest import SECRET, call_api, call_ws, token_for
from tests.support.events import LambdaContext, load_event
from tests.support.pipeline import Pipeline
from tests.support.serialised_moto import serialised_aws_calls
from tests.support.stream_fakes import RecordingPoster

ORDER = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10"}


ws = call_ws


def connect(cid: str, token: str | None, *, via_protocol: bool = False) -> dict[str, Any]:
    event = load_event("apigw_ws_connect")
    event["requestContext"]["connectionId"] = cid
    if token and via_protocol:
        event["headers"]["Sec-WebSocket-Protocol"] = f"redfire, {token}"
    elif token:
        event["queryStringParameters"] = {"token": token}
        event["multiValueQueryStringParameters"] = {"token": [token]}
    return ws(event)


def send(cid: str, body: dict[str, Any] | str) -> None:
    event = load_event("apigw_ws_message")
    text = body if isinstance(body, str) else json.dumps(body)
    action = body.get("action") if isinstance(body, dict) else None
    event["requestContext"]["connectionId"] = cid
    event["requestContext"]["routeKey"] = (
        action if action in ("subscribe", "unsubscribe", "ping") else "$default"
    )
    event["body"] = text
    assert ws(event) == {"statusCode": 200}


def disconnect(cid: str) -> None:
    event = load_event("apigw_ws_disconnect")
    event["requestContext"]["connectionId"] = cid
    assert ws(event) == {"statusCode": 200}


def subscribed(
    cid: str, channels: list[str], account: str = "demo", token: str | None = None, **resume: int
) -> None:
    assert connect(cid, token or token_for(account))["statusCode"] == 200
    request: dict[str, Any] = {"action": "subscribe", "channels": channels}
    if resume:
        request["resume"] = resume
    send(cid, request)


def connection_item(cid: str) -> dict[str, Any] | None:
    table = get_settings().table_name("connections")
    item: dict[str, Any] | None = (
        boto3.client("dynamodb")
        .get_item(TableName=table, Key={"pk": {"S": f"CONN#{cid}"}, "sk": {"S": "META"}})
        .get("Item")
    )
    return item


# --- ws routes -------------------------------------------------------------------------


def test_connect_with_a_valid_token_in_the_query_string_registers_the_connection(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    assert connect("c1", token_for("demo")) == {"statusCode": 200}
    item = connection_item("c1")
    assert item is not None and item["account_id"]["S"] == "demo" and "ttl" in item


def test_connect_with_the_token_as_websocket_protocol_selects_the_redfire_protocol(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    reply = connect("c1", token_for("demo"), via_protocol=True)
    assert reply == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "redfire"}}


@pytest.mark.parametrize("token", [None, "not.a.token", "garbage"])
def test_connect_with_a_missing_or_bad_token_is_refused(
    seeded: TradingStore, poster: RecordingPoster, token: str | None
) -> None:
    assert connect("c1", token)["statusCode"] == 401
    assert connection_item("c1") is None


def test_ping_is_answered_with_pong(seeded: TradingStore, poster: RecordingPoster) -> None:
    connect("c1", token_for("demo"))
    send("c1", {"action": "ping"})
    assert poster.sent["c1"] == [{"type": "pong"}]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{oops", "MESSAGE_MALFORMED"),
        ({"action": "fly"}, "ACTION_UNKNOWN"),
        ({"action": "subscribe", "channels": ["gossip"]}, "CHANNEL_UNKNOWN"),
        ({"action": "subscribe", "channels": ["orders:other"]}, "CHANNEL_FORBIDDEN"),
    ],
)
def test_a_bad_message_gets_an_error_and_keeps_the_connection(
    seeded: TradingStore, poster: RecordingPoster, body: Any, code: str
) -> None:
    connect("c1", token_for("demo"))
    send("c1", body)
    assert poster.sent["c1"][-1]["type"] == "error"
    assert poster.sent["c1"][-1]["code"] == code
    assert connection_item("c1") is not None


def test_disconnect_forgets_the_connection_and_its_subscriptions(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    subscribed("c1", ["orders", "quotes:GOOG"])
    disconnect("c1")
    assert connection_item("c1") is None
    store = wiring.stream("x").store
    assert store.subscribers(Subscription("demo", "orders"), 0) == []


# --- the pusher ------------------------------------------------------------------------


def test_an_order_streams_submitted_accepted_filled_in_seq_order_as_rest_shows_it(
    seeded: TradingStore, pipeline: Pipeline, poster: RecordingPoster
) -> None:
    subscribed("c1", ["orders", "trades", "positions"])
    status, _, order = call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    assert status == 201
    pipeline.run_until_quiet()

    messages = poster.of_channel("c1", "orders")
    assert [m["type"] for m in messages] == ["OrderSubmitted", "OrderAccepted", "OrderFilled"]
    assert [m["seq"] for m in messages] == [1, 2, 3]
    _, _, final = call_api("GET", f"/v1/orders/{order['id']}", token=token_for())
    assert messages[-1]["data"] == final
    assert poster.of_channel("c1", "trades")[0]["data"]["order_id"] == order["id"]
    assert poster.of_channel("c1", "positions")[0]["data"]["quantity"] == "10"


def test_a_subscriber_never_receives_another_accounts_events(
    seeded: TradingStore, other_account: str, pipeline: Pipeline, poster: RecordingPoster
) -> None:
    subscribed("theirs", ["orders", "trades", "positions"], account=other_account)
    call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    pipeline.run_until_quiet()
    assert [m for m in poster.sent["theirs"] if "data" in m] == []


def test_a_gone_connection_is_removed_by_the_pusher(
    seeded: TradingStore, pipeline: Pipeline, poster: RecordingPoster
) -> None:
    subscribed("gone", ["orders"])
    subscribed("alive", ["orders"])
    poster.gone.add("gone")
    call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    pipeline.run_until_quiet()
    assert connection_item("gone") is None
    assert len(poster.of_channel("alive", "orders")) == 3


def test_a_client_resuming_gets_exactly_what_it_missed_then_live(
    seeded: TradingStore, pipeline: Pipeline, poster: RecordingPoster
) -> None:
    subscribed("first", ["orders"])
    call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    pipeline.run_until_quiet()
    disconnect("first")  # saw seq 1..3
    call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    pipeline.run_until_quiet()  # seq 4..6 missed

    subscribed("again", ["orders"], orders=3)
    call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    pipeline.run_until_quiet()

    assert [m["seq"] for m in poster.of_channel("again", "orders")] == list(range(4, 10))


def test_a_redelivered_sqs_record_reuses_its_seq_and_posts_nothing_new(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    from redfire_stream.pusher import handler

    subscribed("c1", ["orders"])
    record = sqs_record(order_envelope("o1"))
    for _ in range(2):
        assert handler({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
    assert [m["seq"] for m in poster.of_channel("c1", "orders")] == [1]


@pytest.mark.slow
def test_concurrent_pusher_batches_cannot_reorder_a_channel(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    from redfire_stream.pusher import push

    subscribed("c1", ["orders"])
    subscribed("c2", ["orders"])
    events = [order_envelope(f"o{n}") for n in range(40)]
    start = threading.Barrier(8)

    def run(batch: list[Envelope]) -> None:
        from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

        start.wait()
        for event in batch:
            push(SQSRecord(sqs_record(event)))

    with serialised_aws_calls(), ThreadPoolExecutor(8) as pool:
        list(pool.map(run, [events[n::8] for n in range(8)]))

    for cid in ("c1", "c2"):
        assert [m["seq"] for m in poster.of_channel(cid, "orders")] == list(range(1, 41))
    assert poster.posts == 2 + 2 * 40  # two acks, then one post per event per connection


def test_one_event_to_n_connections_costs_n_posts(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    from redfire_stream.pusher import handler

    for n in range(30):
        subscribed(f"c{n}", ["orders"])
    before = poster.posts
    handler({"Records": [sqs_record(order_envelope("o1"))]}, LambdaContext())
    assert poster.posts - before == 30


def order_envelope(order_id: str) -> Envelope:
    return Envelope(
        id=new_id(),
        type="OrderAccepted",
        occurred_at="2026-11-25T09:30:00.000Z",
        account_id="demo",
        correlation_id="c",
        payload={"order": {"id": order_id, "status": "accepted"}},
    )


def sqs_record(event: Envelope) -> dict[str, Any]:
    record = load_event("sqs_eventbridge")["Records"][0]
    body = load_event("eventbridge_event")
    body.update({"id": new_id(), "detail-type": event.type, "detail": event.model_dump()})
    record["body"] = json.dumps(body)
    record["messageId"] = new_id()
    return dict(record)


def test_a_viewer_may_stream_too(seeded: TradingStore, poster: RecordingPoster) -> None:
    assert connect("c1", token_for("demo", Role.VIEWER)) == {"statusCode": 200}


def test_a_revoked_api_keys_token_is_refused_at_connect(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    from redfire_stream import ws_handler

    ws_handler._api_keys.cache_clear()  # a fresh container: no key cached as live
    admin = token_for("demo", Role.ADMIN)
    _, _, key = call_api(
        "POST", "/v1/api-keys", body={"name": "bot", "scopes": ["read"]}, token=admin
    )
    _, _, exchanged = call_api(
        "POST", "/v1/auth/token", body={"key_id": key["key_id"], "secret": key["secret"]}
    )
    token = exchanged["access_token"]
    assert connect("c1", token)["statusCode"] == 200
    call_api("DELETE", f"/v1/api-keys/{key['key_id']}", token=admin)
    ws_handler._api_keys.cache_clear()
    assert connect("c2", token)["statusCode"] == 401


# --- channels nobody watches -----------------------------------------------------------


def token_valid_for(seconds: int, account: str = "demo") -> str:
    """A token issued now that expires in ``seconds`` (outliving a test's moved clock)."""
    return issue_token(
        SECRET,
        account_id=account,
        role=Role.TRADER,
        subject=f"user-{account}",
        settings=get_settings().model_copy(update={"token_ttl_seconds": seconds}),
        now=datetime.now(UTC),
    )


class Clock:
    """The stream's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(poster: RecordingPoster, monkeypatch: pytest.MonkeyPatch) -> Clock:
    from redfire_core.services.streaming import Stream

    moved = Clock()
    monkeypatch.setattr(
        wiring, "Stream", lambda *args, **kwargs: Stream(*args, **kwargs, clock=moved)
    )
    wiring.stream.cache_clear()
    return moved


def pusher_store() -> Any:
    """The stream store the pusher uses (the ws routes have their own, per API)."""
    return wiring.stream(wiring.management_url()).store


def push(*events: Envelope) -> None:
    from redfire_stream.pusher import handler

    for event in events:
        reply = handler({"Records": [sqs_record(event)]}, LambdaContext())
        assert reply == {"batchItemFailures": []}


def connections_items(prefix: str) -> list[dict[str, Any]]:
    table = get_settings().table_name("connections")
    items: list[dict[str, Any]] = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return [item for item in items if item["pk"]["S"].startswith(prefix)]


def test_events_nobody_watches_are_not_kept_and_cost_no_write(
    seeded: TradingStore,
    pipeline: Pipeline,
    poster: RecordingPoster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from redfire_core.domain import channels
    from redfire_core.services import streaming

    published: list[Any] = []

    def counted(*args: Any) -> list[channels.Publication]:
        found = channels.publications(*args)
        published.extend(found)
        return found

    # Given an account whose watch item exists (its first batch wrote it, once)
    call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    pipeline.run_until_quiet()
    monkeypatch.setattr(streaming, "publications", counted)
    calls: list[str] = []
    pusher_store().client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    # When an order fills with nobody subscribed to anything
    call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    pipeline.run_until_quiet()
    # Then the pusher only read (one batch read per batch, not one per publication), and
    # nothing was written, kept or posted
    assert len(published) >= 5  # orders x3, trades, positions, account x2
    assert calls and set(calls) == {"BatchGetItem"}
    assert len(calls) < len(published)
    assert connections_items("CHAN#") == connections_items("MSG#") == []
    assert connections_items("EVT#") == []
    assert poster.posts == 0


def test_the_pusher_reads_one_watch_item_per_account_and_batch_when_nobody_watches(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    requested: list[list[str]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        for request in params["RequestItems"].values():
            requested.append([key["pk"]["S"] for key in request["Keys"]])

    # Given an account whose watch item exists (its first batch wrote it, once)
    call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    pipeline.run_until_quiet()
    pusher_store().client.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem", record
    )
    # When an order fills with nobody subscribed (its events touch orders, trades,
    # positions, account and trade_updates)
    call_api("POST", "/v1/orders", body=ORDER, token=token_for())
    pipeline.run_until_quiet()
    # Then each pusher batch read one item, the account's watch item (1 read unit), and
    # no channel's state
    assert requested
    assert requested == [["WATCH#demo"]] * len(requested)


def test_channels_watched_before_watch_items_existed_stay_watched(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    # Given a channel subscribed under the previous release, which kept the watch on the
    # channel's state item and wrote no watch item
    subscribed("c1", ["orders"])
    table = get_settings().table_name("connections")
    client = boto3.client("dynamodb")
    watch = client.get_item(TableName=table, Key={"pk": {"S": "WATCH#demo"}, "sk": {"S": "STATE"}})
    client.delete_item(TableName=table, Key={"pk": {"S": "WATCH#demo"}, "sk": {"S": "STATE"}})
    until = watch["Item"]["until#orders"]
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "CHAN#demo#orders"}, "sk": {"S": "STATE"}},
        UpdateExpression="SET watched_until = :u",
        ExpressionAttributeValues={":u": until},
    )

    # When the upgraded pusher gets the account's next events
    push(order_envelope("o1"))
    push(order_envelope("o2"))

    # Then the subscriber still gets them in sequence, and the account's watch item now
    # holds the channel's watch (so later batches read that item only)
    assert [m["seq"] for m in poster.of_channel("c1", "orders")] == [1, 2]
    adopted = client.get_item(
        TableName=table, Key={"pk": {"S": "WATCH#demo"}, "sk": {"S": "STATE"}}
    )["Item"]
    assert adopted["until#orders"] == until
    assert "until#trade_updates" not in adopted


def test_a_batch_reads_the_sequence_state_of_watched_channels_only(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    subscribed("c1", ["orders"])
    requested: list[list[str]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        for request in params["RequestItems"].values():
            requested.append(sorted(key["pk"]["S"] for key in request["Keys"]))

    pusher_store().client.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem", record
    )
    # When an order event comes (published on orders and trade_updates)
    push(order_envelope("o1"))
    # Then the watch item was read, then the state of the one watched channel
    assert requested == [["WATCH#demo"], ["CHAN#demo#orders"]]
    assert [m["seq"] for m in poster.of_channel("c1", "orders")] == [1]


def test_a_resume_point_from_before_an_event_not_kept_is_reported_then_live_continues(
    seeded: TradingStore, poster: RecordingPoster, clock: Clock
) -> None:
    from redfire_core.services.streaming import CONNECTION_TTL_SECONDS

    # Given a client that saw seqs 1..2 and left
    subscribed("first", ["orders"])
    push(order_envelope("o1"), order_envelope("o2"))
    disconnect("first")
    # And the channel unwatched past the window, an event arriving then (not kept)
    clock.now += CONNECTION_TTL_SECONDS + get_settings().stream_retention_seconds + 1
    push(order_envelope("o3"))
    assert len(connections_items("MSG#")) == 2
    # When it resumes from its last seq (with a token still valid at the moved clock)
    subscribed("again", ["orders"], token=token_valid_for(4 * 86_400), orders=2)
    push(order_envelope("o4"))
    # Then it is told explicitly, and live messages continue from its acknowledgement
    # (the lapse consumed seq 3: nobody was subscribed to receive it)
    ack, error = poster.sent["again"][:2]
    assert (ack["type"], ack["seq"]) == ("subscribed", 3)
    assert (error["code"], error["resume"], error["oldest_seq"]) == (
        "RESUME_POINT_EXPIRED",
        2,
        4,
    )
    assert [(m["seq"], m["data"]["id"]) for m in poster.of_channel("again", "orders")] == [
        (4, "o4")
    ]


def test_a_lapsed_watch_is_renewed_once_however_many_subscribe(
    seeded: TradingStore, poster: RecordingPoster, clock: Clock
) -> None:
    from redfire_core.services.streaming import CONNECTION_TTL_SECONDS

    # Given a channel that got seq 1, then nobody watched it for longer than the window
    subscribed("first", ["orders"])
    push(order_envelope("o1"))
    disconnect("first")
    clock.now += CONNECTION_TTL_SECONDS + get_settings().stream_retention_seconds + 1
    # When two clients subscribe one after the other
    token = token_valid_for(4 * 86_400)
    subscribed("a", ["orders"], token=token)
    subscribed("b", ["orders"], token=token)
    push(order_envelope("o2"))
    # Then the first renewal alone moved the sequence past the lapse (seq 2 is never
    # posted), and both get the next event as seq 3
    assert [poster.sent[cid][0]["seq"] for cid in ("a", "b")] == [2, 2]
    for cid in ("a", "b"):
        assert [m["seq"] for m in poster.of_channel(cid, "orders")] == [3]


def test_a_subscribe_landing_before_the_states_read_gets_the_event_sequenced(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    store = pusher_store()
    read = store.watches

    def subscribe_first(subs: Any) -> Any:
        subscribed("late", ["orders"])  # lands just before the pusher's read
        return read(subs)

    store.watches = subscribe_first
    push(order_envelope("o1"))
    assert [m["seq"] for m in poster.of_channel("late", "orders")] == [1]
    assert len(connections_items("MSG#")) == 1


# --- revocation and expiry end delivery ------------------------------------------------


def key_token(account: str = "demo") -> tuple[str, str]:
    """(key id, token exchanged from a new read-only API key of ``account``)."""
    admin = token_for(account, Role.ADMIN)
    _, _, key = call_api(
        "POST", "/v1/api-keys", body={"name": "bot", "scopes": ["read"]}, token=admin
    )
    _, _, exchanged = call_api(
        "POST", "/v1/auth/token", body={"key_id": key["key_id"], "secret": key["secret"]}
    )
    return key["key_id"], exchanged["access_token"]


def revoke(key_id: str, account: str = "demo") -> None:
    status, _, _ = call_api(
        "DELETE", f"/v1/api-keys/{key_id}", token=token_for(account, Role.ADMIN)
    )
    assert status in (200, 204)
    wiring.api_keys.cache_clear()  # the stream's cached "live" answer has aged out


def ended_with(poster: RecordingPoster, cid: str, code: str) -> bool:
    """The connection was told ``code`` last, closed, and forgotten."""
    last = poster.sent[cid][-1]
    return (
        (last["type"], last["code"]) == ("error", code)
        and cid in poster.closed
        and connection_item(cid) is None
    )


def test_a_revoked_keys_connection_gets_token_revoked_instead_of_the_next_event(
    seeded: TradingStore, poster: RecordingPoster
) -> None:
    key_id, token = key_token()
    subscribed("bot", ["orders"], token=token)
    subscribed("user", ["orders"])

    revoke(key_id)
    push(order_envelope("o1"))
    push(order_envelope("o2"))

    assert poster.of_channel("bot", "orders") == []
    assert ended_with(poster, "bot", "TOKEN_REVOKED")
    assert [m["data"]["id"] for m in poster.of_channel("user", "orders")] == ["o1", "o2"]
    assert "user" not in poster.closed


def test_an_expired_tokens_connection_gets_token_expired_instead_of_the_next_event(
    seeded: TradingStore, poster: RecordingPoster, clock: Clock
) -> None:
    subscribed("short", ["orders"], token=token_valid_for(60))
    subscribed("long", ["orders"], token=token_valid_for(3600))

    clock.now += 61
    push(order_envelope("o1"))

    assert poster.of_channel("short", "orders") == []
    assert ended_with(poster, "short", "TOKEN_EXPIRED")
    assert [m["data"]["id"] for m in poster.of_channel("long", "orders")] == ["o1"]


def test_a_message_on_a_connection_whose_token_expired_ends_it(
    seeded: TradingStore, poster: RecordingPoster, clock: Clock
) -> None:
    assert connect("c1", token_valid_for(60))["statusCode"] == 200

    clock.now += 61
    send("c1", {"action": "ping"})

    assert {"type": "pong"} not in poster.sent["c1"]
    assert ended_with(poster, "c1", "TOKEN_EXPIRED")


def test_the_declared_sweep_closes_idle_connections_whose_token_expired_or_key_was_revoked(
    seeded: TradingStore, poster: RecordingPoster, clock: Clock
) -> None:
    from redfire_core.resources import SCHEDULES
    from redfire_stream.pusher import handler

    sweep = SCHEDULES["close-stale-connections"]
    assert (sweep.function, sweep.rate_seconds()) == ("pusher", 60)  # the documented bound
    key_id, token = key_token()
    subscribed("bot", ["orders"], token=token)
    subscribed("short", ["trades"], token=token_valid_for(60))
    assert connect("idle", token_valid_for(60))["statusCode"] == 200
    subscribed("long", ["orders"], token=token_valid_for(3600))

    # No event comes; the clock passes the short tokens' expiry and the key is revoked.
    revoke(key_id)
    clock.now += 61
    ended = handler(dict(sweep.payload), LambdaContext())

    assert ended == {"TOKEN_EXPIRED": 2, "TOKEN_REVOKED": 1}
    assert ended_with(poster, "bot", "TOKEN_REVOKED")
    assert ended_with(poster, "short", "TOKEN_EXPIRED")
    assert ended_with(poster, "idle", "TOKEN_EXPIRED")
    assert "long" not in poster.closed and connection_item("long") is not None
    assert handler(dict(sweep.payload), LambdaContext()) == {"TOKEN_EXPIRED": 0, "TOKEN_REVOKED": 0}

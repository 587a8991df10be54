"""The real-time stream: connections, subscriptions with resume, and the pusher.

Ordering (see docs/realtime.md): a message gets its seq and is stored in one
conditional transaction keyed by the event id, so a seq is never skipped, never given
twice, and a redelivered event reuses its seq. Delivery of a channel happens only under
the channel's lease: the holder posts every stored message after ``delivered_seq`` to
every subscriber, in seq order, then records how far it got and releases the lease, and
looks again (so a message stored while the lease was held is never left behind). Two
pusher batches therefore never post the same channel at the same time, and a resume
replay holds the same lease, so replayed and live messages cannot interleave.

Only watched channels pay for this. A subscription marks its channel watched until the
subscription's end plus the retention window, on one watch item per account (per symbol
for market data); the pusher reads the watch items of a batch's accounts in one strongly
consistent read, the sequence state of the watched channels only, and writes nothing for
an unwatched one (a subscribe that lands after that read starts after the event, which
its REST snapshot holds). The first watch after a lapse raises the channel's
``resume_floor`` past every earlier seq, so a resume point from before the lapse is
answered ``RESUME_POINT_EXPIRED``, never silently (see ``StreamStore.watch``).

A connection receives only while the token it connected with would still be accepted: the
pusher checks the token's expiry and its API key's revocation (cached briefly) before it
posts, the ws routes before they answer, and a scheduled sweep for idle connections. A
connection that fails the check gets ``TOKEN_EXPIRED`` or ``TOKEN_REVOKED`` and is closed.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from redfire_core.adapters.stream_store import (
    ChannelState,
    Connection,
    Retained,
    SeqConflict,
    Subscriber,
)
from redfire_core.adapters.ws_management import ConnectionGone, ConnectionPoster
from redfire_core.auth import Principal
from redfire_core.domain.channels import (
    TRADE_UPDATES,
    ChannelError,
    Subscription,
    publications,
    resolve,
)
from redfire_core.events import Envelope, new_id

CONNECTION_TTL_SECONDS = 2 * 3600 + 600  # API Gateway closes a connection after 2 hours
LEASE_MS = 30_000  # a crashed holder blocks its channel this long at most
LEASE_WAIT_SECONDS = 10.0  # how long a resume waits for a busy channel
MAX_SEQ_ATTEMPTS = 100
MAX_CHANNELS_PER_REQUEST = 20
POST_CONCURRENCY = 16  # connections posted to at once (each one's messages stay in order)
ACTIONS = ("subscribe", "unsubscribe", "ping")
ALPACA = "alpaca"  # the dialect of an Alpaca trade_updates connection
ALPACA_AUTH_SECONDS = 10  # an Alpaca connection that has not authenticated by then is closed
ENDINGS = {
    "TOKEN_EXPIRED": "the token expired; connect again with a fresh token and resume",
    "TOKEN_REVOKED": "the token's API key was revoked",
}


class StreamStorePort(Protocol):
    def put_connection(self, connection: Connection, ttl: int) -> None: ...
    def get_connection(self, connection_id: str) -> Connection | None: ...
    def connections(self) -> list[Connection]: ...
    def delete_connection(self, connection_id: str) -> None: ...
    def put_subscription(self, connection: Connection, sub: Subscription, ttl: int) -> None: ...
    def delete_subscription(self, connection_id: str, sub: Subscription) -> None: ...
    def subscribers(self, sub: Subscription, now: int) -> list[Subscriber]: ...
    def claimed_seq(self, event_key: str) -> int | None: ...
    def channel_state(self, sub: Subscription) -> ChannelState: ...
    def channel_states(self, subs: Iterable[Subscription]) -> dict[Subscription, ChannelState]: ...
    def watches(self, subs: Iterable[Subscription]) -> dict[Subscription, int]: ...
    def watch(self, sub: Subscription, until: int, now: int) -> ChannelState: ...
    def append(
        self,
        sub: Subscription,
        event_key: str,
        expected_last: int,
        message: dict[str, Any],
        ttl: int,
    ) -> int: ...
    def messages(self, sub: Subscription, after: int, upto: int, now: int) -> list[Retained]: ...
    def acquire_lease(self, sub: Subscription, owner: str, now_ms: int, lease_ms: int) -> bool: ...
    def release_lease(self, sub: Subscription, owner: str, delivered_seq: int | None) -> None: ...


@dataclass
class Stream:
    """The stream's ports and knobs; one per container."""

    store: StreamStorePort
    poster: ConnectionPoster
    retention_seconds: int = 86_400
    # True while an API key is not revoked (the key store's briefly cached check); None:
    # tokens exchanged from keys are only checked for expiry.
    key_is_live: Callable[[str], bool] | None = None
    # Alpaca's trade_updates dialect: the check of an ``authenticate`` message's key (key
    # id, secret, source address -> the key's principal; None when refused or throttled),
    # and an order event's trade update (None when Alpaca has no such event).
    check_key: Callable[[str, str, str], Principal | None] | None = None
    trade_update: Callable[[Envelope], dict[str, Any] | None] | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    posts: int = 0  # management API posts made by this container (all routes)
    last_posts: int = 0  # posts made by the last publish (the pusher's metric)
    _count_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def now(self) -> int:
        return int(self.clock())

    # --- connections ----------------------------------------------------------------

    def connect(
        self,
        connection_id: str,
        account_id: str,
        subject: str,
        connected_at: str,
        *,
        expires_at: int = 0,
        key_id: str | None = None,
    ) -> None:
        """Record the connection with what decides how long it may receive: its token's
        expiry and, for a token exchanged from an API key, the key."""
        self.store.put_connection(
            Connection(connection_id, account_id, subject, connected_at, expires_at, key_id),
            self.now + CONNECTION_TTL_SECONDS,
        )

    def connect_alpaca(self, connection_id: str, connected_at: str) -> int:
        """Record an Alpaca trade_updates connection, which has no principal until it sends
        ``authenticate``; its ``expires_at`` is that deadline, returned (epoch seconds)."""
        deadline = self.now + ALPACA_AUTH_SECONDS
        self.store.put_connection(
            Connection(connection_id, "", "", connected_at, deadline, None, ALPACA),
            self.now + CONNECTION_TTL_SECONDS,
        )
        return deadline

    def close_unauthenticated(self, connection_id: str) -> bool:
        """The authentication deadline: close the connection if it has not authenticated
        (silently: it receives nothing before a successful ``authenticate``)."""
        connection = self.store.get_connection(connection_id)
        if connection is None or connection.authenticated:
            return False
        self.poster.close(connection_id)
        self.store.delete_connection(connection_id)
        return True

    def disconnect(self, connection_id: str) -> None:
        self.store.delete_connection(connection_id)

    # --- client messages ------------------------------------------------------------

    def receive(self, connection_id: str, body: str | None, source: str = "") -> None:
        """Handle one client message; every failure is answered on the socket (an
        unauthenticated Alpaca connection's are not: it receives nothing before
        ``authenticate`` succeeds). ``source`` is the caller's address (for throttling)."""
        connection = self.store.get_connection(connection_id)
        if connection is None:
            self._send(connection_id, _error("CONNECTION_UNKNOWN", "connect again"))
            return
        ending = self.refusal(connection)
        if ending is not None:
            self.end(connection_id, ending, tell=connection.authenticated)
            return
        if connection.dialect == ALPACA:
            self._receive_alpaca(connection, body, source)
            return
        try:
            request = json.loads(body or "")
        except ValueError:
            self._send(connection_id, _error("MESSAGE_MALFORMED", "the message is not JSON"))
            return
        if not isinstance(request, dict):
            self._send(connection_id, _error("MESSAGE_MALFORMED", "send a JSON object"))
            return
        action = request.get("action")
        if action == "ping":
            self._send(connection_id, {"type": "pong"})
        elif action == "subscribe":
            self.subscribe(connection, request.get("channels"), request.get("resume"))
        elif action == "unsubscribe":
            self.unsubscribe(connection, request.get("channels"))
        else:
            self._send(
                connection_id,
                _error("ACTION_UNKNOWN", f"unknown action {action!r}; one of {list(ACTIONS)}"),
            )

    def subscribe(self, connection: Connection, channels: Any, resume: Any) -> None:
        cid = connection.connection_id
        names = self._channel_names(cid, channels)
        if names is None:
            return
        if resume is None:
            resume = {}
        if not isinstance(resume, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in resume.values()
        ):
            self._send(cid, _error("MESSAGE_MALFORMED", "resume maps channels to seq numbers"))
            return
        stray = sorted(set(resume) - set(names))
        if stray:
            self._send(
                cid, _error("MESSAGE_MALFORMED", f"resume names {stray[0]!r}, not subscribed")
            )
            return
        for name in names:
            try:
                sub = resolve(name, connection.account_id)
            except ChannelError as error:
                self._send(cid, _error(error.code, error.message, channel=name))
                continue
            self._subscribe_one(connection, name, sub, resume.get(name))

    # --- Alpaca's trade_updates dialect -------------------------------------------------

    def _receive_alpaca(self, connection: Connection, body: str | None, source: str) -> None:
        try:
            request = json.loads(body or "")
        except ValueError:
            request = None
        action = request.get("action") if isinstance(request, dict) else None
        data = request.get("data") if isinstance(request, dict) else None
        data = data if isinstance(data, dict) else {}
        if action == "authenticate":
            self._authenticate_alpaca(connection, data, source)
        elif not connection.authenticated:
            return  # nothing before a successful authenticate
        elif action == "listen":
            self._listen(connection, data.get("streams"))
        else:
            self._send(
                connection.connection_id,
                {"stream": "error", "data": {"error": f"unknown action {action!r}"}},
            )

    def _authenticate_alpaca(
        self, connection: Connection, data: dict[str, Any], source: str
    ) -> None:
        cid = connection.connection_id
        if not connection.authenticated:
            key_id, secret = data.get("key_id"), data.get("secret_key")
            principal = None
            if isinstance(key_id, str) and isinstance(secret, str) and self.check_key:
                principal = self.check_key(key_id, secret, source)
            if principal is None or not principal.has_scope("read"):
                self._send(cid, _authorization("unauthorized"))
                self.poster.close(cid)
                self.store.delete_connection(cid)
                return
            # From now on the connection lives while the key does (checked before each post).
            connection = replace(
                connection,
                account_id=principal.account_id,
                subject=principal.subject,
                expires_at=0,
                key_id=principal.subject,
            )
            self.store.put_connection(connection, self.now + CONNECTION_TTL_SECONDS)
        self._send(cid, _authorization("authorized"))

    def _listen(self, connection: Connection, streams: Any) -> None:
        listening = isinstance(streams, list) and TRADE_UPDATES in streams
        sub = Subscription(connection.account_id, TRADE_UPDATES)
        if listening:
            self._subscribe_and_watch(connection, sub)
        else:
            self.store.delete_subscription(connection.connection_id, sub)
        self._send(
            connection.connection_id,
            {"stream": "listening", "data": {"streams": [TRADE_UPDATES] if listening else []}},
        )

    def unsubscribe(self, connection: Connection, channels: Any) -> None:
        cid = connection.connection_id
        names = self._channel_names(cid, channels)
        if names is None:
            return
        for name in names:
            try:
                sub = resolve(name, connection.account_id)
            except ChannelError as error:
                self._send(cid, _error(error.code, error.message, channel=name))
                continue
            self.store.delete_subscription(cid, sub)
            self._send(cid, {"type": "unsubscribed", "channel": name})

    def _channel_names(self, cid: str, channels: Any) -> list[str] | None:
        if (
            not isinstance(channels, list)
            or not channels
            or len(channels) > MAX_CHANNELS_PER_REQUEST
            or not all(isinstance(c, str) for c in channels)
        ):
            self._send(
                cid,
                _error(
                    "MESSAGE_MALFORMED",
                    f"channels must be a list of 1 to {MAX_CHANNELS_PER_REQUEST} channel names",
                ),
            )
            return None
        return list(dict.fromkeys(channels))

    def _subscribe_one(
        self, connection: Connection, name: str, sub: Subscription, resume: int | None
    ) -> None:
        if resume is None:
            # Live only: no replay to order against, so no lease. Every message stored after
            # the subscription is written reaches it; the ack names the last seq stored
            # before, so a client drops the (in-flight) messages at or below it.
            state = self._subscribe_and_watch(connection, sub)
            self._send(
                connection.connection_id,
                {"type": "subscribed", "channel": name, "seq": state.last_seq},
            )
            return
        self._resume(connection, name, sub, resume)

    def _subscribe_and_watch(self, connection: Connection, sub: Subscription) -> ChannelState:
        """Subscribe, then mark the channel watched until the subscription ends plus the
        retention window (the update returns the channel's state). In this order, an
        event dropped despite the subscription was dropped before the watch landed, so
        it precedes the ``last_seq`` the subscriber is answered with."""
        until = self.now + CONNECTION_TTL_SECONDS
        self.store.put_subscription(connection, sub, until)
        return self.store.watch(sub, until + self.retention_seconds, self.now)

    def _resume(self, connection: Connection, name: str, sub: Subscription, resume: int) -> None:
        """Under the channel's lease: subscribe, acknowledge, replay; so live messages
        (posted only under the same lease) come after the replay, without overlap."""
        cid = connection.connection_id
        owner = new_id()
        deadline = time.monotonic() + LEASE_WAIT_SECONDS
        while not self.store.acquire_lease(sub, owner, self._now_ms(), LEASE_MS):
            if time.monotonic() > deadline:
                self._send(cid, _error("CHANNEL_BUSY", "try subscribing again", channel=name))
                return
            self.sleep(0.02)
        try:
            state = self._subscribe_and_watch(connection, sub)
            # An event not kept (its channel unwatched) after the resume point raised the
            # floor above it: replay only what follows the last such event, and say so.
            lost = resume < state.resume_floor
            start = max(resume, state.resume_floor - 1)
            replay: list[Retained] = []
            if start < state.delivered_seq:
                replay = self.store.messages(sub, start, state.delivered_seq, self.now)
                lost = lost or not replay or replay[0].seq != start + 1
            expired: dict[str, Any] | None = None
            if lost:
                expired = _error(
                    "RESUME_POINT_EXPIRED",
                    f"messages after seq {resume} are no longer retained; "
                    "reload the state over REST",
                    channel=name,
                    resume=resume,
                    oldest_seq=replay[0].seq if replay else max(start, state.delivered_seq) + 1,
                )
            self._send(cid, {"type": "subscribed", "channel": name, "seq": state.delivered_seq})
            if expired is not None:
                self._send(cid, expired)
            for message in replay:
                self._post(cid, message.body)
        except ConnectionGone:
            self.store.delete_connection(cid)
        finally:
            self.store.release_lease(sub, owner, None)
        # A pusher that found the lease taken left its messages to us: deliver them.
        self.deliver(sub)

    # --- the pusher -----------------------------------------------------------------

    def publish(
        self, event: Envelope, states: dict[Subscription, ChannelState] | None = None
    ) -> list[tuple[Subscription, int]]:
        """Store the event on each of its watched channels (seq assigned), then deliver
        them; nothing is written for a channel nobody watches. ``states`` are the channel
        states read for the batch (``channel_states``), carried forward by each append; a
        channel not in it is read now. Returns the stored publications; the posts this
        delivery made are in ``last_posts``."""
        states = {} if states is None else states
        pending = [
            (index, Subscription(p.scope, p.channel), p)
            for index, p in enumerate(publications(event.type, event.account_id, event.payload))
        ]
        missing = [sub for _, sub, _ in pending if sub not in states]
        if missing:
            states.update(self._states(missing))
        stored = []
        for index, sub, publication in pending:
            state = states[sub]
            if state.watched_until < self.now:
                continue
            message: dict[str, Any] = {
                "channel": publication.channel,
                "type": event.type,
                "occurred_at": event.occurred_at,
                "event_id": event.id,
                "data": publication.data,
            }
            if publication.channel == TRADE_UPDATES:
                # Alpaca's framing and shapes, built only for a channel someone listens to
                update = self.trade_update(event) if self.trade_update else None
                if update is None:
                    continue
                message = {"stream": TRADE_UPDATES, "data": update}
            seq = self.allocate(sub, f"{event.id}#{index}", message, state)
            states[sub] = replace(state, last_seq=max(seq, state.last_seq))
            stored.append((sub, seq))
        self.last_posts = sum(self.deliver(sub) for sub in dict.fromkeys(s for s, _ in stored))
        return stored

    def channel_states(self, events: Iterable[Envelope]) -> dict[Subscription, ChannelState]:
        """The states of every channel a batch of events publishes on, read once for the
        batch (not once per event and channel)."""
        subs = {
            Subscription(p.scope, p.channel)
            for event in events
            for p in publications(event.type, event.account_id, event.payload)
        }
        return self._states(subs) if subs else {}

    def _states(self, subs: Iterable[Subscription]) -> dict[Subscription, ChannelState]:
        """Whether each channel is watched (one strongly consistent read of one item per
        account, or symbol), then the sequence state of the watched ones only: a batch on
        channels nobody watches costs one read per account."""
        watched = self.store.watches(subs)
        now = self.now
        live = [sub for sub, until in watched.items() if until >= now]
        sequenced = self.store.channel_states(live) if live else {}
        return {
            sub: replace(sequenced.get(sub, ChannelState()), watched_until=until)
            for sub, until in watched.items()
        }

    def allocate(
        self,
        sub: Subscription,
        event_key: str,
        message: dict[str, Any],
        state: ChannelState | None = None,
    ) -> int:
        """The seq of this publication: the one it already got, or the next of its channel.
        With ``state`` just read, the first attempt appends at once: the append's condition
        on the claim catches a redelivered event, whose claim is then read."""
        for _ in range(MAX_SEQ_ATTEMPTS):
            if state is None:
                claimed = self.store.claimed_seq(event_key)
                if claimed is not None:
                    return claimed
                state = self.store.channel_state(sub)
            try:
                return self.store.append(
                    sub, event_key, state.last_seq, message, self.now + self.retention_seconds
                )
            except SeqConflict:
                state = None
        raise SeqConflict(f"no seq for {event_key} after {MAX_SEQ_ATTEMPTS} attempts")

    def deliver(self, sub: Subscription) -> int:
        """Post what is stored and not yet delivered, under the channel's lease; returns
        the number of posts. When another holds the lease, it delivers (it looks again
        after releasing)."""
        posts = 0
        while True:
            owner = new_id()
            if not self.store.acquire_lease(sub, owner, self._now_ms(), LEASE_MS):
                return posts
            delivered: int | None = None
            try:
                state = self.store.channel_state(sub)
                if state.last_seq > state.delivered_seq:
                    messages = self.store.messages(
                        sub, state.delivered_seq, state.last_seq, self.now
                    )
                    posts += self._fan_out(sub, messages)
                delivered = state.last_seq
            finally:
                self.store.release_lease(sub, owner, delivered)
            if self.store.channel_state(sub).last_seq <= delivered:
                return posts

    def _fan_out(self, sub: Subscription, messages: Iterable[Retained]) -> int:
        """Each message once to each subscriber: N posts for N connections. Connections
        are served in parallel, each by one worker posting its messages in seq order; a
        gone connection is removed and gets nothing more."""
        batch = list(messages)
        if not batch:
            return 0

        def serve(subscriber: Subscriber) -> int:
            cid = subscriber.connection_id
            ending = self.refusal(subscriber)
            if ending is not None:  # its token would no longer be accepted: nothing more
                self.end(cid, ending)
                return 1
            posted = 0
            try:
                for message in batch:
                    posted += 1
                    self._post(cid, message.body)
            except ConnectionGone:
                self.store.delete_connection(cid)
            return posted

        connections = self.store.subscribers(sub, self.now)
        if len(connections) <= 1:
            return sum(serve(subscriber) for subscriber in connections)
        with ThreadPoolExecutor(min(POST_CONCURRENCY, len(connections))) as pool:
            return sum(pool.map(serve, connections))

    # --- ending connections whose token is no longer good -----------------------------

    def refusal(self, grant: Connection | Subscriber) -> str | None:
        """``TOKEN_EXPIRED`` or ``TOKEN_REVOKED`` when the connection's token would be
        refused now, else None."""
        if grant.expires_at and grant.expires_at <= self.now:
            return "TOKEN_EXPIRED"
        if grant.key_id and self.key_is_live is not None and not self.key_is_live(grant.key_id):
            return "TOKEN_REVOKED"
        return None

    def end(self, cid: str, code: str, *, tell: bool = True) -> None:
        """Tell the client why (it reconnects with a fresh token and resumes), close the
        connection and forget it."""
        if tell:
            with contextlib.suppress(ConnectionGone):
                message = _error(code, ENDINGS[code])
                self._post(cid, json.dumps(message, separators=(",", ":")).encode())
        self.poster.close(cid)
        self.store.delete_connection(cid)

    def close_stale(self) -> dict[str, int]:
        """The sweep: end every connection whose token expired or whose key was revoked,
        including those no event reaches. Returns how many of each it ended."""
        ended = dict.fromkeys(ENDINGS, 0)
        for connection in self.store.connections():
            ending = self.refusal(connection)
            if ending is not None:
                self.end(connection.connection_id, ending, tell=connection.authenticated)
                ended[ending] += 1
        return ended

    # --- helpers ----------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _post(self, cid: str, data: bytes) -> None:
        with self._count_lock:
            self.posts += 1
        self.poster.post(cid, data)

    def _send(self, cid: str, message: dict[str, Any]) -> None:
        try:
            self._post(cid, json.dumps(message, separators=(",", ":")).encode())
        except ConnectionGone:
            self.store.delete_connection(cid)


def _authorization(status: str) -> dict[str, Any]:
    return {"stream": "authorization", "data": {"status": status, "action": "authenticate"}}


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}

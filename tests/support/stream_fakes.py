"""In-memory fakes of the stream's ports: the connections table and the management API."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from redfire_core.adapters.stream_store import (
    ChannelState,
    Connection,
    Retained,
    SeqConflict,
    Subscriber,
)
from redfire_core.adapters.ws_management import ConnectionGone
from redfire_core.domain.channels import Subscription


@dataclass
class _Channel:
    last_seq: int = 0
    delivered_seq: int = 0
    lease_owner: str | None = None
    lease_until: int = 0
    resume_floor: int = 0
    messages: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # seq -> body, ttl


class FakeStreamStore:
    """The same conditions as the DynamoDB adapter, on dicts (thread-safe)."""

    def __init__(self) -> None:
        self.open: dict[str, Connection] = {}  # by connection id
        self.subscriptions: dict[Subscription, set[str]] = defaultdict(set)
        self.channels: dict[Subscription, _Channel] = defaultdict(_Channel)
        self.claims: dict[str, int] = {}
        self.watched: dict[Subscription, int] = {}  # the watch items, flattened
        self.lock = threading.RLock()

    def put_connection(self, connection: Connection, ttl: int) -> None:
        with self.lock:
            self.open[connection.connection_id] = connection

    def get_connection(self, connection_id: str) -> Connection | None:
        return self.open.get(connection_id)

    def connections(self) -> list[Connection]:
        with self.lock:
            return list(self.open.values())

    def delete_connection(self, connection_id: str) -> None:
        with self.lock:
            self.open.pop(connection_id, None)
            for subscribers in self.subscriptions.values():
                subscribers.discard(connection_id)

    def put_subscription(self, connection: Connection, sub: Subscription, ttl: int) -> None:
        with self.lock:
            self.subscriptions[sub].add(connection.connection_id)

    def delete_subscription(self, connection_id: str, sub: Subscription) -> None:
        with self.lock:
            self.subscriptions[sub].discard(connection_id)

    def subscribers(self, sub: Subscription, now: int) -> list[Subscriber]:
        with self.lock:
            found = []
            for cid in sorted(self.subscriptions[sub]):
                known = self.open.get(cid)
                grant = (known.expires_at, known.key_id) if known else (0, None)
                found.append(Subscriber(cid, *grant))
            return found

    def claimed_seq(self, event_key: str) -> int | None:
        return self.claims.get(event_key)

    def channel_state(self, sub: Subscription) -> ChannelState:
        with self.lock:
            return self._state(self.channels[sub])

    def channel_states(self, subs: Iterable[Subscription]) -> dict[Subscription, ChannelState]:
        with self.lock:  # a read: creates nothing
            return {
                sub: self._state(self.channels[sub]) if sub in self.channels else ChannelState()
                for sub in subs
            }

    def watches(self, subs: Iterable[Subscription]) -> dict[Subscription, int]:
        with self.lock:
            return {sub: self.watched.get(sub, 0) for sub in subs}

    def watch(self, sub: Subscription, until: int, now: int) -> ChannelState:
        with self.lock:
            channel = self.channels[sub]
            old = self.watched.get(sub, 0)
            if 0 < old < now:  # lapsed: as the adapter, past every old seq
                channel.last_seq += 1
                channel.delivered_seq = channel.resume_floor = channel.last_seq
                old = 0
            self.watched[sub] = max(old, until)
            return replace(self._state(channel), watched_until=self.watched[sub])

    @staticmethod
    def _state(channel: _Channel) -> ChannelState:
        return ChannelState(channel.last_seq, channel.delivered_seq, channel.resume_floor)

    def append(
        self,
        sub: Subscription,
        event_key: str,
        expected_last: int,
        message: dict[str, Any],
        ttl: int,
    ) -> int:
        with self.lock:
            channel = self.channels[sub]
            if channel.last_seq != expected_last or event_key in self.claims:
                raise SeqConflict(event_key)
            seq = expected_last + 1
            channel.last_seq = seq
            self.claims[event_key] = seq
            channel.messages[seq] = (json.dumps({**message, "seq": seq}).encode(), ttl)
            return seq

    def messages(self, sub: Subscription, after: int, upto: int, now: int) -> list[Retained]:
        with self.lock:
            channel = self.channels[sub]
            return [
                Retained(seq, body)
                for seq, (body, ttl) in sorted(channel.messages.items())
                if after < seq <= upto and ttl > now
            ]

    def acquire_lease(self, sub: Subscription, owner: str, now_ms: int, lease_ms: int) -> bool:
        with self.lock:
            channel = self.channels[sub]
            if channel.lease_owner is not None and channel.lease_until >= now_ms:
                return False
            channel.lease_owner, channel.lease_until = owner, now_ms + lease_ms
            return True

    def release_lease(self, sub: Subscription, owner: str, delivered_seq: int | None) -> None:
        with self.lock:
            channel = self.channels[sub]
            if channel.lease_owner != owner:
                return
            if delivered_seq is not None:
                channel.delivered_seq = delivered_seq
            channel.lease_owner, channel.lease_until = None, 0


class RecordingPoster:
    """The management API: records every post per connection; ``gone`` ids raise."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.gone: set[str] = set()
        self.closed: list[str] = []
        self.posts = 0
        self.lock = threading.Lock()

    def post(self, connection_id: str, data: bytes) -> None:
        with self.lock:
            self.posts += 1
            if connection_id in self.gone:
                raise ConnectionGone(connection_id)
            self.sent[connection_id].append(json.loads(data))

    def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)

    def of_channel(self, connection_id: str, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.sent[connection_id] if m.get("channel") == channel and "data" in m]

    def controls(self, connection_id: str) -> list[dict[str, Any]]:
        return [
            m for m in self.sent[connection_id] if "seq" not in m or m.get("type") == "subscribed"
        ]

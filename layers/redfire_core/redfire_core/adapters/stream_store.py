"""The ``connections`` table: WebSocket connections, subscriptions, channel sequences and
the messages retained for resume.

Items (pk / sk):

- ``CONN#<id>`` / ``META``: the connection's account, subject, token expiry
  (``expires_at``) and API key (``key_id``, for tokens exchanged from a key); listed in
  the sparse index ``gsi1`` (``gsi1pk = CONN``) so the sweep finds every connection.
- ``CONN#<id>`` / ``SUB#<scope>#<channel>``: a subscription, seen from the connection.
- ``SUBS#<scope>#<channel>`` / ``<connection id>``: the same, seen from the channel, with
  the connection's ``expires_at`` and ``key_id`` (the pusher checks them before it posts).
- ``WATCH#<group>`` / ``STATE``: until when each channel of a watch group (an account's
  channels, or one symbol's market data channels: ``domain.channels.watch_group``) is
  watched, one attribute ``until#<channel>`` (epoch seconds) per channel ever subscribed:
  its events are sequenced and kept until then (a subscription's end plus the retention
  window). The pusher reads this one small item per group and batch, and nothing more
  for a channel nobody watches.
- ``CHAN#<scope>#<channel>`` / ``STATE``: ``last_seq`` (the counter), ``delivered_seq``,
  the delivery lease (``lease_owner``, ``lease_until``) and ``resume_floor`` (the lowest
  resume point still honoured: raised past ``last_seq`` when a lapsed watch is renewed,
  since events of an unwatched channel are not kept).
- ``MSG#<scope>#<channel>`` / ``<seq, 12 digits>``: a message as sent, kept ``retention``.
- ``EVT#<event id>#<n>`` / ``CLAIM``: the seq an event's n-th publication got, so a
  redelivered event reuses it.

Everything but the watch and channel state items carries a ``ttl``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from redfire_core.config import Settings, get_settings
from redfire_core.domain.channels import Subscription, watch_group

TABLE_LOGICAL = "connections"
SEQ_DIGITS = 12
MAX_WATCH_ATTEMPTS = 5  # concurrent subscribes renewing one lapsed channel
CONNECTIONS_INDEX = "gsi1"
CONNECTIONS_KEY = "CONN"  # gsi1pk of every connection's META item


class SeqConflict(Exception):
    """The counter moved, or the event was claimed, since it was read: read and try again."""


class LeaseBusy(Exception):
    """Another delivery holds the channel's lease."""


@dataclass(frozen=True)
class Connection:
    connection_id: str
    account_id: str
    subject: str
    connected_at: str
    expires_at: int = 0  # epoch seconds the connecting token expires (0: not recorded)
    key_id: str | None = None  # the API key the token was exchanged from, if it was
    # "alpaca": Alpaca's trade_updates dialect (authenticates after connecting; until then
    # account_id is "" and expires_at is the authentication deadline)
    dialect: str = ""

    @property
    def authenticated(self) -> bool:
        return bool(self.account_id)


@dataclass(frozen=True)
class Subscriber:
    """A connection subscribed to a channel, with what decides whether it may still receive."""

    connection_id: str
    expires_at: int = 0
    key_id: str | None = None


@dataclass(frozen=True)
class ChannelState:
    last_seq: int = 0
    delivered_seq: int = 0
    resume_floor: int = 0  # resume points below it missed an event that was not kept
    # epoch seconds; after it, the channel's events are not kept (from the WATCH# item)
    watched_until: int = 0

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ChannelState:
        """The sequence state of a ``CHAN#`` item (its watch is on the ``WATCH#`` item)."""

        def number(name: str) -> int:
            return int(item[name]["N"]) if name in item else 0

        return cls(number("last_seq"), number("delivered_seq"), number("resume_floor"))


@dataclass(frozen=True)
class Retained:
    seq: int
    body: bytes  # the message exactly as posted


def _scope_key(sub: Subscription) -> str:
    return f"{sub.scope}#{sub.channel}"


def _watch_key(sub: Subscription) -> dict[str, dict[str, str]]:
    return {"pk": _s(f"WATCH#{watch_group(sub)}"), "sk": _s("STATE")}


def _by_group(subs: Iterable[Subscription]) -> dict[str, list[Subscription]]:
    groups: dict[str, list[Subscription]] = {}
    for sub in subs:
        groups.setdefault(watch_group(sub), []).append(sub)
    return groups


def _until(sub: Subscription) -> str:
    """The watch item's attribute holding until when ``sub`` is watched."""
    return f"until#{sub.channel}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _grant(expires_at: int, key_id: str | None) -> dict[str, dict[str, str]]:
    """The attributes that decide whether a connection may still receive."""
    grant = {"expires_at": _n(expires_at)}
    if key_id:
        grant["key_id"] = _s(key_id)
    return grant


def _connection(connection_id: str, item: dict[str, Any]) -> Connection:
    return Connection(
        connection_id,
        item["account_id"]["S"],
        item["subject"]["S"],
        item["connected_at"]["S"],
        int(item["expires_at"]["N"]) if "expires_at" in item else 0,
        item["key_id"]["S"] if "key_id" in item else None,
        item["dialect"]["S"] if "dialect" in item else "",
    )


class StreamStore:
    """DynamoDB adapter (boto3 client, built lazily) of the stream's state."""

    def __init__(self, settings: Settings | None = None, client: Any = None) -> None:
        self.settings = settings or get_settings()
        self.table = self.settings.table_name(TABLE_LOGICAL)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # lazy: keeps the import off the cold start

            self._client = boto3.client("dynamodb")
        return self._client

    # --- connections and subscriptions ----------------------------------------------

    def put_connection(self, connection: Connection, ttl: int) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": _s(f"CONN#{connection.connection_id}"),
                "sk": _s("META"),
                "account_id": _s(connection.account_id),
                "subject": _s(connection.subject),
                "connected_at": _s(connection.connected_at),
                **_grant(connection.expires_at, connection.key_id),
                **({"dialect": _s(connection.dialect)} if connection.dialect else {}),
                "gsi1pk": _s(CONNECTIONS_KEY),
                "gsi1sk": _s(connection.connection_id),
                "ttl": _n(ttl),
            },
        )

    def get_connection(self, connection_id: str) -> Connection | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"CONN#{connection_id}"), "sk": _s("META")},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return _connection(connection_id, item)

    def connections(self) -> list[Connection]:
        """Every open connection (the sweep's list; an eventually consistent index)."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": CONNECTIONS_INDEX,
            "KeyConditionExpression": "gsi1pk = :conn",
            "ExpressionAttributeValues": {":conn": _s(CONNECTIONS_KEY)},
        }
        while True:
            page = self.client.query(**request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [_connection(item["gsi1sk"]["S"], item) for item in items]

    def subscriptions_of(self, connection_id: str) -> list[Subscription]:
        items = self._query(f"CONN#{connection_id}", begins_with="SUB#")
        found = []
        for item in items:
            scope, _, channel = item["sk"]["S"].removeprefix("SUB#").partition("#")
            found.append(Subscription(scope, channel))
        return found

    def put_subscription(self, connection: Connection, sub: Subscription, ttl: int) -> None:
        """Two puts, no transaction: the connection's copy first, so a failure in between
        leaves nothing a disconnect could miss (the copy is only for cleaning up)."""
        key = _scope_key(sub)
        connection_id = connection.connection_id
        self.client.put_item(
            TableName=self.table,
            Item={"pk": _s(f"CONN#{connection_id}"), "sk": _s(f"SUB#{key}"), "ttl": _n(ttl)},
        )
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": _s(f"SUBS#{key}"),
                "sk": _s(connection_id),
                **_grant(connection.expires_at, connection.key_id),
                "ttl": _n(ttl),
            },
        )

    def delete_subscription(self, connection_id: str, sub: Subscription) -> None:
        key = _scope_key(sub)
        self.client.delete_item(
            TableName=self.table, Key={"pk": _s(f"CONN#{connection_id}"), "sk": _s(f"SUB#{key}")}
        )
        self.client.delete_item(
            TableName=self.table, Key={"pk": _s(f"SUBS#{key}"), "sk": _s(connection_id)}
        )

    def delete_connection(self, connection_id: str) -> None:
        """Forget the connection and every subscription it had (idempotent)."""
        for sub in self.subscriptions_of(connection_id):
            self.delete_subscription(connection_id, sub)
        self.client.delete_item(
            TableName=self.table, Key={"pk": _s(f"CONN#{connection_id}"), "sk": _s("META")}
        )

    def subscribers(self, sub: Subscription, now: int) -> list[Subscriber]:
        """Connections subscribed to the channel (those whose TTL passed excluded)."""
        return [
            Subscriber(
                item["sk"]["S"],
                int(item["expires_at"]["N"]) if "expires_at" in item else 0,
                item["key_id"]["S"] if "key_id" in item else None,
            )
            for item in self._query(f"SUBS#{_scope_key(sub)}")
            if int(item.get("ttl", {}).get("N", now + 1)) > now
        ]

    # --- sequences and retained messages --------------------------------------------

    def claimed_seq(self, event_key: str) -> int | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"EVT#{event_key}"), "sk": _s("CLAIM")},
            ConsistentRead=True,
        ).get("Item")
        return int(item["seq"]["N"]) if item else None

    def channel_state(self, sub: Subscription) -> ChannelState:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"CHAN#{_scope_key(sub)}"), "sk": _s("STATE")},
            ConsistentRead=True,
        ).get("Item")
        return ChannelState.from_item(item or {})

    def channel_states(self, subs: Iterable[Subscription]) -> dict[Subscription, ChannelState]:
        """The sequence state of each channel, strongly consistent, in BatchGetItem calls
        of at most 100 keys (``watched_until`` is left 0: see ``watches``). A channel never
        sequenced has no item: its state is the default."""
        wanted = {f"CHAN#{_scope_key(sub)}": sub for sub in subs}
        states = {sub: ChannelState() for sub in wanted.values()}
        keys = [{"pk": _s(pk), "sk": _s("STATE")} for pk in wanted]
        for item in self._batch_get(keys):
            states[wanted[item["pk"]["S"]]] = ChannelState.from_item(item)
        return states

    def watches(self, subs: Iterable[Subscription]) -> dict[Subscription, int]:
        """Until when each channel is watched (0: never), strongly consistent (a subscribe
        whose watch landed before the read is seen): one item per watch group, so a batch
        of one account's events costs one read whatever channels they touch."""
        subs = list(dict.fromkeys(subs))
        groups = {f"WATCH#{watch_group(sub)}" for sub in subs}
        found: dict[str, dict[str, Any]] = {}
        for item in self._batch_get([{"pk": _s(pk), "sk": _s("STATE")} for pk in groups]):
            found[item["pk"]["S"]] = item
        unknown = [sub for sub in subs if f"WATCH#{watch_group(sub)}" not in found]
        if unknown:
            found.update(self._adopt_channel_watches(unknown))
        watched = {}
        for sub in subs:
            item = found.get(f"WATCH#{watch_group(sub)}", {})
            watched[sub] = int(item[_until(sub)]["N"]) if _until(sub) in item else 0
        return watched

    def _adopt_channel_watches(self, subs: list[Subscription]) -> dict[str, dict[str, Any]]:
        """Write the watch item of each group that has none, from the watches its channels'
        ``CHAN#`` items hold (where releases before watch items kept them), so that
        channels subscribed before an upgrade stay watched; and so a group nobody ever
        watched gets an item, read from then on instead of its channels. Once per group:
        ``if_not_exists`` keeps any watch a subscribe wrote meanwhile."""
        keys = [{"pk": _s(f"CHAN#{_scope_key(sub)}"), "sk": _s("STATE")} for sub in subs]
        held = {
            item["pk"]["S"]: int(item["watched_until"]["N"])
            for item in self._batch_get(keys)
            if "watched_until" in item
        }
        adopted: dict[str, dict[str, Any]] = {}
        for group, members in _by_group(subs).items():
            names, values, sets = {}, {":adopted": _n(1)}, ["adopted = :adopted"]
            for n, sub in enumerate(members):
                until = held.get(f"CHAN#{_scope_key(sub)}")
                if until:
                    names[f"#u{n}"] = _until(sub)
                    values[f":u{n}"] = _n(until)
                    sets.append(f"#u{n} = if_not_exists(#u{n}, :u{n})")
            request: dict[str, Any] = {
                "TableName": self.table,
                "Key": _watch_key(members[0]),
                "UpdateExpression": "SET " + ", ".join(sets),
                "ExpressionAttributeValues": values,
                "ReturnValues": "ALL_NEW",
            }
            if names:
                request["ExpressionAttributeNames"] = names
            adopted[f"WATCH#{group}"] = self.client.update_item(**request)["Attributes"]
        return adopted

    def watch(self, sub: Subscription, until: int, now: int) -> ChannelState:
        """Keep the channel's events at least until ``until`` (never moves it back) and
        return the channel's state, read after the watch was written.

        A channel whose watch lapsed (nobody subscribed for a whole retention window) may
        have had events that were not kept. The first watch after a lapse renews it in one
        transaction that moves ``last_seq``, ``delivered_seq`` and ``resume_floor`` one
        past the old last seq, so every resume point from before the lapse is reported
        expired while a subscriber acknowledged after it resumes normally. Nobody receives
        the skipped number: no subscription outlives the window."""
        names = {"#until": _until(sub)}
        errors = self.client.exceptions
        watched = 0
        for _ in range(MAX_WATCH_ATTEMPTS):
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=_watch_key(sub),
                    UpdateExpression="SET #until = :until",
                    ConditionExpression="attribute_not_exists(#until) OR "
                    "(#until >= :now AND #until < :until)",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues={":until": _n(until), ":now": _n(now)},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                watched = until
                break
            except errors.ConditionalCheckFailedException as error:
                watched = int((error.response.get("Item") or {})[_until(sub)]["N"])
            if watched >= now:
                break  # already watched longer: that is the watch
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self.table,
                                "Key": _watch_key(sub),
                                "UpdateExpression": "SET #until = :until",
                                "ConditionExpression": "#until = :lapsed",
                                "ExpressionAttributeNames": names,
                                "ExpressionAttributeValues": {
                                    ":until": _n(until),
                                    ":lapsed": _n(watched),
                                },
                            }
                        },
                        {
                            "Update": {
                                "TableName": self.table,
                                "Key": {"pk": _s(f"CHAN#{_scope_key(sub)}"), "sk": _s("STATE")},
                                "UpdateExpression": "SET "
                                "last_seq = if_not_exists(last_seq, :zero) + :one, "
                                "delivered_seq = if_not_exists(last_seq, :zero) + :one, "
                                "resume_floor = if_not_exists(last_seq, :zero) + :one",
                                "ExpressionAttributeValues": {":zero": _n(0), ":one": _n(1)},
                            }
                        },
                    ]
                )
                watched = until
                break
            except errors.TransactionCanceledException:
                continue  # another subscriber renewed it first, or an append raced: again
        else:
            watched = self.watches([sub])[sub]
        return replace(self.channel_state(sub), watched_until=watched)

    def append(
        self,
        sub: Subscription,
        event_key: str,
        expected_last: int,
        message: dict[str, Any],
        ttl: int,
    ) -> int:
        """Give the message seq ``expected_last + 1`` and store it, with the event's claim,
        in one transaction conditional on the counter still being ``expected_last`` and the
        event unclaimed. Raises ``SeqConflict`` when either changed."""
        seq = expected_last + 1
        key = _scope_key(sub)
        body = json.dumps({**message, "seq": seq}, separators=(",", ":"))
        counter_condition = (
            "attribute_not_exists(last_seq)" if expected_last == 0 else "last_seq = :expected"
        )
        values: dict[str, Any] = {":next": _n(seq)}
        if expected_last:
            values[":expected"] = _n(expected_last)
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": _s(f"CHAN#{key}"), "sk": _s("STATE")},
                            "UpdateExpression": "SET last_seq = :next",
                            "ConditionExpression": counter_condition,
                            "ExpressionAttributeValues": values,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                "pk": _s(f"EVT#{event_key}"),
                                "sk": _s("CLAIM"),
                                "seq": _n(seq),
                                "ttl": _n(ttl),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                "pk": _s(f"MSG#{key}"),
                                "sk": _s(str(seq).zfill(SEQ_DIGITS)),
                                "seq": _n(seq),
                                "body": _s(body),
                                "ttl": _n(ttl),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except self.client.exceptions.TransactionCanceledException as error:
            raise SeqConflict(str(error)) from None
        return seq

    def messages(self, sub: Subscription, after: int, upto: int, now: int) -> list[Retained]:
        """Retained messages with ``after < seq <= upto``, in seq order; expired ones left out
        (DynamoDB deletes expired items lazily, so the TTL is checked here too)."""
        if upto <= after:
            return []
        items = self._query(
            f"MSG#{_scope_key(sub)}",
            between=(str(after + 1).zfill(SEQ_DIGITS), str(upto).zfill(SEQ_DIGITS)),
        )
        return [
            Retained(int(item["seq"]["N"]), item["body"]["S"].encode())
            for item in items
            if int(item["ttl"]["N"]) > now
        ]

    # --- the delivery lease ---------------------------------------------------------

    def acquire_lease(self, sub: Subscription, owner: str, now_ms: int, lease_ms: int) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": _s(f"CHAN#{_scope_key(sub)}"), "sk": _s("STATE")},
                UpdateExpression="SET lease_owner = :owner, lease_until = :until",
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={
                    ":owner": _s(owner),
                    ":until": _n(now_ms + lease_ms),
                    ":now": _n(now_ms),
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_lease(self, sub: Subscription, owner: str, delivered_seq: int | None) -> None:
        """Give the lease back, recording ``delivered_seq`` when given (only the holder can)."""
        update = "REMOVE lease_owner, lease_until"
        values: dict[str, Any] = {":owner": _s(owner)}
        if delivered_seq is not None:
            update = "SET delivered_seq = :delivered " + update
            values[":delivered"] = _n(delivered_seq)
        # If the lease expired and another took it, the condition fails: that holder
        # delivers from its own read, so there is nothing to record.
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.update_item(
                TableName=self.table,
                Key={"pk": _s(f"CHAN#{_scope_key(sub)}"), "sk": _s("STATE")},
                UpdateExpression=update,
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues=values,
            )

    # --- helpers ----------------------------------------------------------------------

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of ``keys`` that exist, strongly consistent, 100 keys per call."""
        items: list[dict[str, Any]] = []
        while keys:
            chunk, keys = keys[:100], keys[100:]
            request: dict[str, Any] = {self.table: {"Keys": chunk, "ConsistentRead": True}}
            while request:
                reply = self.client.batch_get_item(RequestItems=request)
                items.extend(reply.get("Responses", {}).get(self.table, []))
                request = reply.get("UnprocessedKeys") or {}
        return items

    def _query(
        self,
        pk: str,
        begins_with: str | None = None,
        between: tuple[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        condition = "pk = :pk"
        values: dict[str, Any] = {":pk": _s(pk)}
        if begins_with is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = _s(begins_with)
        if between is not None:
            condition += " AND sk BETWEEN :low AND :high"
            values[":low"], values[":high"] = _s(between[0]), _s(between[1])
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

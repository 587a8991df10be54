"""Idempotency-Key on POST/PATCH/DELETE: replayed, refused when reused, one effect only."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import boto3
import pytest

from redfire_api import idempotency
from redfire_core.adapters.idempotency_keys import IdempotencyKeys, record_id
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.roles import Role
from tests.integration.conftest import call_api, token_for
from tests.support.pipeline import Pipeline
from tests.support.serialised_moto import serialised_aws_calls

MARKET_BUY = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10"}


def post_order(
    key: str, body: dict[str, Any] = MARKET_BUY, account: str = "demo"
) -> tuple[int, dict[str, str], Any]:
    return call_api(
        "POST",
        "/v1/orders",
        body=body,
        token=token_for(account),
        headers={"Idempotency-Key": key},
    )


def orders_of(store: TradingStore, account: str = "demo") -> list[str]:
    return [o.id for o in store.list_orders(account, 100, None).items]


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)


def test_the_same_request_again_replays_the_first_answer(seeded: TradingStore) -> None:
    # Given an order placed with a key (and no client_order_id)
    first = post_order("k-1")

    # When the very same request comes again
    again = post_order("k-1")

    # Then the stored answer is replayed (status, body, Location) and one order exists
    assert first[0] == 201 and "idempotent-replayed" not in first[1]
    assert (again[0], again[2]) == (201, first[2])
    assert again[1]["location"] == first[1]["location"]
    assert again[1]["idempotent-replayed"] == "true"
    assert again[1]["content-type"] == "application/json"
    assert again[1]["x-correlation-id"]
    assert orders_of(seeded) == [first[2]["id"]]


def test_the_body_is_compared_as_json_not_as_text(seeded: TradingStore) -> None:
    first = post_order("k-1")
    reordered = dict(reversed(list(MARKET_BUY.items())))
    again = call_api(
        "POST",
        "/v1/orders",
        body=json.dumps(reordered, indent=2),
        token=token_for(),
        headers={"Idempotency-Key": "k-1"},
    )
    assert again[2] == first[2] and len(orders_of(seeded)) == 1


def test_the_same_key_for_another_order_is_refused(seeded: TradingStore) -> None:
    post_order("k-1")
    status, _, body = post_order("k-1", MARKET_BUY | {"quantity": "11"})
    assert status == 409 and body["code"] == "ORDER_ID_CONFLICT"
    assert len(orders_of(seeded)) == 1


def test_the_same_key_for_another_request_elsewhere_is_refused(seeded: TradingStore) -> None:
    operator = token_for(role=Role.OPERATOR)
    key = {"Idempotency-Key": "patch-1"}
    assert (
        call_api(
            "PATCH", "/v1/instruments/GOOG", body={"lot_size": "2"}, token=operator, headers=key
        )[0]
        == 200
    )
    status, _, body = call_api(
        "PATCH", "/v1/instruments/GOOG", body={"lot_size": "3"}, token=operator, headers=key
    )
    assert status == 409 and body["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert seeded.get_instrument("GOOG").lot_size == 2  # type: ignore[union-attr]


def test_a_key_belongs_to_one_account(seeded: TradingStore, other_account: str) -> None:
    mine = post_order("shared")
    theirs = post_order("shared", account=other_account)
    assert (mine[0], theirs[0]) == (201, 201)
    assert "idempotent-replayed" not in theirs[1]
    assert orders_of(seeded, other_account) == [theirs[2]["id"]]


def test_a_key_belongs_to_one_method_and_path(seeded: TradingStore, pipeline: Pipeline) -> None:
    order = post_order("same")[2]
    status, _, body = call_api(
        "DELETE", "/v1/orders", token=token_for(), headers={"Idempotency-Key": "same"}
    )
    assert status == 202 and [o["id"] for o in body["items"]] == [order["id"]]


def test_a_refusal_is_replayed_too(seeded: TradingStore) -> None:
    # Given a cancel of an order that does not exist is refused with a 404
    key = {"Idempotency-Key": "cancel-1"}
    first = call_api("DELETE", "/v1/orders/nope", token=token_for(), headers=key)
    again = call_api("DELETE", "/v1/orders/nope", token=token_for(), headers=key)
    assert first[0] == again[0] == 404
    assert again[2] == first[2] and again[2]["code"] == "ORDER_NOT_FOUND"
    assert again[1]["content-type"] == "application/problem+json"
    assert again[1]["idempotent-replayed"] == "true"


def test_a_conflict_is_not_kept_and_a_retry_runs_again(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a filled order, a cancel of it is refused as a conflict
    order = call_api("POST", "/v1/orders", body=MARKET_BUY, token=token_for())[2]
    pipeline.run_until_quiet()
    key = {"Idempotency-Key": "cancel-1"}
    first = call_api("DELETE", f"/v1/orders/{order['id']}", token=token_for(), headers=key)

    # When the cancel is retried with the same key, then it runs again (a 409 may clear)
    again = call_api("DELETE", f"/v1/orders/{order['id']}", token=token_for(), headers=key)
    assert first[0] == again[0] == 409 and again[2]["code"] == "ORDER_NOT_CANCELABLE"
    assert "idempotent-replayed" not in again[1]


def test_closing_a_position_with_a_key_is_replayed(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    call_api("POST", "/v1/orders", body=MARKET_BUY, token=token_for())
    pipeline.run_until_quiet()
    key = {"Idempotency-Key": "close-1"}
    first = call_api("DELETE", "/v1/positions/GOOG", token=token_for(), headers=key)
    pipeline.run_until_quiet()
    again = call_api("DELETE", "/v1/positions/GOOG", token=token_for(), headers=key)
    assert (first[0], again[0]) == (201, 201) and again[2] == first[2]
    assert seeded.get_position("demo", "GOOG").quantity == 0


@pytest.mark.parametrize("key", ["x" * 256, " ", "naïve"])
def test_a_bad_key_is_refused(seeded: TradingStore, key: str) -> None:
    status, _, body = post_order(key)
    assert status == 422 and body["code"] == "REQUEST_INVALID"
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert orders_of(seeded) == []


def test_a_key_of_255_characters_is_taken(seeded: TradingStore) -> None:
    assert post_order("k" * 255)[0] == 201


def test_a_request_without_a_valid_token_gets_its_401_and_keeps_no_record(
    seeded: TradingStore,
) -> None:
    status, _, body = call_api(
        "POST", "/v1/orders", body=MARKET_BUY, token="forged", headers={"Idempotency-Key": "k"}
    )
    assert status == 401 and body["code"] == "UNAUTHORIZED"
    record = record_id("demo", "user-demo", "POST", "/v1/orders", "k")
    assert IdempotencyKeys().get(record, datetime.now(UTC)) is None


def test_a_duplicate_of_a_request_still_running_is_told_so(
    seeded: TradingStore, short_wait: None
) -> None:
    # Given the same request claimed and still running elsewhere
    keys, now = IdempotencyKeys(), datetime.now(UTC)
    claimed = idempotency.request_hash(
        "POST", "/v1/orders", b"", b'{"symbol":"GOOG","side":"buy","type":"market","quantity":"10"}'
    )
    assert keys.claim(record_id("demo", "user-demo", "POST", "/v1/orders", "busy"), claimed, now)

    # When it arrives again, it waits, then is told the first is in progress
    status, headers, body = post_order("busy")
    assert status == 409 and body["code"] == "ORDER_IN_PROGRESS"
    assert headers["retry-after"] == "1"
    assert orders_of(seeded) == []


def test_a_duplicate_elsewhere_is_told_the_request_is_in_progress(
    seeded: TradingStore, short_wait: None
) -> None:
    body = {"tradable": False}
    digest = idempotency.request_hash("PATCH", "/v1/instruments/GOOG", b"", b'{"tradable":false}')
    record = record_id("demo", "user-demo", "PATCH", "/v1/instruments/GOOG", "busy")
    assert IdempotencyKeys().claim(record, digest, datetime.now(UTC))
    status, _, problem = call_api(
        "PATCH",
        "/v1/instruments/GOOG",
        body=body,
        token=token_for(role=Role.OPERATOR),
        headers={"Idempotency-Key": "busy"},
    )
    assert status == 409 and problem["code"] == "REQUEST_IN_PROGRESS"


def test_an_abandoned_or_expired_claim_can_be_taken_again(seeded: TradingStore) -> None:
    keys, now = IdempotencyKeys(), datetime.now(UTC)
    record = record_id("demo", "user-demo", "POST", "/v1/orders", "stale")
    assert keys.claim(record, "h", now - timedelta(seconds=31))
    assert not keys.claim(record, "other", now)  # another request may not take it over
    assert keys.claim(record, "h", now)  # the same request may, once the first is gone
    expired = record_id("demo", "user-demo", "POST", "/v1/orders", "old")
    assert keys.claim(expired, "h", now - timedelta(hours=25))
    assert keys.claim(expired, "other", now)


def test_a_server_error_gives_the_key_up_for_a_retry(
    seeded: TradingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first attempt that fails on our side
    from redfire_api.routes import orders

    real = orders.place_order

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store is down")

    monkeypatch.setattr(orders, "place_order", broken)
    assert post_order("retry-me")[0] == 500

    # When the client retries with the same key, then it runs
    monkeypatch.setattr(orders, "place_order", real)
    status, headers, body = post_order("retry-me")
    assert status == 201 and "idempotent-replayed" not in headers
    assert orders_of(seeded) == [body["id"]]


def test_concurrent_duplicates_create_exactly_one_order(seeded: TradingStore) -> None:
    # Given the same keyed request (no client_order_id) sent 8 times at once
    def send(_: int) -> tuple[int, str, bool]:
        asyncio.set_event_loop(asyncio.new_event_loop())  # Mangum wants one per thread
        status, headers, body = post_order("burst")
        return status, body.get("id") or body.get("code"), "idempotent-replayed" in headers

    # moto's DynamoDB is not thread-safe (PITFALLS.md): calls into it are serialised, so
    # this tests our claim condition, not moto's
    with serialised_aws_calls(), ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, range(8)))

    # Then one request ran, the others got its answer, and exactly one order exists
    assert {status for status, _, _ in results} == {201}
    assert len({order_id for _, order_id, _ in results}) == 1
    assert [replayed for _, _, replayed in results].count(False) == 1
    assert orders_of(seeded) == [results[0][1]]


# --- a key belongs to one caller; no secret at rest; what is kept ------------------------


def api_key_token(scopes: list[str], admin: str | None = None) -> str:
    """A token exchanged from a new API key of the demo account (its subject: the key id)."""
    admin = admin or token_for(role=Role.ADMIN)
    key = call_api("POST", "/v1/api-keys", body={"name": "bot", "scopes": scopes}, token=admin)[2]
    answer = call_api(
        "POST", "/v1/auth/token", body={"key_id": key["key_id"], "secret": key["secret"]}
    )
    return str(answer[2]["access_token"])


def idempotency_items() -> list[dict[str, Any]]:
    table = boto3.client("dynamodb")
    name = get_settings().table_name("idempotency")
    return list(table.scan(TableName=name)["Items"])


NEW_KEY = {"name": "ci", "scopes": ["read", "trade", "admin"]}


def test_a_replay_runs_the_route_authorization_first(seeded: TradingStore) -> None:
    # Given an admin created a key with an Idempotency-Key
    headers = {"Idempotency-Key": "new-key-1"}
    admin, viewer = token_for(role=Role.ADMIN), token_for(role=Role.VIEWER)
    created = call_api("POST", "/v1/api-keys", body=NEW_KEY, token=admin, headers=headers)
    assert created[0] == 201

    # When a viewer of the same subject (an identity whose role was lowered) sends that key
    status, answer_headers, body = call_api(
        "POST", "/v1/api-keys", body=NEW_KEY, token=viewer, headers=headers
    )

    # Then the route's authorization answers first: 403, never the admin's 201
    assert status == 403 and body["code"] == "FORBIDDEN"
    assert "idempotent-replayed" not in answer_headers and created[2]["key_id"] not in str(body)


def test_a_key_belongs_to_one_principal_of_the_account(seeded: TradingStore) -> None:
    # Given two API keys of one account, each exchanged for a token
    first, second = api_key_token(["read", "trade"]), api_key_token(["read", "trade"])
    headers = {"Idempotency-Key": "shared"}
    mine = call_api("POST", "/v1/orders", body=MARKET_BUY, token=first, headers=headers)

    # When the second key's token sends the same request with the same key
    theirs = call_api("POST", "/v1/orders", body=MARKET_BUY, token=second, headers=headers)

    # Then it runs as its own request instead of getting the first key's answer
    assert (mine[0], theirs[0]) == (201, 201)
    assert "idempotent-replayed" not in theirs[1] and theirs[2]["id"] != mine[2]["id"]
    assert sorted(orders_of(seeded)) == sorted([mine[2]["id"], theirs[2]["id"]])


def test_no_key_secret_is_kept_and_a_replay_returns_it_as_null(seeded: TradingStore) -> None:
    # Given a key created with an Idempotency-Key (the answer shows the secret once)
    admin, headers = token_for(role=Role.ADMIN), {"Idempotency-Key": "new-key-1"}
    created = call_api("POST", "/v1/api-keys", body=NEW_KEY, token=admin, headers=headers)
    assert created[0] == 201 and created[2]["secret"]

    # Then the idempotency table does not hold the secret
    assert idempotency_items() and created[2]["secret"] not in json.dumps(idempotency_items())

    # And a replay returns the same key with "secret": null
    status, replay_headers, replayed = call_api(
        "POST", "/v1/api-keys", body=NEW_KEY, token=admin, headers=headers
    )
    assert status == 201 and replay_headers["idempotent-replayed"] == "true"
    assert replayed == created[2] | {"secret": None}


def test_the_token_exchange_is_never_kept(seeded: TradingStore) -> None:
    key = call_api("POST", "/v1/api-keys", body=NEW_KEY, token=token_for(role=Role.ADMIN))[2]
    before = idempotency_items()
    body = {"key_id": key["key_id"], "secret": key["secret"]}
    headers = {"Idempotency-Key": "token-1"}
    answers = [
        call_api("POST", "/v1/auth/token", body=body, token=token_for(), headers=headers)
        for _ in range(2)
    ]
    assert [a[0] for a in answers] == [200, 200]
    assert "idempotent-replayed" not in answers[1][1]
    assert answers[0][2]["access_token"] not in json.dumps(idempotency_items())
    assert len(idempotency_items()) == len(before) + 2  # the two rate windows, no record


def _refusing_route(monkeypatch: pytest.MonkeyPatch, status: int) -> list[int]:
    """POST /v1/orders answers ``status``; returns the list of its runs."""
    from redfire_api.problems import Problem
    from redfire_api.routes import orders

    runs: list[int] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        runs.append(status)
        raise Problem(status, "TEST_REFUSAL", "refused for the test")

    monkeypatch.setattr(orders, "place_order", refuse)
    return runs


@pytest.mark.parametrize("status", [401, 403, 408, 409, 425, 429])
def test_an_answer_that_says_try_again_is_not_kept(
    seeded: TradingStore, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    # Given the route refuses with a status that may not be its last word
    runs = _refusing_route(monkeypatch, status)

    # When the request is retried with the same key
    first, again = post_order("retry-later"), post_order("retry-later")

    # Then the retry runs again instead of being answered from the record
    assert first[0] == again[0] == status and runs == [status, status]
    assert "idempotent-replayed" not in again[1]


@pytest.mark.parametrize("status", [400, 404, 410, 422])
def test_a_final_client_error_is_kept(
    seeded: TradingStore, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    runs = _refusing_route(monkeypatch, status)
    first, again = post_order("final"), post_order("final")
    assert first[0] == again[0] == status and runs == [status]
    assert again[1]["idempotent-replayed"] == "true" and again[2] == first[2]


def test_a_request_with_a_key_counts_once_against_the_rate_limit(seeded: TradingStore) -> None:
    from redfire_api import security

    # Given a limit of 3 requests in the second
    token = token_for()
    with (
        patch.object(security._rate_limiter(), "limit", 3),
        patch("redfire_api.security.time.time", return_value=1_800_000_000.2),
    ):
        # When 4 keyed requests come in that second
        answers = [
            call_api("DELETE", "/v1/orders/nope", token=token, headers={"Idempotency-Key": k})
            for k in ("a", "b", "c", "d")
        ]

    # Then 3 run (each counted once) and the 4th is throttled
    assert [a[0] for a in answers] == [404, 404, 404, 429]
    assert answers[3][2]["code"] == "RATE_LIMITED" and answers[3][1]["retry-after"] == "1"


def test_every_keyed_route_declares_the_scopes_a_replay_checks() -> None:
    from redfire_api.app import create_app
    from redfire_api.security import route_requirements

    # A replay is answered only after the route's declared scope requirements pass, so a
    # keyed route must declare them (GraphQL checks per field; a keyed request holds one
    # mutation, and its record is the caller's own).
    unguarded = {
        (method, entry.path)
        for entry in route_requirements(create_app().routes)
        for method in entry.methods & idempotency.METHODS
        if not entry.requirements and entry.path not in idempotency.UNKEYED_PATHS
    }
    assert unguarded == {("POST", "/graphql")}

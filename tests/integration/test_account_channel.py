"""The ``account`` channel: every move of cash or reservations is announced with the
state change (``AccountChanged`` in the same transaction) and retained for subscribers.

Only a watched channel's messages are retained, so each test first watches the channel
the way a subscribe does (the client may then leave and resume from the retained ones)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from redfire_core.adapters.stream_store import StreamStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.domain.channels import Subscription
from tests.integration.conftest import call_api, token_for
from tests.support.pipeline import Pipeline


def watch_account_channel() -> None:
    """What a subscribe to ``account`` does to the channel, for a client that then left."""
    StreamStore().watch(Subscription("demo", "account"), int(time.time()) + 3600, int(time.time()))


def account_messages() -> list[dict[str, Any]]:
    retained = StreamStore().messages(Subscription("demo", "account"), 0, 100, int(time.time()))
    return [json.loads(message.body) for message in retained]


def test_a_market_buy_filled_when_it_is_decided_announces_the_fill_alone(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # The decision and the fill are one transaction: nothing is ever held for the order,
    # so the book's one change is the fill.
    watch_account_channel()
    before = seeded.get_account("demo")
    assert before is not None
    body = {"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10"}
    status, _, order = call_api("POST", "/v1/orders", body=body, token=token_for())
    assert status == 201
    pipeline.run_until_quiet()

    messages = account_messages()
    assert [m["seq"] for m in messages] == [1]
    [filled] = (m["data"] for m in messages)
    assert (filled["reason"], filled["order_id"]) == ("fill", order["id"])
    after = seeded.get_account("demo")
    assert after is not None
    assert (Decimal(filled["cash"]), Decimal(filled["reserved"])) == (after.cash, after.reserved)
    assert after.reserved == before.reserved
    assert after.cash == before.cash - Decimal("1000.00") - after.commissions


def test_canceling_a_resting_order_announces_the_release(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    watch_account_channel()
    body = {"symbol": "GOOG", "side": "buy", "type": "limit", "quantity": "5",
            "limit_price": "90.00", "time_in_force": "gtc"}  # fmt: skip
    order = call_api("POST", "/v1/orders", body=body, token=token_for())[2]
    pipeline.run_until_quiet()
    status, _, _ = call_api("DELETE", f"/v1/orders/{order['id']}", token=token_for())
    assert status in (200, 202)
    pipeline.run_until_quiet()

    reasons = [(m["data"]["reason"], Decimal(m["data"]["reserved"])) for m in account_messages()]
    assert reasons == [("reserved", Decimal("450.00")), ("released", Decimal(0))]

"""Pure pieces of the venue order flow: gateway names, queues, backoff, routing of images."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from redfire_core.adapters.trading_store import _order_item, encode_events
from redfire_core.adapters.venue_secrets import masked
from redfire_core.config import Settings
from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from redfire_core.domain.positions import Account
from redfire_core.events import Envelope, OrderAccepted, OrderCancelRequested
from redfire_core.resources import venue_queue
from redfire_core.services.order_stream import venue_messages
from redfire_core.services.risk_review import gateway_denials
from redfire_core.services.venue_accounts import check_gateway
from redfire_core.services.venue_intake import POLL_DELAYS, POLL_WINDOW_SECONDS, poll_delay
from redfire_core.venues import VenueCredentials
from redfire_core.views import order_view

NOW = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)
SETTINGS = Settings(venue_exchanges="binance, kraken")


def order(**changes: object) -> Order:
    base = Order(
        id="01ORDER",
        account_id="acct",
        symbol="GOOG",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=Decimal(10),
        time_in_force=TimeInForce.GTC,
        status=OrderStatus.ACCEPTED,
        created_at=NOW,
        updated_at=NOW,
        limit_price=Decimal(99),
        accepted_at=NOW,
        version=2,
        venue="ccxt:binance",
    )
    return base.__class__(**{**base.__dict__, **changes})


def record_of(o: Order, *payloads: object) -> dict[str, object]:
    events = [
        Envelope.wrap(p, account_id=o.account_id, correlation_id="c", occurred_at=NOW)  # type: ignore[arg-type]
        for p in payloads
    ]
    item = _order_item(o, None)
    item.events = encode_events(events, o)
    image = item.serialize()
    image["pk"], image["sk"] = {"S": o.account_id}, {"S": f"ORDER#{o.id}"}
    return {"eventName": "MODIFY", "dynamodb": {"NewImage": image, "SequenceNumber": "1"}}


@pytest.mark.parametrize(
    ("gateway", "queue"),
    [("alpaca", "venue-alpaca"), ("ccxt:binance", "venue-ccxt"), ("ccxt:kraken", "venue-ccxt")],
)
def test_each_gateway_has_its_kinds_queue(gateway: str, queue: str) -> None:
    assert venue_queue(gateway) == queue


@pytest.mark.parametrize("gateway", ["paper", "alpaca", "ccxt:binance", "ccxt:kraken"])
def test_configured_gateways_are_accepted(gateway: str) -> None:
    assert check_gateway(gateway, SETTINGS) == gateway


@pytest.mark.parametrize("gateway", ["ccxt:ftx", "ccxt", "ccxt:", "ib", "ALPACA", ""])
def test_other_gateways_are_gateway_invalid(gateway: str) -> None:
    with pytest.raises(DomainError) as raised:
        check_gateway(gateway, SETTINGS)
    assert raised.value.code == "GATEWAY_INVALID" and raised.value.field == "gateway"


def test_polls_back_off_to_a_minute() -> None:
    assert [poll_delay(n) for n in range(9)] == [1, 2, 5, 10, 20, 30, 60, 60, 60]
    assert sum(POLL_DELAYS) < POLL_WINDOW_SECONDS == 600


def test_an_accepted_venue_order_asks_for_a_submit_on_its_queue() -> None:
    accepted = order()
    messages = venue_messages(record_of(accepted, OrderAccepted(order=order_view(accepted))))
    assert messages == [
        (
            "venue-ccxt",
            {
                "action": "submit",
                "account_id": "acct",
                "order_id": "01ORDER",
                "attempt": 0,
                "submitted_at": "2026-12-05T21:00:00.000Z",
            },
        )
    ]


def test_an_accepted_replacement_asks_for_a_replace() -> None:
    replacement = order(replaces="01ORIGINAL")
    payload = OrderAccepted(order=order_view(replacement))
    [(_, body)] = venue_messages(record_of(replacement, payload))
    assert body["action"] == "replace"


def test_a_cancel_request_is_sent_on() -> None:
    pending = order(status=OrderStatus.PENDING_CANCEL)
    payload = OrderCancelRequested(order=order_view(pending))
    [(_, body)] = venue_messages(record_of(pending, payload))
    assert body["action"] == "cancel"


def test_a_paper_order_asks_nothing_of_a_venue() -> None:
    paper = order(venue=None)
    assert venue_messages(record_of(paper, OrderAccepted(order=order_view(paper)))) == []


def book(**changes: object) -> Account:
    return Account(id="acct", currency="USD", cash=Decimal(1), created_at=NOW, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({}, []),
        ({"gateway": "alpaca", "gateway_status": "connected"}, []),
        ({"gateway": "alpaca", "gateway_status": "connecting"}, ["GATEWAY_UNAVAILABLE"]),
        (
            {"gateway": "alpaca", "gateway_status": "error", "gateway_error": "revoked"},
            ["GATEWAY_UNAVAILABLE"],
        ),
    ],
)
def test_only_a_connected_venue_gateway_takes_orders(
    changes: dict[str, object], codes: list[str]
) -> None:
    assert [d.code for d in gateway_denials(book(**changes))] == codes


def test_the_secret_is_never_in_a_repr_and_key_ids_are_masked() -> None:
    credentials = VenueCredentials(key_id="PKABCDEFGH", secret="topsecret")
    assert "topsecret" not in repr(credentials)
    assert masked("PKABCDEFGH") == "******EFGH"
    assert masked("abc") == "****abc"

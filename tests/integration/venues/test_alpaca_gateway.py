"""AlpacaGateway (alpaca-py) against the fake Alpaca venue: every port method, each
scripted scenario, the mapped values (Decimal) and the mapped errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from alpaca.trading.enums import OrderStatus as AlpacaStatus
from alpaca.trading.models import Asset, Position, TradeAccount, TradeActivity
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.requests import CancelOrderResponse
from pydantic import TypeAdapter
from ulid import ULID

from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from redfire_core.venues import (
    VenueAuthError,
    VenueCredentials,
    VenueNotFound,
    VenueRateLimited,
    VenueRejected,
    VenueStatus,
    VenueUnavailable,
)
from redfire_venue_alpaca.gateway import STATUS, AlpacaGateway
from tests.fakes.alpaca_venue import ACTIVITIES, FakeAlpacaVenue

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
AAPL = Instrument(
    "AAPL", "equity", "USD", Decimal("0.01"), Decimal("0.000000001"), Decimal("0.000000001"), 2
)
BTC = Instrument(
    "BTC-USD", "crypto", "USD", Decimal("1"), Decimal("0.000000001"), Decimal("0.0001"), 0
)


@pytest.fixture
def venue() -> Iterator[FakeAlpacaVenue]:
    with FakeAlpacaVenue() as fake:
        yield fake


def gateway_for(venue: FakeAlpacaVenue, *, secret: str | None = None, **kw: Any) -> AlpacaGateway:
    credentials = VenueCredentials(venue.key_id, secret or venue.secret, base_url=venue.base_url)
    return AlpacaGateway(credentials, **kw)


@pytest.fixture
def gateway(venue: FakeAlpacaVenue) -> AlpacaGateway:
    return gateway_for(venue, timeout=2.0)


def an_order(
    *,
    symbol: str = "AAPL",
    qty: str = "10",
    side: Side = Side.BUY,
    type: OrderType = OrderType.LIMIT,
    tif: TimeInForce = TimeInForce.DAY,
    **prices: str,
) -> Order:
    if type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        prices.setdefault("limit_price", "190.25")
    return Order(
        id=str(ULID()),
        account_id="acct-1",
        symbol=symbol,
        side=side,
        type=type,
        quantity=Decimal(qty),
        time_in_force=tif,
        status=OrderStatus.ACCEPTED,
        created_at=NOW,
        updated_at=NOW,
        **{name: Decimal(value) for name, value in prices.items()},
    )


# -- submit ---------------------------------------------------------------------------------


def test_submit_sends_the_order_id_as_client_order_id_and_numbers_as_exact_strings(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order(qty="0.123456789", limit_price="190.07")

    placed = gateway.submit(order, AAPL)

    at_venue = venue.order(order.id)
    assert (at_venue["qty"], at_venue["limit_price"]) == ("0.123456789", "190.07")
    assert placed.client_order_id == order.id
    assert placed.venue_order_id == at_venue["id"]
    assert placed.status is VenueStatus.NEW
    assert placed.filled_quantity == Decimal(0)
    assert placed.average_price is None and placed.fills == ()


@pytest.mark.parametrize(
    ("kind", "prices", "sent"),
    [
        (OrderType.MARKET, {}, {}),
        (OrderType.STOP, {"stop_price": "185.5"}, {"stop_price": "185.5"}),
        (
            OrderType.STOP_LIMIT,
            {"stop_price": "185.5", "limit_price": "185.25"},
            {"stop_price": "185.5", "limit_price": "185.25"},
        ),
        (OrderType.TRAILING_STOP, {"trail_percent": "2.5"}, {"trail_percent": "2.5"}),
        (OrderType.TRAILING_STOP, {"trail_price": "1.25"}, {"trail_price": "1.25"}),
    ],
)
def test_submit_sends_each_order_type_with_its_prices(
    venue: FakeAlpacaVenue,
    gateway: AlpacaGateway,
    kind: OrderType,
    prices: dict[str, str],
    sent: dict[str, str],
) -> None:
    order = an_order(type=kind, side=Side.SELL, tif=TimeInForce.GTC, **prices)

    gateway.submit(order, AAPL)

    at_venue = venue.order(order.id)
    assert (at_venue["type"], at_venue["side"], at_venue["time_in_force"]) == (
        kind.value,
        "sell",
        "gtc",
    )
    for name in ("limit_price", "stop_price", "trail_price", "trail_percent"):
        assert at_venue[name] == sent.get(name)


def test_crypto_symbols_are_sent_in_alpacas_spelling(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order(symbol="BTC-USD", qty="0.01", type=OrderType.MARKET, tif=TimeInForce.GTC)

    gateway.submit(order, BTC)

    assert venue.order(order.id)["symbol"] == "BTC/USD"


def test_an_immediate_fill_comes_back_with_its_execution(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order(qty="10")
    venue.script(order.id, [("10", "190.21")], when="submit")

    placed = gateway.submit(order, AAPL)

    assert placed.status is VenueStatus.FILLED
    assert placed.filled_quantity == Decimal("10")
    assert placed.average_price == Decimal("190.21")
    (fill,) = placed.fills
    assert fill.execution_id == venue.activities[0]["id"]
    assert (fill.quantity, fill.price) == (Decimal("10"), Decimal("190.21"))
    assert fill.at.tzinfo is not None


# -- find: fills over several polls, duplicates, out of order -----------------------------


def test_partial_fills_over_several_polls_are_each_one_fill(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order(qty="10")
    venue.script(order.id, [("3", "190.00"), ("7", "190.10")], when="poll")
    gateway.submit(order, AAPL)

    first = gateway.find(order.id)
    second = gateway.find(order.id)

    assert first.status is VenueStatus.PARTIALLY_FILLED
    assert [(f.quantity, f.price) for f in first.fills] == [(Decimal(3), Decimal("190.00"))]
    assert second.status is VenueStatus.FILLED
    assert [(f.quantity, f.price) for f in second.fills] == [
        (Decimal(3), Decimal("190.00")),
        (Decimal(7), Decimal("190.10")),
    ]
    assert second.fills[0] == first.fills[0]  # the same execution id on every poll
    assert second.average_price == Decimal("190.07")


def test_duplicated_and_reordered_activities_give_each_execution_once_in_time_order(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order(qty="3")
    gateway.submit(order, AAPL)
    for price in ("190.01", "190.02", "190.03"):
        venue.fill(order.id, "1", price)
    venue.reverse_activities = venue.repeat_activities = True

    found = gateway.find(order.id)

    assert [f.price for f in found.fills] == [
        Decimal("190.01"),
        Decimal("190.02"),
        Decimal("190.03"),
    ]
    assert len({f.execution_id for f in found.fills}) == 3


def test_fills_of_other_orders_are_not_counted(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    mine, other = an_order(qty="2"), an_order(qty="5")
    gateway.submit(mine, AAPL)
    gateway.submit(other, AAPL)
    venue.fill(other.id, "5", "189.00")
    venue.fill(mine.id, "2", "189.50")

    found = gateway.find(mine.id)

    assert [(f.quantity, f.price) for f in found.fills] == [(Decimal(2), Decimal("189.50"))]


def test_fills_are_paged_through_when_the_account_has_many(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    busy, late = an_order(qty="150", type=OrderType.MARKET), an_order(qty="1")
    gateway.submit(busy, AAPL)
    gateway.submit(late, AAPL)
    for _ in range(150):
        venue.fill(busy.id, "1", "190.00")
    venue.fill(late.id, "1", "191.00")

    found = gateway.find(late.id)

    assert [f.price for f in found.fills] == [Decimal("191.00")]
    assert venue.count("GET", ACTIVITIES) == 2  # 100 a page


def test_find_of_an_unknown_client_order_id_is_venue_not_found(gateway: AlpacaGateway) -> None:
    with pytest.raises(VenueNotFound):
        gateway.find(str(ULID()))


@pytest.mark.parametrize(
    ("status", "expected"),
    [("expired", VenueStatus.EXPIRED), ("canceled", VenueStatus.CANCELED)],
)
def test_the_venues_final_states_map(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway, status: str, expected: VenueStatus
) -> None:
    order = an_order()
    gateway.submit(order, AAPL)
    venue.set_status(order.id, status)

    assert gateway.find(order.id).status is expected


def test_an_order_rejected_after_acceptance_is_rejected_with_a_reason(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order()
    gateway.submit(order, AAPL)
    venue.set_status(order.id, "rejected")

    found = gateway.find(order.id)

    assert found.status is VenueStatus.REJECTED
    assert found.reason


def test_every_alpaca_order_status_has_a_venue_status() -> None:
    assert set(STATUS) == set(AlpacaStatus)


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("done_for_day", "0", VenueStatus.NEW),
        ("done_for_day", "4", VenueStatus.PARTIALLY_FILLED),
        ("pending_cancel", "4", VenueStatus.PARTIALLY_FILLED),
        ("calculated", "10", VenueStatus.FILLED),
        ("calculated", "4", VenueStatus.PARTIALLY_FILLED),
    ],
)
def test_working_states_map_by_what_has_filled(
    venue: FakeAlpacaVenue,
    gateway: AlpacaGateway,
    status: str,
    filled: str,
    expected: VenueStatus,
) -> None:
    order = an_order(qty="10", tif=TimeInForce.GTC)
    gateway.submit(order, AAPL)
    if filled != "0":
        venue.fill(order.id, filled, "190.00")
    venue.set_status(order.id, status)

    assert gateway.find(order.id).status is expected


@pytest.mark.parametrize("status", ["pending_new", "accepted"])
def test_an_order_the_venue_has_not_acknowledged_is_pending(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway, status: str
) -> None:
    order = an_order()
    gateway.submit(order, AAPL)
    venue.set_status(order.id, status)

    assert gateway.find(order.id).status is VenueStatus.PENDING


# -- submit faults ----------------------------------------------------------------------------


def test_a_submit_that_timed_out_after_the_venue_accepted_is_found_and_never_doubled(
    venue: FakeAlpacaVenue,
) -> None:
    gateway = gateway_for(venue, timeout=0.5)
    order = an_order()
    venue.stall_next("POST", "/v2/orders", 2.0)  # stored, then answers too late

    with pytest.raises(VenueUnavailable):
        gateway.submit(order, AAPL)
    found = gateway.find(order.id)
    again = gateway.submit(order, AAPL)  # a retry with the same client order id

    assert found.status is VenueStatus.NEW
    assert again.venue_order_id == found.venue_order_id
    assert len(venue.orders) == 1


def test_a_rejected_order_is_venue_rejected_with_alpacas_message(
    gateway: AlpacaGateway, venue: FakeAlpacaVenue
) -> None:
    order = an_order(qty="1000", limit_price="190.00")  # 190,000 USD > 100,000 cash

    with pytest.raises(VenueRejected, match="insufficient buying power"):
        gateway.submit(order, AAPL)
    assert venue.orders == {}


def test_an_invalid_order_is_venue_rejected_with_alpacas_message(
    gateway: AlpacaGateway,
) -> None:
    order = an_order(symbol="ZVZZT", qty="1.5", limit_price="10.00")

    with pytest.raises(VenueRejected, match="fractional orders are not allowed"):
        gateway.submit(order, AAPL)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_is_venue_unavailable_after_one_request(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway, status: int
) -> None:
    venue.fail_next("POST", "/v2/orders", status, times=5)

    with pytest.raises(VenueUnavailable):
        gateway.submit(an_order(), AAPL)
    assert venue.count("POST", "/v2/orders") == 1  # alpaca-py's own retry is off


def test_429_is_rate_limited_with_retry_after_and_no_retry_inside(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    venue.fail_next(
        "POST", "/v2/orders", 429, code=42910000, message="rate limit exceeded", retry_after="7"
    )
    started = time.monotonic()

    with pytest.raises(VenueRateLimited) as raised:
        gateway.submit(an_order(), AAPL)

    assert raised.value.retry_after == 7.0
    assert venue.count("POST", "/v2/orders") == 1
    assert time.monotonic() - started < 3.0  # alpaca-py would have slept 3 s to retry


def test_a_dropped_connection_is_venue_unavailable(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    venue.drop_next("GET", "/v2/account")

    with pytest.raises(VenueUnavailable):
        gateway.balances()


# -- credentials --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_a_revoked_key_is_an_auth_error_on_every_call(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway, status: int
) -> None:
    order = an_order()
    gateway.submit(order, AAPL)
    venue.revoke_key(status=status)

    for call in (
        gateway.check,
        lambda: gateway.submit(an_order(), AAPL),  # a bare 403 is the key, not the order
        lambda: gateway.find(order.id),
        lambda: gateway.cancel(order.id),
        gateway.open_orders,
    ):
        with pytest.raises(VenueAuthError):
            call()


def test_a_wrong_secret_fails_the_check(venue: FakeAlpacaVenue) -> None:
    with pytest.raises(VenueAuthError, match="not authorized"):
        gateway_for(venue, secret="wrong").check()


def test_the_secret_never_appears_in_an_error(venue: FakeAlpacaVenue) -> None:
    gateway = gateway_for(venue, secret="s3cr3t-value")

    with pytest.raises(VenueAuthError) as raised:
        gateway.check()

    assert "s3cr3t-value" not in repr(raised.value) + str(raised.value)


def test_a_blocked_account_fails_the_check(venue: FakeAlpacaVenue, gateway: AlpacaGateway) -> None:
    venue.trading_blocked = True

    with pytest.raises(VenueAuthError, match="cannot trade"):
        gateway.check()


# -- cancel ---------------------------------------------------------------------------------


def test_cancel_of_an_open_order_returns_it_canceled(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order()
    gateway.submit(order, AAPL)

    canceled = gateway.cancel(order.id)

    assert canceled.status is VenueStatus.CANCELED
    assert venue.count("DELETE", f"/v2/orders/{canceled.venue_order_id}") == 1


def test_a_fill_that_wins_the_race_with_cancel_comes_back_filled(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order(qty="5")
    gateway.submit(order, AAPL)
    venue.script(order.id, [("5", "190.20")], when="cancel")

    result = gateway.cancel(order.id)

    assert result.status is VenueStatus.FILLED
    assert [f.quantity for f in result.fills] == [Decimal(5)]


def test_a_partial_fill_before_the_cancel_stays_with_the_canceled_order(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order(qty="5")
    gateway.submit(order, AAPL)
    venue.script(order.id, [("2", "190.20")], when="cancel")

    result = gateway.cancel(order.id)

    assert result.status is VenueStatus.CANCELED
    assert result.filled_quantity == Decimal(2)
    assert [f.quantity for f in result.fills] == [Decimal(2)]


def test_cancel_of_a_final_order_sends_no_delete(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order(qty="1")
    venue.script(order.id, [("1", "190.00")], when="submit")
    placed = gateway.submit(order, AAPL)

    assert gateway.cancel(order.id).status is VenueStatus.FILLED
    assert venue.count("DELETE", f"/v2/orders/{placed.venue_order_id}") == 0


def test_cancel_of_an_unknown_order_is_venue_not_found(gateway: AlpacaGateway) -> None:
    with pytest.raises(VenueNotFound):
        gateway.cancel(str(ULID()))


# -- replace --------------------------------------------------------------------------------


def test_replace_sends_the_new_terms_under_the_new_orders_id(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    old = an_order(qty="10", limit_price="190.00")
    gateway.submit(old, AAPL)
    new = an_order(qty="12.5", limit_price="189.95")

    replacement = gateway.replace(old.id, new, AAPL)

    assert replacement.client_order_id == new.id
    assert replacement.status is VenueStatus.NEW
    at_venue = venue.order(new.id)
    assert (at_venue["qty"], at_venue["limit_price"]) == ("12.5", "189.95")
    assert at_venue["replaces"] == venue.order(old.id)["id"]
    replaced = gateway.find(old.id)
    assert replaced.status is VenueStatus.CANCELED  # no more fills; the replacement lives
    assert replaced.reason == f"replaced by {replacement.venue_order_id}"


def test_replace_of_a_trailing_stop_sends_its_trail(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    old = an_order(type=OrderType.TRAILING_STOP, side=Side.SELL, trail_price="1.25")
    gateway.submit(old, AAPL)
    new = an_order(type=OrderType.TRAILING_STOP, side=Side.SELL, trail_price="1.50")

    gateway.replace(old.id, new, AAPL)

    assert venue.order(new.id)["trail_price"] == "1.50"


def test_replace_of_a_filled_order_is_venue_rejected(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    old = an_order(qty="1")
    venue.script(old.id, [("1", "190.00")], when="submit")
    gateway.submit(old, AAPL)

    with pytest.raises(VenueRejected, match="not replaceable"):
        gateway.replace(old.id, an_order(qty="2"), AAPL)


def test_a_replace_that_timed_out_is_found_under_the_new_id_when_sent_again(
    venue: FakeAlpacaVenue,
) -> None:
    gateway = gateway_for(venue, timeout=0.5)
    old, new = an_order(), an_order(limit_price="189.00")
    gateway.submit(old, AAPL)
    venue.stall_next("PATCH", "/v2/orders/", 2.0)

    with pytest.raises(VenueUnavailable):
        gateway.replace(old.id, new, AAPL)
    found = gateway.find(new.id)
    again = gateway.replace(old.id, new, AAPL)

    assert found.status is VenueStatus.NEW
    assert again.venue_order_id == found.venue_order_id
    assert len(venue.orders) == 2
    assert sum(1 for method, _ in venue.requests if method == "PATCH") == 1


def test_replace_of_an_order_another_replace_won_is_venue_rejected(
    gateway: AlpacaGateway,
) -> None:
    old = an_order()
    gateway.submit(old, AAPL)
    gateway.replace(old.id, an_order(limit_price="189.00"), AAPL)

    with pytest.raises(VenueRejected, match="already replaced"):
        gateway.replace(old.id, an_order(limit_price="188.00"), AAPL)


# -- open orders, balances, instruments -----------------------------------------------------


def test_open_orders_are_the_working_ones_with_their_fills(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    working, partial, done = an_order(), an_order(qty="4"), an_order(qty="1")
    for order in (working, partial, done):
        gateway.submit(order, AAPL)
    venue.fill(partial.id, "1", "190.01")
    venue.fill(done.id, "1", "190.02")

    found = {o.client_order_id: o for o in gateway.open_orders()}

    assert set(found) == {working.id, partial.id}
    assert found[partial.id].status is VenueStatus.PARTIALLY_FILLED
    assert [f.price for f in found[partial.id].fills] == [Decimal("190.01")]
    assert found[working.id].fills == ()
    assert venue.count("GET", ACTIVITIES) == 1  # one pass for all of them


def test_balances_are_cash_and_signed_positions_in_redfire_symbols(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    buy = an_order(qty="10", type=OrderType.MARKET)
    short = an_order(symbol="ZVZZT", qty="3", side=Side.SELL, type=OrderType.MARKET)
    coin = an_order(symbol="BTC-USD", qty="0.5", type=OrderType.MARKET, tif=TimeInForce.GTC)
    venue.script(buy.id, [("4", "190.10"), ("6", "190.20")], when="submit")
    venue.script(short.id, [("3", "10.05")], when="submit")
    venue.script(coin.id, [("0.5", "60000")], when="submit")
    for order, instrument in ((buy, AAPL), (short, AAPL), (coin, BTC)):
        gateway.submit(order, instrument)

    balances = gateway.check()

    assert balances.currency == "USD"
    assert balances.cash == Decimal("100000") - Decimal("1901.60") + Decimal("30.15") - Decimal(
        "30000"
    )
    positions = {p.symbol: p for p in balances.positions}
    assert positions["AAPL"].quantity == Decimal("10")
    assert positions["AAPL"].average_price == Decimal("190.16")
    assert positions["ZVZZT"].quantity == Decimal("-3")
    assert positions["BTC-USD"].quantity == Decimal("0.5")
    assert gateway.balances() == balances


def test_instrument_of_a_fractionable_equity(gateway: AlpacaGateway) -> None:
    instrument = gateway.instrument("AAPL")

    assert instrument is not None
    assert (instrument.asset_class, instrument.currency, instrument.calendar) == (
        "equity",
        "USD",
        "XNYS",
    )
    assert (instrument.tick_size, instrument.lot_size) == (Decimal("0.01"), Decimal("1E-9"))
    assert instrument.price_precision == 2 and instrument.tradable


def test_instrument_of_a_whole_share_equity_has_lot_one(gateway: AlpacaGateway) -> None:
    instrument = gateway.instrument("ZVZZT")

    assert instrument is not None
    assert (instrument.lot_size, instrument.min_quantity) == (Decimal(1), Decimal(1))


def test_instrument_of_a_crypto_pair_uses_alpacas_increments(gateway: AlpacaGateway) -> None:
    instrument = gateway.instrument("BTC-USD")

    assert instrument is not None
    assert instrument.symbol == "BTC-USD"
    assert (instrument.asset_class, instrument.calendar) == ("crypto", "24/7")
    assert instrument.tick_size == Decimal(1)
    assert instrument.lot_size == Decimal("0.000000001")
    assert instrument.min_quantity == Decimal("0.0001")


@pytest.mark.parametrize("symbol", ["NOPE", "BTCPERP"])
def test_instrument_the_venue_does_not_list_or_redfire_does_not_trade_is_none(
    gateway: AlpacaGateway, symbol: str
) -> None:
    assert gateway.instrument(symbol) is None


def test_instrument_of_an_inactive_asset_is_not_tradable(gateway: AlpacaGateway) -> None:
    instrument = gateway.instrument("DELISTD")

    assert instrument is not None and not instrument.tradable


# -- venue restart ---------------------------------------------------------------------------


def test_a_venue_restart_drops_connections_and_keeps_the_orders(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order(qty="2")
    gateway.submit(order, AAPL)
    venue.stop()

    with pytest.raises(VenueUnavailable):
        gateway.find(order.id)

    venue.start()
    venue.fill(order.id, "2", "190.00")
    found = gateway.find(order.id)
    venue.restart()

    assert found.status is VenueStatus.FILLED
    assert gateway.find(order.id) == found


# -- the fake speaks Alpaca: its answers validate against alpaca-py's models ----------------


def test_every_answer_of_the_fake_validates_against_alpaca_py_models(
    venue: FakeAlpacaVenue, gateway: AlpacaGateway
) -> None:
    order = an_order(qty="2")
    gateway.submit(order, AAPL)
    venue.fill(order.id, "1", "190.00")
    gateway.submit(an_order(), AAPL)
    headers = {"APCA-API-KEY-ID": venue.key_id, "APCA-API-SECRET-KEY": venue.secret}

    def get(path: str, method: str = "GET", **params: str) -> Any:
        answer = requests.request(
            method, venue.base_url + path, headers=headers, params=params, timeout=5
        )
        assert answer.status_code in (200, 207), answer.text
        return answer.json()

    TradeAccount(**get("/v2/account"))
    TypeAdapter(list[Position]).validate_python(get("/v2/positions"))
    Asset(**get("/v2/assets/AAPL"))
    Asset(**get("/v2/assets/BTCUSD"))
    orders = TypeAdapter(list[AlpacaOrder]).validate_python(get("/v2/orders", status="all"))
    AlpacaOrder(**get(f"/v2/orders/{orders[0].id}"))
    AlpacaOrder(**get("/v2/orders:by_client_order_id", client_order_id=order.id))
    for activity in get(ACTIVITIES, direction="asc"):
        TradeActivity(**activity)
    TypeAdapter(list[CancelOrderResponse]).validate_python(get("/v2/orders", "DELETE"))


# -- the paper path never loads alpaca-py -----------------------------------------------------


def _imports_alpaca(modules: str) -> bool:
    code = (
        f"import sys\nimport {modules}\n"
        "print(any(m.split('.')[0] == 'alpaca' for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
        timeout=120,
    )
    return result.stdout.strip() == "True"


def test_importing_redfire_core_and_the_paper_path_does_not_import_alpaca() -> None:
    assert not _imports_alpaca(
        "redfire_core, redfire_core.venues, redfire_core.gateways, redfire_core.alpaca_dialect,"
        " redfire_core.services.placing, redfire_core.services.execution"
    )
    assert _imports_alpaca("redfire_venue_alpaca.gateway")  # the check can see it

"""The ccxt gateway against a fake Binance spot venue on 127.0.0.1 (issue 17).

Each test drives one method or one scripted scenario through ccxt's real binance code
(signing, parsing, error classes) and asserts what the port returns, in Decimal.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import Order, OrderRequest, OrderType, Side, TimeInForce
from redfire_core.venues import (
    VenueAuthError,
    VenueCredentials,
    VenueError,
    VenueMode,
    VenueNotFound,
    VenueRateLimited,
    VenueRejected,
    VenueStatus,
    VenueUnavailable,
)
from redfire_venue_ccxt.gateway import CcxtGateway, to_redfire_symbol, to_venue_symbol
from tests.fakes.binance_venue import FakeBinanceVenue

KEY, SECRET = "test-key-7f3a", "test-secret-9c1e55d0"
BTC = Instrument(
    "BTC-USDT",
    "crypto",
    "USDT",
    Decimal("0.01"),
    Decimal("0.00001"),
    Decimal("0.00001"),
    2,
    calendar="24/7",
)
_sequence = iter(range(10_000))


@pytest.fixture
def venue() -> Iterator[FakeBinanceVenue]:
    with FakeBinanceVenue() as fake:
        fake.add_account(KEY, SECRET, {"USDT": "100000", "BTC": "1.5"})
        yield fake


def gateway_for(
    venue: FakeBinanceVenue, *, secret: str = SECRET, timeout_ms: int = 3000
) -> CcxtGateway:
    credentials = VenueCredentials(KEY, secret, exchange="binance", base_url=venue.url)
    return CcxtGateway(credentials, timeout_ms=timeout_ms)


@pytest.fixture
def gateway(venue: FakeBinanceVenue) -> CcxtGateway:
    return gateway_for(venue)


def order(
    kind: OrderType = OrderType.MARKET,
    side: Side = Side.BUY,
    quantity: str = "0.01",
    *,
    limit: str | None = None,
    stop: str | None = None,
    tif: TimeInForce = TimeInForce.GTC,
) -> Order:
    request = OrderRequest(
        "BTC-USDT",
        side,
        kind,
        Decimal(quantity),
        tif,
        limit_price=Decimal(limit) if limit else None,
        stop_price=Decimal(stop) if stop else None,
    )
    order_id = f"01JCCXT{next(_sequence):019d}"
    return Order.submit(order_id, "acct", request, datetime.now(UTC))


def posted(venue: FakeBinanceVenue) -> list[dict[str, str]]:
    return [
        params
        for method, path, params in venue.requests
        if (method, path) == ("POST", "/api/v3/order")
    ]


# --- symbols, instrument, balances --------------------------------------------------------


def test_symbols_map_between_redfire_and_ccxt() -> None:
    assert to_venue_symbol("BTC-USDT") == "BTC/USDT"
    assert to_redfire_symbol("BTC/USDT") == "BTC-USDT"
    with pytest.raises(VenueRejected):
        to_venue_symbol("BTCUSDT")


def test_instrument_takes_tick_and_lot_from_the_market_precision(gateway: CcxtGateway) -> None:
    eth = gateway.instrument("ETH-USDT")

    assert eth == Instrument(
        "ETH-USDT",
        "crypto",
        "USDT",
        Decimal("0.01"),
        Decimal("0.0001"),
        Decimal("0.0001"),
        2,
        calendar="24/7",
    )
    assert gateway.instrument("DOGE-USDT") is None
    assert gateway.instrument("GOOG") is None


def test_markets_are_loaded_once_per_gateway(gateway: CcxtGateway, venue: FakeBinanceVenue) -> None:
    gateway.instrument("BTC-USDT")
    gateway.instrument("ETH-USDT")
    gateway.submit(order(), BTC)

    assert [path for _, path, _ in venue.requests].count("/api/v3/exchangeInfo") == 1


def test_check_reads_cash_and_positions_as_decimals(gateway: CcxtGateway) -> None:
    balances = gateway.check()

    assert balances.currency == "USDT"
    assert balances.cash == Decimal("100000")
    assert [(p.symbol, p.quantity) for p in balances.positions] == [("BTC-USDT", Decimal("1.5"))]
    assert all(isinstance(p.quantity, Decimal) for p in balances.positions)


def test_cash_counts_what_resting_orders_hold(gateway: CcxtGateway) -> None:
    gateway.submit(order(OrderType.LIMIT, limit="40000.00"), BTC)  # holds 400 USDT

    assert gateway.balances().cash == Decimal("100000")


# --- submit, find, fills ------------------------------------------------------------------


def test_market_order_fills_at_once_with_the_order_id_as_client_order_id(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    placed = order(quantity="0.01")

    result = gateway.submit(placed, BTC)

    [sent] = posted(venue)
    assert sent["newClientOrderId"] == placed.id
    assert (sent["type"], sent["side"], sent["quantity"]) == ("MARKET", "BUY", "0.01")
    assert "price" not in sent and "timeInForce" not in sent
    assert result.client_order_id == placed.id
    assert result.status is VenueStatus.FILLED
    assert result.filled_quantity == Decimal("0.01")
    assert result.average_price == Decimal("50000")
    [fill] = result.fills
    assert (fill.quantity, fill.price) == (Decimal("0.01"), Decimal("50000"))
    assert fill.execution_id == str(venue.trades[0].trade_id)


def test_limit_order_rests_then_fills_over_several_polls(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    placed = order(OrderType.LIMIT, quantity="0.03", limit="49000.50")
    accepted = gateway.submit(placed, BTC)
    assert accepted.status is VenueStatus.NEW
    assert posted(venue)[0]["price"] == "49000.5"  # the exchange's precision string
    assert posted(venue)[0]["timeInForce"] == "GTC"

    venue.fill(placed.id, "0.01", "49000.50")
    first = gateway.find(placed.id, "BTC-USDT")
    venue.fill(placed.id, "0.02", "49000.00")
    second = gateway.find(placed.id, "BTC-USDT")

    lookups = [params for method, path, params in venue.requests if path != "/api/v3/exchangeInfo"]
    assert lookups[1]["origClientOrderId"] == placed.id  # GET /api/v3/order by client id
    assert lookups[2]["orderId"] == accepted.venue_order_id  # GET /api/v3/myTrades of it
    assert (first.status, first.filled_quantity) == (VenueStatus.PARTIALLY_FILLED, Decimal("0.01"))
    assert [f.quantity for f in first.fills] == [Decimal("0.01")]
    assert (second.status, second.filled_quantity) == (VenueStatus.FILLED, Decimal("0.03"))
    assert [(f.quantity, f.price) for f in second.fills] == [
        (Decimal("0.01"), Decimal("49000.5")),
        (Decimal("0.02"), Decimal("49000")),
    ]
    # The venue's books: cash paid = fills' notional, position = fills' quantity.
    balances = gateway.balances()
    assert balances.cash == Decimal("100000") - Decimal("490.005") - Decimal("980")
    assert balances.positions[0].quantity == Decimal("1.53")


def test_fees_are_reported_with_their_currency(venue: FakeBinanceVenue) -> None:
    venue.commission_rate = Decimal("0.001")
    result = gateway_for(venue).submit(order(side=Side.SELL, quantity="0.1"), BTC)

    [fill] = result.fills
    assert (fill.fee, fill.fee_currency) == (Decimal("5"), "USDT")


def test_unknown_client_order_id_is_not_found(gateway: CcxtGateway) -> None:
    with pytest.raises(VenueNotFound, match="Order does not exist"):
        gateway.find("01JNEVERSENT0000000000000", "BTC-USDT")


def test_find_without_a_symbol_finds_an_open_order_across_markets(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    placed = order(OrderType.LIMIT, limit="40000.00")
    gateway.submit(placed, BTC)
    fresh = gateway_for(venue)  # a new container knows nothing of the submit

    assert fresh.find(placed.id).venue_order_id == str(venue.orders[0].order_id)


def test_find_without_a_symbol_never_claims_a_closed_order_is_missing(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    placed = order()
    gateway.submit(placed, BTC)  # filled: no longer among the open orders

    with pytest.raises(VenueError) as raised:
        gateway_for(venue).find(placed.id)
    assert not isinstance(raised.value, VenueNotFound)  # NotFound would allow a resend


def test_open_orders_lists_every_resting_order(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    resting = order(OrderType.LIMIT, limit="40000.00")
    gateway.submit(resting, BTC)
    gateway.submit(order(), BTC)  # filled at once

    [listed] = gateway.open_orders()

    assert (listed.client_order_id, listed.status) == (resting.id, VenueStatus.NEW)
    assert ("GET", "/api/v3/openOrders") in [(m, p) for m, p, _ in venue.requests]


# --- order types and precision ------------------------------------------------------------


def test_stop_limit_is_sent_as_binance_stop_loss_limit(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    result = gateway.submit(
        order(
            OrderType.STOP_LIMIT,
            side=Side.SELL,
            limit="44000.00",
            stop="45000.00",
            tif=TimeInForce.IOC,
        ),
        BTC,
    )

    [sent] = posted(venue)
    assert (sent["type"], sent["stopPrice"], sent["price"], sent["timeInForce"]) == (
        "STOP_LOSS_LIMIT",
        "45000",
        "44000",
        "IOC",
    )
    assert result.status is VenueStatus.NEW


def test_stop_is_sent_as_binance_stop_loss_without_time_in_force(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    gateway.submit(order(OrderType.STOP, side=Side.SELL, stop="45000.00"), BTC)

    [sent] = posted(venue)
    assert (sent["type"], sent["stopPrice"]) == ("STOP_LOSS", "45000")
    assert "timeInForce" not in sent and "price" not in sent


@pytest.mark.parametrize(
    ("placed", "words"),
    [
        (lambda: order(quantity="0.000015"), "quantity 0.000015 does not fit"),
        (lambda: order(OrderType.LIMIT, limit="40000.005"), "limit_price 40000.005 does not fit"),
        (lambda: order(OrderType.LIMIT, limit="40000.00", tif=TimeInForce.DAY), "no day orders"),
    ],
)
def test_values_the_venue_would_change_are_refused_before_sending(
    gateway: CcxtGateway, venue: FakeBinanceVenue, placed: object, words: str
) -> None:
    with pytest.raises(VenueRejected, match=words):
        gateway.submit(placed(), BTC)  # type: ignore[operator]
    assert posted(venue) == []


def test_a_symbol_the_exchange_does_not_list_is_rejected(gateway: CcxtGateway) -> None:
    unlisted = order()
    unlisted = Order.submit(
        unlisted.id,
        "acct",
        OrderRequest("DOGE-USDT", Side.BUY, OrderType.MARKET, Decimal("1"), TimeInForce.GTC),
        datetime.now(UTC),
    )
    with pytest.raises(VenueRejected, match="DOGE/USDT"):
        gateway.submit(unlisted, BTC)


# --- cancel and replace -------------------------------------------------------------------


def test_cancel_releases_a_partly_filled_order(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    placed = order(OrderType.LIMIT, quantity="0.02", limit="40000.00")
    gateway.submit(placed, BTC)
    venue.fill(placed.id, "0.005", "40000.00")

    canceled = gateway.cancel(placed.id, "BTC-USDT")

    assert canceled.status is VenueStatus.CANCELED
    assert canceled.filled_quantity == Decimal("0.005")
    assert [f.quantity for f in canceled.fills] == [Decimal("0.005")]
    assert venue.balance(KEY, "USDT") == (Decimal("99800"), Decimal("0"))


def test_cancel_racing_a_fill_reports_the_fill(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    placed = order(OrderType.LIMIT, quantity="0.02", limit="40000.00")
    gateway.submit(placed, BTC)
    venue.cancel_loses_to_fill.add(placed.id)

    result = gateway.cancel(placed.id, "BTC-USDT")

    assert result.status is VenueStatus.FILLED
    assert result.filled_quantity == Decimal("0.02")
    assert sum(f.quantity for f in result.fills) == Decimal("0.02")


def test_replace_cancels_then_submits_under_the_new_id(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    original = order(OrderType.LIMIT, limit="40000.00")
    gateway.submit(original, BTC)
    replacement = order(OrderType.LIMIT, quantity="0.02", limit="41000.00")

    result = gateway.replace(original.id, replacement, BTC)

    assert result.client_order_id == replacement.id
    assert result.status is VenueStatus.NEW
    assert venue.order(original.id).status == "CANCELED"  # type: ignore[union-attr]
    assert [o.client_order_id for o in venue.open_orders()] == [replacement.id]


def test_replace_of_a_filled_order_is_rejected_and_sends_nothing(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    original = order()
    gateway.submit(original, BTC)

    with pytest.raises(VenueRejected, match="nothing left to replace"):
        gateway.replace(original.id, order(OrderType.LIMIT, limit="41000.00"), BTC)
    assert len(posted(venue)) == 1


# --- faults -------------------------------------------------------------------------------


def test_submit_timeout_after_the_venue_accepted_is_found_by_client_order_id(
    venue: FakeBinanceVenue,
) -> None:
    gateway = gateway_for(venue, timeout_ms=300)
    placed = order()
    venue.next_submit("timeout", delay=3.0)

    with pytest.raises(VenueUnavailable):
        gateway.submit(placed, BTC)
    found = gateway.find(placed.id, "BTC-USDT")

    assert found.status is VenueStatus.FILLED
    assert len(venue.orders) == 1


def test_server_error_after_the_venue_accepted_is_unavailable_not_rejected(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    placed = order()
    venue.next_submit("server_error")

    with pytest.raises(VenueUnavailable):
        gateway.submit(placed, BTC)
    assert gateway.find(placed.id, "BTC-USDT").status is VenueStatus.FILLED


def test_resubmitting_an_open_order_is_refused_by_the_venue(gateway: CcxtGateway) -> None:
    placed = order(OrderType.LIMIT, limit="40000.00")
    gateway.submit(placed, BTC)

    with pytest.raises(VenueRejected, match="Duplicate order sent"):
        gateway.submit(placed, BTC)


def test_duplicate_and_out_of_order_trades_are_reported_once_oldest_first(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    placed = order(OrderType.LIMIT, quantity="0.03", limit="40000.00")
    gateway.submit(placed, BTC)
    for quantity in ("0.01", "0.01", "0.01"):
        venue.fill(placed.id, quantity, "40000.00")
    venue.duplicate_trades = True

    found = gateway.find(placed.id, "BTC-USDT")

    ids = [f.execution_id for f in found.fills]
    assert ids == [str(t.trade_id) for t in venue.trades]
    assert sum(f.quantity for f in found.fills) == found.filled_quantity == Decimal("0.03")


def test_venue_restart_is_unavailable_then_the_book_is_back(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    placed = order(OrderType.LIMIT, limit="40000.00")
    gateway.submit(placed, BTC)

    venue.stop()
    with pytest.raises(VenueUnavailable):
        gateway.find(placed.id, "BTC-USDT")
    venue.start()

    assert gateway.find(placed.id, "BTC-USDT").status is VenueStatus.NEW


def test_rejected_order_carries_the_venues_message(gateway: CcxtGateway) -> None:
    with pytest.raises(VenueRejected) as raised:
        gateway.submit(order(quantity="5"), BTC)  # 250,000 USDT of BTC

    assert raised.value.message == "Account has insufficient balance for requested action."


def test_a_venue_refusal_of_a_valid_order_is_rejected(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    venue.next_submit("reject")

    with pytest.raises(VenueRejected, match="Order would immediately trigger"):
        gateway.submit(order(OrderType.STOP, side=Side.SELL, stop="55000.00"), BTC)


def test_revoked_key_is_an_auth_error_even_after_successful_calls(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    gateway.check()  # ccxt now reports -2015 as DDoSProtection: the gateway must not
    venue.revoke(KEY)

    with pytest.raises(VenueAuthError, match="Invalid API-key"):
        gateway.check()


def test_wrong_secret_is_an_auth_error(venue: FakeBinanceVenue) -> None:
    with pytest.raises(VenueAuthError, match="Signature for this request is not valid"):
        gateway_for(venue, secret="not-the-secret").check()


def test_rate_limit_carries_the_venues_retry_after(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    venue.fail_next(
        429,
        -1003,
        "Too many requests; current limit of IP is 6000 requests per minute.",
        retry_after=7,
    )

    with pytest.raises(VenueRateLimited) as raised:
        gateway.check()
    assert raised.value.retry_after == 7.0


def test_server_errors_are_unavailable(gateway: CcxtGateway, venue: FakeBinanceVenue) -> None:
    venue.fail_next(500, -1001, "Internal error; unable to process your request. Please try again.")

    with pytest.raises(VenueUnavailable):
        gateway.check()


def test_a_5xx_is_unavailable_whatever_code_its_body_carries(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    # Binance: a 5xx means the execution status is unknown, never a refusal.
    venue.fail_next(503, -2010, "Order would immediately trigger.")

    with pytest.raises(VenueUnavailable):
        gateway.submit(order(), BTC)


def test_clock_off_the_venue_is_unavailable_once_then_resynced(
    gateway: CcxtGateway, venue: FakeBinanceVenue
) -> None:
    gateway.instrument("BTC-USDT")  # markets loaded before the clocks part
    venue.clock_offset_ms = 60_000

    with pytest.raises(VenueUnavailable, match="recvWindow"):
        gateway.check()
    assert gateway.check().cash == Decimal("100000")


# --- configuration, secrets, packaging ----------------------------------------------------


def test_paper_mode_uses_the_sandbox_and_live_the_exchange() -> None:
    paper = CcxtGateway(VenueCredentials(KEY, SECRET, mode=VenueMode.PAPER, exchange="binance"))
    live = CcxtGateway(VenueCredentials(KEY, SECRET, mode=VenueMode.LIVE, exchange="binance"))

    assert paper._exchange.urls["api"]["private"].startswith("https://testnet.binance.vision/")
    assert live._exchange.urls["api"]["private"].startswith("https://api.binance.com/")
    assert paper._exchange.enableRateLimit is False


def test_an_unknown_exchange_is_refused() -> None:
    with pytest.raises(VenueError, match="no exchange"):
        CcxtGateway(VenueCredentials(KEY, SECRET, exchange="nosuchexchange"))


def test_credentials_never_reach_logs_or_reprs(
    venue: FakeBinanceVenue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = gateway_for(venue)
    gateway.submit(order(), BTC)
    venue.revoke(KEY)
    with pytest.raises(VenueAuthError) as raised:
        gateway.check()

    for text in (caplog.text, repr(gateway), str(raised.value)):
        assert SECRET not in text
        assert KEY not in text


def test_the_paper_path_imports_no_ccxt() -> None:
    probe = (
        "import sys\n"
        "import redfire_core, redfire_core.venues, redfire_core.gateways\n"
        "import redfire_orders.handler\n"
        "print(sorted(m for m in sys.modules if m == 'ccxt' or m.startswith('ccxt.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "[]"

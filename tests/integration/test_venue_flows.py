"""Accounts routed to Alpaca and to Binance (ccxt) end to end on moto: the API's order,
the decision hop, the venue intake with the real gateways over HTTP against the fake
venues on 127.0.0.1, credentials from Secrets Manager; then the books balance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.adapters.venue_secrets import VenueSecrets
from redfire_core.domain.instruments import Instrument
from redfire_core.domain.orders import OrderStatus
from redfire_core.services.venue_intake import venue_gateway_for
from redfire_core.venues import VenueCredentials
from tests.integration.test_order_flow import place
from tests.integration.test_venue_orders import route_to_venue
from tests.support.books import assert_books
from tests.support.pipeline import Pipeline, VenueDesk

pytest.importorskip("alpaca")
from redfire_venue_alpaca.gateway import AlpacaGateway
from tests.fakes.alpaca_venue import FakeAlpacaVenue


@pytest.fixture
def alpaca() -> Iterator[FakeAlpacaVenue]:
    with FakeAlpacaVenue() as fake:
        yield fake


def test_an_alpaca_order_fills_over_polls_through_the_real_gateway(
    seeded: TradingStore, pipeline: Pipeline, alpaca: FakeAlpacaVenue
) -> None:
    # Given the demo account routed to Alpaca, its key in Secrets Manager
    now = datetime.now(UTC)
    DynamoDbMarketDataStore().advance_latest("AAPL", Decimal("190.00"), now)
    route_to_venue(seeded)
    secrets = VenueSecrets()
    credentials = VenueCredentials(alpaca.key_id, alpaca.secret, base_url=alpaca.base_url)
    secrets.put("demo", "alpaca", credentials)
    gateway = venue_gateway_for("demo", AlpacaGateway, secrets)
    order = place(
        {
            "symbol": "AAPL",
            "side": "buy",
            "type": "limit",
            "quantity": "10",
            "limit_price": "190.25",
            "time_in_force": "gtc",
        }
    )
    alpaca.script(order["id"], [("3", "190.00"), ("7", "190.10")], when="poll")

    # When the decision hop and the venue function run
    VenueDesk(pipeline, gateway, now).run()

    # Then Alpaca holds one order, and RedFire has its two executions once each
    assert alpaca.count("POST", "/v2/orders") == 1
    filled = seeded.get_order("demo", order["id"])
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.filled_notional == Decimal("3") * Decimal("190.00") + Decimal(7) * Decimal(
        "190.10"
    )
    assert seeded.get_position("demo", "AAPL").quantity == Decimal(10)
    assert_books(seeded, "demo")


def test_a_binance_order_fills_through_the_real_ccxt_gateway(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    pytest.importorskip("ccxt")
    from redfire_venue_ccxt.gateway import CcxtGateway
    from tests.fakes.binance_venue import FakeBinanceVenue

    now = datetime.now(UTC)
    seeded.put_instrument(
        Instrument(
            "BTC-USDT",
            "crypto",
            "USD",
            Decimal("0.01"),
            Decimal("0.00001"),
            Decimal("0.00001"),
            2,
            calendar="24/7",
        )
    )
    DynamoDbMarketDataStore().advance_latest("BTC-USDT", Decimal("50000.00"), now)
    before = seeded.get_account("demo")
    assert before is not None
    seeded.save_account(
        before,
        replace(
            before,
            gateway="ccxt:binance",
            gateway_status="connected",
            version=before.version + 1,
        ),
    )
    with FakeBinanceVenue() as binance:
        binance.add_account("binance-key", "binance-secret", {"USDT": "100000"})
        secrets = VenueSecrets()
        secrets.put(
            "demo",
            "ccxt:binance",
            VenueCredentials(
                "binance-key", "binance-secret", exchange="binance", base_url=binance.url
            ),
        )
        gateway = venue_gateway_for("demo", CcxtGateway, secrets)
        order = place(
            {
                "symbol": "BTC-USDT",
                "side": "buy",
                "type": "limit",
                "quantity": "0.01",
                "limit_price": "49000.00",
                "time_in_force": "gtc",
            }
        )
        desk = VenueDesk(pipeline, gateway, now)
        while desk.step() and not binance_has(binance, order["id"]):
            pass
        binance.fill(order["id"], "0.004", "49000.00")
        desk.step()
        binance.fill(order["id"], "0.006", "48990.00")
        desk.run()

    filled = seeded.get_order("demo", order["id"])
    assert filled is not None and filled.status is OrderStatus.FILLED, filled
    assert seeded.get_position("demo", "BTC-USDT").quantity == Decimal("0.01")
    assert len(seeded.list_trades("demo").items) == 2
    assert_books(seeded, "demo")


def binance_has(binance: object, client_order_id: str) -> bool:
    return getattr(binance, "_latest")(client_order_id) is not None  # noqa: B009

"""The Gateway port: the built-in paper gateway and plug-ins from entry points."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import EntryPoint
from unittest.mock import patch

import pytest

from redfire_core import gateways
from redfire_core.calendars import calendar_named
from redfire_core.domain.bars import Bar
from redfire_core.domain.calendars import day_order_end
from redfire_core.domain.instruments import DEMO_INSTRUMENTS
from redfire_core.domain.orders import ExecutionModel, Order, OrderStatus, OrderType, TimeInForce
from redfire_core.gateways import PaperGateway, gateway_named
from tests.unit.factories import an_order


@pytest.fixture(autouse=True)
def fresh_registry() -> None:
    gateway_named.cache_clear()


def test_the_paper_gateway_is_the_default_and_needs_no_registration() -> None:
    with patch.object(gateways, "entry_points", return_value=[]):
        assert isinstance(gateway_named(), PaperGateway)


def test_a_broker_gateway_is_loaded_from_its_entry_point() -> None:
    plugin = EntryPoint("broker", "redfire_core.gateways:PaperGateway", gateways.ENTRY_POINT_GROUP)
    with patch.object(gateways, "entry_points", return_value=[plugin]):
        assert isinstance(gateway_named("broker"), PaperGateway)


def test_an_unknown_gateway_name_is_refused() -> None:
    with patch.object(gateways, "entry_points", return_value=[]), pytest.raises(LookupError):
        gateway_named("nope")


# --- paper fills only while the instrument's exchange is in session -----------------------

SPY = replace(
    next(i for i in DEMO_INSTRUMENTS if i.symbol == "AAPL"), symbol="SPY", calendar="XNYS"
)
FREE = ExecutionModel()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def accepted(
    accepted_at: datetime, *, tif: TimeInForce = TimeInForce.DAY, type: OrderType = OrderType.MARKET
) -> Order:
    calendar = calendar_named("XNYS")
    order = an_order(symbol="SPY", type=type, limit_price=None, time_in_force=tif)
    expires = day_order_end(calendar, accepted_at) if tif is TimeInForce.DAY else None
    return replace(order, status=OrderStatus.ACCEPTED, accepted_at=accepted_at, expires_at=expires)


def a_bar(start: datetime, minutes: int = 1, price: str = "100") -> Bar:
    p = Decimal(price)
    return Bar(
        "SPY", "1m", start, p, p, p, p, Decimal(1000), until=start + timedelta(minutes=minutes)
    )


def test_a_market_order_accepted_in_session_fills_at_once() -> None:
    decision = PaperGateway().on_accept(accepted(at("2026-12-07 15:00")), Decimal(100), FREE, SPY)
    assert decision.fills and decision.fill_price == Decimal(100)


def test_a_market_order_accepted_on_a_saturday_rests_until_mondays_open() -> None:
    # Given a day market order accepted on a Saturday (XNYS closed)
    order = accepted(at("2026-12-05 10:00"))
    gateway = PaperGateway()

    # Then it does not fill at once, nor on a weekend bar, nor on Monday's pre-market bar
    assert gateway.on_accept(order, Decimal(100), FREE, SPY).is_nothing
    assert gateway.on_bar(order, a_bar(at("2026-12-05 15:00")), FREE, SPY).is_nothing
    assert gateway.on_bar(order, a_bar(at("2026-12-07 14:00")), FREE, SPY).is_nothing

    # And fills on the first bar of Monday's session, at its open
    first = gateway.on_bar(order, a_bar(at("2026-12-07 14:30"), price="101"), FREE, SPY)
    assert first.fills and first.fill_price == Decimal(101)
    # (a day order placed while closed lives until the next session's close)
    assert order.expires_at == at("2026-12-07 21:00")


def test_a_gtc_order_accepted_after_the_close_rests_too() -> None:
    order = accepted(at("2026-12-07 21:00"), tif=TimeInForce.GTC)
    assert PaperGateway().on_accept(order, Decimal(100), FREE, SPY).is_nothing
    assert PaperGateway().on_bar(order, a_bar(at("2026-12-08 14:30")), FREE, SPY).fills


def test_an_ioc_order_while_closed_is_canceled() -> None:
    order = accepted(at("2026-12-25 16:00"), tif=TimeInForce.IOC)  # Christmas
    decision = PaperGateway().on_accept(order, Decimal(100), FREE, SPY)
    assert decision.close is OrderStatus.CANCELED and not decision.fills


def test_a_day_order_still_expires_on_a_bar_after_the_close() -> None:
    # Given a day order accepted on an early close (13:00 New York, 18:00 UTC)
    order = accepted(at("2026-11-27 17:59"), type=OrderType.MARKET)
    decision = PaperGateway().on_bar(order, a_bar(at("2026-11-27 18:30")), FREE, SPY)
    assert decision.close is OrderStatus.EXPIRED


def test_a_24_7_instrument_fills_at_any_hour() -> None:
    btc = next(i for i in DEMO_INSTRUMENTS if i.symbol == "BTC-USD")
    order = replace(accepted(at("2026-12-05 03:00")), symbol="BTC-USD", quantity=Decimal(1))
    assert PaperGateway().on_accept(order, Decimal(100), FREE, btc).fills

"""An order's whole path inside moto: API -> outbox -> relay -> bus -> risk -> orders."""

from __future__ import annotations

import json
from decimal import Decimal

from redfire_api.handler import handler as api
from redfire_core.adapters.trading_store import TradingStore
from tests.integration.conftest import token_for
from tests.support.events import LambdaContext, http_event
from tests.support.pipeline import Pipeline


def place(body: dict[str, str]) -> dict[str, str]:
    response = api(http_event("POST", "/v1/orders", body=body, token=token_for()), LambdaContext())
    assert response["statusCode"] == 201, response["body"]
    return json.loads(response["body"])


def test_a_market_buy_is_accepted_by_risk_and_filled_at_the_latest_price(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    order = place(
        {
            "symbol": "GOOG",
            "side": "buy",
            "type": "market",
            "quantity": "10",
            "time_in_force": "day",
        }
    )
    pipeline.run_until_quiet()
    filled = seeded.get_order("demo", order["id"])
    assert filled is not None and filled.status == "filled"
    assert filled.filled_quantity == Decimal("10")
    assert filled.average_fill_price == Decimal("100.00")
    position = seeded.get_position("demo", "GOOG")
    assert (position.quantity, position.average_cost) == (Decimal("10"), Decimal("100.00"))
    account = seeded.get_account("demo")
    assert account is not None and account.cash == Decimal("99000.00")
    assert [t.quantity for t in seeded.list_trades("demo").items] == [Decimal("10")]
    assert pipeline.failures == []


def test_published_outbox_rows_are_deleted(seeded: TradingStore, pipeline: Pipeline) -> None:
    place({"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "1"})
    pipeline.run_until_quiet()
    from redfire_core.adapters import models

    assert list(models.OutboxItem.query("demo", models.OutboxItem.sk.startswith("OUTBOX#"))) == []


def test_an_order_without_a_fresh_price_is_denied_with_a_risk_code(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    order = place({"symbol": "AAPL", "side": "buy", "type": "market", "quantity": "1"})
    pipeline.run_until_quiet()
    denied = seeded.get_order("demo", order["id"])
    assert denied is not None and denied.status == "denied"
    assert denied.reject_reason is not None and denied.reject_reason["code"] == "RISK_STALE_PRICE"


def test_a_limit_order_rests_until_a_bar_trades_through_it(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    from datetime import UTC, datetime, timedelta

    from redfire_core.adapters.event_bus import EventBridgePublisher
    from redfire_core.adapters.market_data import Bar, DynamoDbMarketDataStore
    from redfire_core.services.ingesting import ingest_bars

    order = place(
        {
            "symbol": "GOOG",
            "side": "buy",
            "type": "limit",
            "quantity": "5",
            "limit_price": "99.00",
            "time_in_force": "gtc",
        }
    )
    pipeline.run_until_quiet()
    resting = seeded.get_order("demo", order["id"])
    assert resting is not None and resting.status == "accepted"

    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    bar = Bar(
        "GOOG",
        "1m",
        start,
        Decimal("99.50"),
        Decimal("99.80"),
        Decimal("98.70"),
        Decimal("98.90"),
        Decimal("1000"),
    )
    ingest_bars(DynamoDbMarketDataStore(), EventBridgePublisher(), [bar])
    pipeline.run_until_quiet()
    filled = seeded.get_order("demo", order["id"])
    assert filled is not None and filled.status == "filled"
    assert filled.average_fill_price == Decimal("99.00")

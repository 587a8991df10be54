"""Order classes and notional orders through the real path in moto: the API stores a
group in one transaction, the decision hop and the gateway's fill transactions activate,
size and cancel its legs with the change that causes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from redfire_api.handler import handler as api
from redfire_core.adapters.event_bus import EventBridgePublisher
from redfire_core.adapters.market_data import Bar, DynamoDbMarketDataStore
from redfire_core.adapters.trading_store import TradingStore, events_of_image
from redfire_core.domain.matching import Decision
from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.events import Envelope, MarketDataUpdated
from redfire_core.services.execution import act, on_market_data
from redfire_core.services.ingesting import ingest_bars
from tests.integration.conftest import token_for
from tests.support.events import LambdaContext, http_event
from tests.support.pipeline import Pipeline

D = Decimal
BRACKET = {
    "symbol": "GOOG",
    "side": "buy",
    "type": "market",
    "quantity": "10",
    "time_in_force": "gtc",
    "order_class": "bracket",
    "take_profit": {"limit_price": "110.00"},
    "stop_loss": {"stop_price": "95.00"},
}


def post(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = api(http_event("POST", "/v1/orders", body=body, token=token_for()), LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def place(body: dict[str, Any]) -> dict[str, Any]:
    status, view = post(body)
    assert status == 201, view
    return view


def order(store: TradingStore, order_id: str) -> Order:
    found = store.get_order("demo", order_id)
    assert found is not None
    return found


def legs(store: TradingStore, parent: dict[str, Any]) -> list[Order]:
    return [order(store, leg["id"]) for leg in parent["legs"]]


_minutes = iter(range(1, 1000))


def bar(high: str, low: str, close: str | None = None, open_: str = "100.00") -> None:
    """Ingest a GOOG bar that starts after everything placed so far (opening at 100)."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=next(_minutes))
    close = close or low
    ingest_bars(
        DynamoDbMarketDataStore(),
        EventBridgePublisher(),
        [Bar("GOOG", "1m", start, D(open_), D(high), D(low), D(close), D("1000"))],
    )


def test_a_bracket_is_stored_with_its_legs_held(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given a bracket with a resting limit entry
    view = place({**BRACKET, "type": "limit", "limit_price": "99.00"})

    # Then the answer shows its two legs, held, and the store has them
    assert view["order_class"] == "bracket" and view["status"] == "submitted"
    assert [(leg["type"], leg["side"], leg["status"]) for leg in view["legs"]] == [
        ("limit", "sell", "held"),
        ("stop", "sell", "held"),
    ]
    assert {leg["parent_order_id"] for leg in view["legs"]} == {view["id"]}
    # ... and once the entry is accepted, its legs stay held (nothing has filled)
    pipeline.run_until_quiet()
    assert order(seeded, view["id"]).status is OrderStatus.ACCEPTED
    assert {leg.status for leg in legs(seeded, view)} == {OrderStatus.HELD}
    assert pipeline.failures == []


def test_the_entry_fill_activates_the_legs_in_its_transaction(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given a market bracket, filled by the decision hop
    view = place(BRACKET)
    pipeline.run_until_quiet()

    # Then the entry is filled and both legs are working for its quantity
    assert order(seeded, view["id"]).status is OrderStatus.FILLED
    take, stop = legs(seeded, view)
    assert (take.status, take.quantity) == (OrderStatus.ACCEPTED, D("10"))
    assert (stop.status, stop.quantity) == (OrderStatus.ACCEPTED, D("10"))
    # ... and GET shows them inside the parent
    got = api(http_event("GET", f"/v1/orders/{view['id']}", token=token_for()), LambdaContext())
    assert [leg["status"] for leg in json.loads(got["body"])["legs"]] == ["accepted"] * 2


def test_the_take_profit_fill_cancels_the_stop(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given an active bracket
    view = place(BRACKET)
    pipeline.run_until_quiet()

    # When a bar trades through the take-profit
    bar(high="111.00", low="100.00", close="110.50")
    pipeline.run_until_quiet()

    # Then the take-profit filled at its limit, the stop is canceled, the position is flat
    take, stop = legs(seeded, view)
    assert (take.status, take.average_fill_price) == (OrderStatus.FILLED, D("110.00"))
    assert stop.status is OrderStatus.CANCELED
    assert seeded.get_position("demo", "GOOG").quantity == 0
    assert pipeline.failures == []
    # ... and each leg reported its own moves as events, carried by the orders stream
    records = Pipeline(pipeline.declaration.stage)._stream_records("orders")
    moves = [
        (str(e.payload["order"]["id"]), e.type)
        for r in records
        for e in events_of_image(r["dynamodb"].get("NewImage", {}))
        if "order" in e.payload
    ]
    for leg, types in (
        (take.id, ["OrderAccepted", "OrderFilled"]),
        (stop.id, ["OrderAccepted", "OrderCanceled"]),
    ):
        assert [t for i, t in moves if i == leg and t != "OrderSubmitted"] == types


def test_the_stop_fill_cancels_the_take_profit(seeded: TradingStore, pipeline: Pipeline) -> None:
    view = place(BRACKET)
    pipeline.run_until_quiet()

    bar(high="100.00", low="94.00")
    pipeline.run_until_quiet()

    take, stop = legs(seeded, view)
    assert (stop.status, stop.average_fill_price) == (OrderStatus.FILLED, D("95.00"))
    assert take.status is OrderStatus.CANCELED
    assert seeded.get_position("demo", "GOOG").quantity == 0


def test_a_bar_through_both_exits_fills_the_stop(seeded: TradingStore, pipeline: Pipeline) -> None:
    view = place(BRACKET)
    pipeline.run_until_quiet()

    bar(high="112.00", low="94.00", close="100.00")
    pipeline.run_until_quiet()

    take, stop = legs(seeded, view)
    assert (stop.status, take.status) == (OrderStatus.FILLED, OrderStatus.CANCELED)


def test_canceling_the_parent_cancels_its_legs(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given a resting bracket entry
    view = place(
        {**BRACKET, "type": "limit", "limit_price": "90.00", "stop_loss": {"stop_price": "85.00"}}
    )
    pipeline.run_until_quiet()

    # When the client cancels the parent
    response = api(
        http_event("DELETE", f"/v1/orders/{view['id']}", token=token_for()), LambdaContext()
    )
    assert response["statusCode"] == 202
    pipeline.run_until_quiet()

    # Then the parent and both legs are canceled
    assert order(seeded, view["id"]).status is OrderStatus.CANCELED
    assert {leg.status for leg in legs(seeded, view)} == {OrderStatus.CANCELED}


def test_a_denied_entry_cancels_its_legs(seeded: TradingStore, pipeline: Pipeline) -> None:
    view = place({**BRACKET, "quantity": "100000"})  # far beyond the buying power
    pipeline.run_until_quiet()
    assert order(seeded, view["id"]).status is OrderStatus.DENIED
    assert {leg.status for leg in legs(seeded, view)} == {OrderStatus.CANCELED}


def test_a_partial_entry_fill_sizes_the_legs(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given a resting bracket entry
    view = place({**BRACKET, "type": "limit", "limit_price": "99.00"})
    pipeline.run_until_quiet()
    cause = Envelope.wrap(
        MarketDataUpdated.model_validate(_update()),
        account_id=None,
        correlation_id="c",
        occurred_at=datetime.now(UTC),
    )

    def fill(quantity: str) -> Any:
        return lambda o, a, i: Decision(D(quantity), D("99.00"))

    # When the gateway fills 4 of its 10
    act(seeded, "demo", view["id"], fill("4"), cause, datetime.now(UTC))

    # Then the legs are working for 4
    assert {(leg.status, leg.quantity) for leg in legs(seeded, view)} == {
        (OrderStatus.ACCEPTED, D("4"))
    }
    # ... and grow with the next fill
    act(seeded, "demo", view["id"], fill("6"), cause, datetime.now(UTC))
    assert {leg.quantity for leg in legs(seeded, view)} == {D("10")}


def test_a_redelivered_bar_changes_nothing(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given a bracket whose take-profit filled on a bar
    view = place(BRACKET)
    pipeline.run_until_quiet()
    update = _update(high="111.00", low="100.00")
    event = Envelope.wrap(
        MarketDataUpdated.model_validate(update),
        account_id=None,
        correlation_id="c",
        occurred_at=datetime.now(UTC),
    )
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert on_market_data(seeded, event, later) == 1
    before = [(o.status, o.version) for o in legs(seeded, view)]

    # When the same event arrives again
    assert on_market_data(seeded, event, later) == 0

    # Then the group is as it was
    assert [(o.status, o.version) for o in legs(seeded, view)] == before
    assert seeded.get_position("demo", "GOOG").quantity == 0


def test_an_oco_stop_fill_cancels_its_take_profit(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given a long position and an oco to exit it
    place({"symbol": "GOOG", "side": "buy", "type": "market", "quantity": "10"})
    pipeline.run_until_quiet()
    view = place(
        {
            "symbol": "GOOG",
            "side": "sell",
            "type": "limit",
            "quantity": "10",
            "time_in_force": "gtc",
            "order_class": "oco",
            "take_profit": {"limit_price": "110.00"},
            "stop_loss": {"stop_price": "95.00"},
        }
    )
    pipeline.run_until_quiet()
    (stop,) = legs(seeded, view)
    assert order(seeded, view["id"]).status is OrderStatus.ACCEPTED
    assert stop.status is OrderStatus.ACCEPTED  # activated with its parent's acceptance

    # When the stop is reached
    bar(high="100.00", low="94.00")
    pipeline.run_until_quiet()

    # Then it filled and the take-profit is canceled
    assert order(seeded, stop.id).status is OrderStatus.FILLED
    assert order(seeded, view["id"]).status is OrderStatus.CANCELED
    assert seeded.get_position("demo", "GOOG").quantity == 0


def test_a_notional_order_fills_on_the_lot_grid(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given BTC-USD (lot 0.0001) at 60,000
    DynamoDbMarketDataStore().advance_latest("BTC-USD", D("60000.00"), datetime.now(UTC))
    body = {"symbol": "BTC-USD", "side": "buy", "type": "market", "notional": "1000"}

    # When 1,000 USD of it is bought
    view = place(body)
    assert (view["quantity"], view["notional"]) == ("0", "1000")
    pipeline.run_until_quiet()

    # Then the fill sets the quantity: 1000 / 60000 floored to the lot
    filled = order(seeded, view["id"])
    assert (filled.status, filled.quantity) == (OrderStatus.FILLED, D("0.0166"))
    assert seeded.get_position("demo", "BTC-USD").quantity == D("0.0166")
    account = seeded.get_account("demo")
    assert account is not None and account.cash == D("100000") - D("0.0166") * D("60000")


def test_a_notional_below_the_minimum_is_canceled_with_a_reason(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    view = place({"symbol": "GOOG", "side": "buy", "type": "market", "notional": "50"})
    pipeline.run_until_quiet()
    canceled = order(seeded, view["id"])
    assert canceled.status is OrderStatus.CANCELED
    assert canceled.reject_reason is not None
    assert "minimum quantity" in canceled.reject_reason["message"]


def test_a_notional_beyond_the_buying_power_is_denied(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    view = place({"symbol": "GOOG", "side": "buy", "type": "market", "notional": "200000"})
    pipeline.run_until_quiet()
    denied = order(seeded, view["id"])
    assert denied.status is OrderStatus.DENIED
    assert denied.reject_reason is not None
    assert denied.reject_reason["code"] == "RISK_BUYING_POWER"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stop_loss": None}, "stop_loss"),
        ({"take_profit": {"limit_price": "90.00"}}, "stop_loss"),
        ({"order_class": None}, "take_profit"),
        ({"quantity": None, "notional": "100"}, "notional"),
    ],
)
def test_an_invalid_group_is_a_422_naming_the_field(
    seeded: TradingStore, changes: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**BRACKET, **changes}.items() if v is not None}
    status, problem = post(body)
    assert status == 422, problem
    assert field in json.dumps(problem)


def _update(high: str = "100.00", low: str = "100.00") -> dict[str, Any]:
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return {
        "symbol": "GOOG",
        "interval": "1m",
        "bar_count": 1,
        "first_start": start.isoformat(),
        "last_end": (start + timedelta(minutes=1)).isoformat(),
        "open": low,
        "high": high,
        "low": low,
        "close": high,
        "volume": "1000",
    }


def test_an_order_of_a_group_cannot_be_replaced(seeded: TradingStore, pipeline: Pipeline) -> None:
    # Given an active bracket
    view = place(BRACKET)
    pipeline.run_until_quiet()

    # When the client tries to move its take-profit by a replace
    take = view["legs"][0]["id"]
    response = api(
        http_event(
            "PATCH", f"/v1/orders/{take}", body={"limit_price": "120.00"}, token=token_for()
        ),
        LambdaContext(),
    )

    # Then it is refused and the leg works on unchanged
    assert response["statusCode"] == 409, response["body"]
    assert json.loads(response["body"])["code"] == "ORDER_NOT_REPLACEABLE"
    assert order(seeded, take).limit_price == D("110.00")


def test_a_group_on_a_venue_account_is_denied_and_its_legs_canceled(
    seeded: TradingStore, pipeline: Pipeline
) -> None:
    # Given the account routed to a venue, which does not run RedFire's groups
    from tests.integration.test_venue_orders import route_to_venue

    route_to_venue(seeded)

    # When a bracket is placed
    view = place(BRACKET)
    pipeline.run_until_quiet()

    # Then it is denied (nothing reaches the venue) and its legs end with it
    denied = order(seeded, view["id"])
    assert denied.status is OrderStatus.DENIED and denied.reject_reason is not None
    assert denied.reject_reason["code"] == "ORDER_PAPER_ONLY"
    assert {leg.status for leg in legs(seeded, view)} == {OrderStatus.CANCELED}

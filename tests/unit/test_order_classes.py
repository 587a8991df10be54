"""Order classes (bracket, OCO, OTO) and notional orders: the pure rules of
``redfire_core.domain.order_classes`` and the notional sizing of ``matching``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from redfire_core.domain.errors import DomainError
from redfire_core.domain.instruments import DEMO_INSTRUMENTS
from redfire_core.domain.matching import PriceBar, on_accept, on_bar
from redfire_core.domain.order_classes import GroupRequest, held_legs, leg_matching_rank, settle
from redfire_core.domain.orders import (
    ExecutionModel,
    Order,
    OrderClass,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    notional_quantity,
)

AAPL = next(i for i in DEMO_INSTRUMENTS if i.symbol == "AAPL")  # lot 1
BTC = next(i for i in DEMO_INSTRUMENTS if i.symbol == "BTC-USD")  # lot 0.0001
T0 = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
FREE = ExecutionModel()
D = Decimal


def bracket_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": "AAPL",
        "side": "buy",
        "type": "limit",
        "limit_price": "100",
        "quantity": "10",
        "time_in_force": "gtc",
        "order_class": "bracket",
        "take_profit": {"limit_price": "110"},
        "stop_loss": {"stop_price": "95"},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def group(body: dict[str, Any]) -> tuple[Order, list[Order]]:
    """The parent accepted and its legs held, as placement and the decision leave them."""
    request = GroupRequest.parse(body, AAPL)
    ids = [(f"leg{i}", leg) for i, leg in enumerate(request.legs)]
    parent = replace(
        Order.submit("parent", "acct", request.parent, T0),
        order_class=request.order_class,
        leg_ids=tuple(i for i, _ in ids),
    )
    return parent.accept(T0), held_legs(parent, ids, T0)


def by_id(orders: list[Order]) -> dict[str, Order]:
    return {o.id: o for o in orders}


# --- parsing ------------------------------------------------------------------------


def test_a_bracket_has_a_take_profit_limit_and_a_stop_loss_on_the_exit_side() -> None:
    request = GroupRequest.parse(bracket_body(), AAPL)
    take, stop = request.legs
    assert request.order_class is OrderClass.BRACKET
    assert (take.side, take.type, take.limit_price) == (Side.SELL, OrderType.LIMIT, D("110"))
    assert (stop.side, stop.type, stop.stop_price) == (Side.SELL, OrderType.STOP, D("95"))
    assert take.quantity == stop.quantity == D("10")
    assert take.client_order_id is None


def test_a_stop_loss_with_a_limit_price_is_a_stop_limit_leg() -> None:
    request = GroupRequest.parse(
        bracket_body(stop_loss={"stop_price": "95", "limit_price": "94.5"}), AAPL
    )
    assert request.legs[1].type is OrderType.STOP_LIMIT


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stop_loss": None}, "stop_loss"),
        ({"take_profit": {"limit_price": "90"}}, "stop_loss"),  # below the stop
        ({"take_profit": {"limit_price": "99"}}, "take_profit"),  # below the entry
        ({"stop_loss": {"stop_price": "101"}}, "stop_loss"),  # above the entry
        ({"stop_loss": {"stop_price": "95", "limit_price": "96"}}, "stop_loss"),
        ({"type": "stop", "stop_price": "100", "limit_price": None}, "type"),
        ({"time_in_force": "ioc"}, "time_in_force"),
        ({"order_class": "ladder"}, "order_class"),
        ({"take_profit": {"limit_price": "110", "stop_price": "1"}}, "take_profit"),
    ],
)
def test_an_invalid_bracket_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(DomainError) as raised:
        GroupRequest.parse(bracket_body(**changes), AAPL)
    assert raised.value.field == field


def test_a_short_bracket_wants_the_take_profit_below_the_stop() -> None:
    body = bracket_body(
        side="sell", take_profit={"limit_price": "90"}, stop_loss={"stop_price": "105"}
    )
    take, stop = GroupRequest.parse(body, AAPL).legs
    assert take.side is stop.side is Side.BUY
    with pytest.raises(DomainError):
        GroupRequest.parse(bracket_body(side="sell"), AAPL)


def test_an_oto_takes_exactly_one_exit() -> None:
    request = GroupRequest.parse(bracket_body(order_class="oto", take_profit=None), AAPL)
    assert [leg.type for leg in request.legs] == [OrderType.STOP]
    with pytest.raises(DomainError):
        GroupRequest.parse(bracket_body(order_class="oto"), AAPL)


def test_an_oco_is_a_take_profit_limit_parent_with_a_stop_leg() -> None:
    body = bracket_body(order_class="oco", side="sell", limit_price=None)
    request = GroupRequest.parse(body, AAPL)
    assert (request.parent.type, request.parent.limit_price) == (OrderType.LIMIT, D("110"))
    assert request.parent.side is Side.SELL
    assert [(leg.side, leg.type) for leg in request.legs] == [(Side.SELL, OrderType.STOP)]


def test_take_profit_without_an_order_class_is_refused() -> None:
    with pytest.raises(DomainError) as raised:
        GroupRequest.parse(bracket_body(order_class=None), AAPL)
    assert raised.value.field == "take_profit"


# --- the group rule -------------------------------------------------------------------


def test_legs_are_held_until_the_entry_fills() -> None:
    parent, legs = group(bracket_body())
    assert all(leg.status is OrderStatus.HELD for leg in legs)
    assert all(leg.parent_order_id == "parent" for leg in legs)
    assert settle(parent, legs, LATER) == []


def test_a_partial_entry_fill_activates_the_legs_for_the_filled_quantity() -> None:
    parent, legs = group(bracket_body())
    filled = parent.fill(D("4"), D("100"), LATER)
    changed = by_id(settle(filled, legs, LATER))
    assert {o.status for o in changed.values()} == {OrderStatus.ACCEPTED}
    assert {o.quantity for o in changed.values()} == {D("4")}
    assert all(o.accepted_at == LATER for o in changed.values())
    # the rest of the entry fills: the active legs grow with it
    more = filled.fill(D("6"), D("100"), LATER)
    grown = settle(more, list(changed.values()), LATER)
    assert {o.quantity for o in grown} == {D("10")}
    assert {o.status for o in grown} == {OrderStatus.ACCEPTED}


def test_settling_a_settled_group_changes_nothing() -> None:
    parent, legs = group(bracket_body())
    filled = parent.fill(D("10"), D("100"), LATER)
    active = settle(filled, legs, LATER)
    assert settle(filled, active, LATER) == []


def test_the_take_profit_filling_cancels_the_stop() -> None:
    parent, legs = group(bracket_body())
    filled = parent.fill(D("10"), D("100"), LATER)
    take, stop = settle(filled, legs, LATER)
    take = take.fill(D("10"), D("110"), LATER)
    (canceled,) = settle(filled, [take, stop], LATER)
    assert canceled.id == stop.id and canceled.status is OrderStatus.CANCELED


def test_a_partial_exit_fill_shrinks_the_other_exit() -> None:
    parent, legs = group(bracket_body())
    filled = parent.fill(D("10"), D("100"), LATER)
    take, stop = settle(filled, legs, LATER)
    take = take.fill(D("3"), D("110"), LATER)
    (shrunk,) = settle(filled, [take, stop], LATER)
    assert shrunk.id == stop.id and shrunk.quantity == D("7")


def test_canceling_an_unfilled_entry_cancels_its_held_legs() -> None:
    parent, legs = group(bracket_body())
    canceled = parent.close(OrderStatus.CANCELED, LATER)
    assert {o.status for o in settle(canceled, legs, LATER)} == {OrderStatus.CANCELED}


def test_a_denied_entry_cancels_its_held_legs() -> None:
    request = GroupRequest.parse(bracket_body(), AAPL)
    parent = replace(
        Order.submit("parent", "acct", request.parent, T0),
        order_class=OrderClass.BRACKET,
        leg_ids=("leg0", "leg1"),
    )
    legs = held_legs(parent, [("leg0", request.legs[0]), ("leg1", request.legs[1])], T0)
    denied = parent.deny([{"code": "RISK_BUYING_POWER", "message": "no"}], LATER)
    assert {o.status for o in settle(denied, legs, LATER)} == {OrderStatus.CANCELED}


def test_canceling_a_bracket_exit_cancels_the_other() -> None:
    parent, legs = group(bracket_body())
    filled = parent.fill(D("10"), D("100"), LATER)
    take, stop = settle(filled, legs, LATER)
    gone = take.close(OrderStatus.CANCELED, LATER)
    (canceled,) = settle(filled, [gone, stop], LATER)
    assert canceled.id == stop.id and canceled.status is OrderStatus.CANCELED


def test_an_oco_stop_activates_when_the_parent_is_accepted_and_a_fill_cancels_it() -> None:
    parent, legs = group(bracket_body(order_class="oco", side="sell", limit_price=None))
    (stop,) = settle(parent, legs, LATER)
    assert stop.status is OrderStatus.ACCEPTED and stop.quantity == D("10")
    filled = parent.fill(D("10"), D("110"), LATER)
    (canceled,) = settle(filled, [stop], LATER)
    assert canceled.status is OrderStatus.CANCELED


def test_an_oco_stop_fill_cancels_the_take_profit_parent() -> None:
    parent, legs = group(bracket_body(order_class="oco", side="sell", limit_price=None))
    (stop,) = settle(parent, legs, LATER)
    stop = stop.fill(D("10"), D("95"), LATER)
    (canceled,) = settle(parent, [stop], LATER)
    assert canceled.id == parent.id and canceled.status is OrderStatus.CANCELED


def test_a_groups_stop_acts_before_its_take_profit_on_one_bar() -> None:
    parent, legs = group(bracket_body())
    take, stop = legs
    ranked = sorted([take, parent, stop], key=leg_matching_rank)
    assert ranked[0] is stop


# --- notional orders --------------------------------------------------------------------


def notional_order(notional: str, instrument_symbol: str = "AAPL") -> Order:
    body = {
        "symbol": instrument_symbol,
        "side": "buy",
        "type": "market",
        "notional": notional,
        "time_in_force": "day",
    }
    instrument = AAPL if instrument_symbol == "AAPL" else BTC
    return Order.submit("n1", "acct", OrderRequest.parse(body, instrument), T0).accept(T0)


def test_a_notional_order_has_no_quantity_until_it_fills() -> None:
    order = notional_order("1000")
    assert order.quantity == 0 and order.notional == D("1000")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "limit", "limit_price": "10"}, "notional"),
        ({"time_in_force": "gtc"}, "notional"),
        ({"quantity": "1"}, "notional"),
    ],
)
def test_a_notional_order_is_market_day_and_has_no_quantity(
    body: dict[str, Any], field: str
) -> None:
    base = {"symbol": "AAPL", "side": "buy", "type": "market", "notional": "100"}
    with pytest.raises(DomainError) as raised:
        OrderRequest.parse({**base, "time_in_force": "day", **body}, AAPL)
    assert raised.value.field == field


def test_notional_fills_the_whole_lots_it_buys() -> None:
    decision = on_accept(notional_order("1000"), D("150"), FREE, AAPL)
    assert (decision.fill_quantity, decision.fill_price) == (D("6"), D("150"))
    filled = notional_order("1000").fill(decision.fill_quantity, D("150"), LATER)
    assert filled.status is OrderStatus.FILLED and filled.quantity == D("6")


def test_notional_fills_a_fraction_where_the_lot_allows() -> None:
    assert notional_quantity(D("1000"), D("60000"), BTC) == D("0.0166")
    decision = on_accept(notional_order("1000", "BTC-USD"), D("60000"), FREE, BTC)
    assert decision.fill_quantity == D("0.0166")


def test_notional_below_the_minimum_quantity_is_canceled_with_a_reason() -> None:
    decision = on_accept(notional_order("100"), D("150"), FREE, AAPL)
    assert decision.close is OrderStatus.CANCELED and "minimum quantity" in str(decision.reason)


def test_a_resting_notional_order_fills_on_the_next_bar_by_its_price() -> None:
    order = notional_order("1000")
    assert on_accept(order, None, FREE, AAPL).is_nothing
    bar = PriceBar("AAPL", "1m", T0 + timedelta(minutes=1), *(D("200"),) * 4, D("1000"))
    decision = on_bar(order, bar, FREE, AAPL)
    assert (decision.fill_quantity, decision.fill_price) == (D("5"), D("200"))

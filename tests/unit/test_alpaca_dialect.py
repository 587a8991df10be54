"""Alpaca's dialect: every status, every id and every error code has its Alpaca form."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from alpaca.trading.models import TradeUpdate

from redfire_core.alpaca_dialect import (
    ERRORS,
    FORBIDDEN,
    NOT_UNIQUE,
    STATUS,
    alpaca_error,
    order_from_view,
    trade_update,
    trade_update_event,
    ulid_of,
    uuid_of,
)
from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import OrderStatus
from redfire_core.events import new_id

ROOT = Path(__file__).parents[2]
PRODUCT = [
    *ROOT.glob("layers/redfire_core/redfire_core/**/*.py"),
    *ROOT.glob("functions/*/*/**/*.py"),
]
# Risk codes that are about setting limits (PUT /v1/risk/limits), not about an order.
LIMIT_SETTING = {"RISK_LIMIT_INVALID", "RISK_LIMIT_ABOVE_CAP"}


def codes_in_source(pattern: str) -> set[str]:
    found: set[str] = set()
    for path in PRODUCT:
        found |= set(re.findall(pattern, path.read_text()))
    return found


def test_every_redfire_status_has_an_alpaca_status() -> None:
    alpaca_statuses = {
        "new",
        "partially_filled",
        "filled",
        "done_for_day",
        "canceled",
        "expired",
        "replaced",
        "pending_cancel",
        "pending_replace",
        "accepted",
        "pending_new",
        "accepted_for_bidding",
        "stopped",
        "rejected",
        "suspended",
        "calculated",
        "held",
    }  # alpaca.trading.enums.OrderStatus
    assert set(STATUS) == set(OrderStatus)
    assert set(STATUS.values()) <= alpaca_statuses
    assert (
        STATUS[OrderStatus.SUBMITTED] == "pending_new" and STATUS[OrderStatus.DENIED] == "rejected"
    )


def test_an_order_id_and_its_uuid_convert_both_ways() -> None:
    order_id = new_id()
    assert ulid_of(uuid_of(order_id)) == order_id
    with pytest.raises(DomainError) as raised:
        ulid_of("not-a-uuid")
    assert raised.value.code == "ORDER_NOT_FOUND"


def test_every_pre_trade_denial_is_alpacas_403() -> None:
    denials = codes_in_source(r'"(RISK_[A-Z_]+)"') - LIMIT_SETTING
    assert len(denials) > 15
    assert {code: alpaca_error(code, 422) for code in denials} == dict.fromkeys(denials, FORBIDDEN)


def test_every_error_code_maps_to_an_alpaca_status_and_8_digit_code() -> None:
    raised = codes_in_source(r'(?:DomainError|Problem)\(\s*(?:\d+,\s*)?"([A-Z][A-Z_]+)"')
    assert {"ORDER_NOT_FOUND", "ORDER_PRICE_TICK", "UNAUTHORIZED"} <= raised
    for code in raised:
        error = alpaca_error(code, 422)
        assert error.status in (400, 401, 403, 404, 422, 429), code
        # Alpaca's codes start with an HTTP status; "client_order_id must be unique" is the
        # one whose status (422) differs from its prefix (400), as Alpaca answers it.
        prefix = 400 if error == NOT_UNIQUE else error.status
        assert len(str(error.code)) == 8 and str(error.code).startswith(str(prefix)), code
    assert set(ERRORS) - raised - codes_in_source(r'"([A-Z][A-Z_]+)"') == set()


def test_fills_are_fill_or_partial_fill_by_the_order_after_them() -> None:
    assert trade_update_event("OrderFilled", "filled") == "fill"
    assert trade_update_event("OrderFilled", "partially_filled") == "partial_fill"
    assert trade_update_event("OrderAccepted", "accepted") == "new"
    assert trade_update_event("PositionChanged", "filled") is None


# --- trade_updates ----------------------------------------------------------------------


def _order_of(status: OrderStatus, filled: str = "0") -> Any:
    from decimal import Decimal

    from tests.unit.factories import an_order

    order = an_order(status=status, symbol="BTC-USD", quantity="2", limit_price="100.00")
    if filled != "0":
        order = replace(
            order, filled_quantity=Decimal(filled), filled_notional=Decimal(filled) * 100
        )
    return order


@pytest.mark.parametrize(
    ("status", "filled", "asset_class"),
    [
        (OrderStatus.ACCEPTED, "0", "crypto"),
        (OrderStatus.PARTIALLY_FILLED, "1", "us_equity"),
        (OrderStatus.CANCELED, "0", "crypto"),
    ],
)
def test_the_streams_order_is_the_v2_order_shape(
    status: OrderStatus, filled: str, asset_class: str
) -> None:
    from redfire_api.alpaca_shapes import order_shape
    from redfire_core.domain.instruments import DEMO_INSTRUMENTS
    from redfire_core.views import order_view

    order = _order_of(status, filled)
    instrument = next(i for i in DEMO_INSTRUMENTS if i.symbol == "BTC-USD")
    if asset_class != "crypto":
        instrument = replace(instrument, asset_class="equity")
    view = order_view(order).model_dump(mode="json")
    assert order_from_view(view, asset_class) == {**order_shape(order, instrument), "hwm": None}


def test_a_partial_fill_is_a_partial_fill_update_with_price_qty_and_position() -> None:
    from redfire_core.views import order_view

    order = _order_of(OrderStatus.PARTIALLY_FILLED, "1")
    payload = {
        "order": order_view(order).model_dump(mode="json"),
        "fill": {"trade_id": f"{order.id}-2", "price": "100", "quantity": "1"},
        "position_quantity": "1",
    }
    update = trade_update("OrderFilled", payload, "2026-12-07T15:00:00Z", "crypto")
    assert update is not None
    model = TradeUpdate(**update)
    assert (model.event, model.qty, model.price, model.position_qty) == ("partial_fill", 1, 100, 1)
    assert model.order.symbol == "BTC/USD" and model.execution_id is not None


def test_events_alpaca_has_not_have_no_update() -> None:
    assert trade_update("PositionChanged", {"order": {"status": "filled"}}, "", "crypto") is None


def test_replaced_carries_the_order_that_was_replaced() -> None:
    from redfire_core.views import order_view

    original = replace(_order_of(OrderStatus.REPLACED), replaced_by=new_id())
    replacement = replace(_order_of(OrderStatus.ACCEPTED), id=new_id(), replaces=original.id)
    payload = {
        "order": order_view(replacement).model_dump(mode="json"),
        "replaced": order_view(original).model_dump(mode="json"),
    }
    update = trade_update("OrderReplaced", payload, "2026-12-07T15:00:00Z", "us_equity")
    assert update is not None and update["event"] == "replaced"
    assert update["order"]["status"] == "replaced"
    assert update["order"]["replaced_by"] == uuid_of(str(original.replaced_by))

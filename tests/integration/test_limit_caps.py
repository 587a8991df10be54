"""Stage caps on risk limits and execution settings, and execution settings fixed on the
order at acceptance: an account's admin cannot drive its cash below what its margin allows."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.market_data import DynamoDbMarketDataStore
from redfire_core.adapters.risk_store import RiskStore
from redfire_core.adapters.trading_store import TradingStore
from redfire_core.config import get_settings
from redfire_core.domain.caps import DEFAULT_CAPS
from redfire_core.domain.instruments import DEMO_INSTRUMENTS
from redfire_core.domain.orders import Order
from redfire_core.domain.roles import Role
from redfire_core.events import Envelope, MarketDataUpdated, OrderAccepted, OrderSubmitted, iso
from redfire_core.services.accounts import open_account
from redfire_core.services.execution import on_market_data, on_order_accepted
from redfire_core.services.placing import place_order
from redfire_core.services.risk_review import review_order
from redfire_core.views import order_view
from tests.integration.conftest import call_api, token_for

PRICE = Decimal("100.00")
CAP = {key: Decimal(value) for key, value in DEFAULT_CAPS.items()}


def change_execution(changes: dict[str, str], account: str = "demo") -> tuple[int, Any]:
    status, _, body = call_api(
        "PATCH", "/v1/account", body=changes, token=token_for(account, Role.ADMIN)
    )
    return status, body


def put_limits(body: dict[str, Any], account: str = "demo") -> tuple[int, Any]:
    status, _, answer = call_api(
        "PUT", "/v1/risk/limits", body=body, token=token_for(account, Role.ADMIN)
    )
    return status, answer


def envelope(payload: Any, account: str) -> Envelope:
    return Envelope.wrap(
        payload, account_id=account, correlation_id="c", occurred_at=datetime.now(UTC)
    )


def submit_and_accept(store: TradingStore, account: str, body: dict[str, Any]) -> Order:
    """Place, review and let the gateway act on acceptance, as the pipeline would."""
    order = place_order(store, account, body, correlation_id="c", now=datetime.now(UTC)).order
    outcome = review_order(
        store, envelope(OrderSubmitted(order=order_view(order)), account), datetime.now(UTC)
    )
    reviewed = store.get_order(account, order.id)
    assert reviewed is not None
    if outcome == "accepted":
        on_order_accepted(
            store, envelope(OrderAccepted(order=order_view(reviewed)), account), datetime.now(UTC)
        )
    after = store.get_order(account, order.id)
    assert after is not None
    return after


def bar(store: TradingStore, volume: str, symbol: str = "GOOG") -> None:
    """A bar at ``PRICE`` that every open order has seen the whole of."""
    start = datetime.now(UTC)
    on_market_data(
        store,
        envelope(
            MarketDataUpdated(
                symbol=symbol,
                interval="1m",
                first_start=iso(start),
                last_end=iso(start + timedelta(minutes=1)),
                open=str(PRICE),
                high=str(PRICE),
                low=str(PRICE),
                close=str(PRICE),
                volume=volume,
                bar_count=1,
            ),
            "demo",
        ),
        start,
    )


# --- caps ---------------------------------------------------------------------------------


def test_an_admin_cannot_raise_a_risk_limit_above_its_stage_cap(seeded: TradingStore) -> None:
    # Given the stage caps max_order_notional and the GOOG price band
    body = {
        "account": {"max_order_notional": "9999999999999999", "max_order_qty": "100"},
        "symbols": {"GOOG": {"price_band_pct": "51"}},
    }

    # When an admin raises them above the caps
    status, problem = put_limits(body)

    # Then 422 names each field and its cap, and nothing is stored
    assert status == 422, problem
    assert problem["code"] == "REQUEST_INVALID"
    assert [(e["field"], e["code"], e["cap"]) for e in problem["errors"]] == [
        ("account.max_order_notional", "RISK_LIMIT_ABOVE_CAP", DEFAULT_CAPS["max_order_notional"]),
        ("symbols.GOOG.price_band_pct", "RISK_LIMIT_ABOVE_CAP", DEFAULT_CAPS["price_band_pct"]),
    ]
    assert "at most 10000000" in problem["errors"][0]["message"]
    status, limits = call_api("GET", "/v1/risk/limits", token=token_for("demo"))[::2]
    assert limits["account"] == {} and limits["symbols"] == {}


def test_an_admin_may_set_a_risk_limit_up_to_its_cap(seeded: TradingStore) -> None:
    status, limits = put_limits({"account": {"max_order_notional": "10000000"}})
    assert status == 200, limits
    assert limits["effective"]["max_order_notional"] == "10000000"
    assert limits["caps"]["max_order_notional"] == "10000000"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("commission_rate", "0.011"),
        ("commission_per_unit", "9999999999999999"),
        ("commission_minimum", "100.01"),
        ("slippage_bps", "101"),
    ],
)
def test_an_admin_cannot_set_an_execution_setting_above_its_stage_cap(
    seeded: TradingStore, setting: str, value: str
) -> None:
    status, problem = change_execution({setting: value})
    assert status == 422, problem
    assert problem["errors"] == [
        {
            "field": setting,
            "code": "EXECUTION_SETTING_ABOVE_CAP",
            "message": f"{setting} may be at most {DEFAULT_CAPS[setting]} (the stage cap)",
            "cap": DEFAULT_CAPS[setting],
        }
    ]
    account = seeded.get_account("demo")
    assert account is not None and getattr(account.execution, setting) == 0


def test_an_admin_may_set_execution_settings_up_to_their_caps(seeded: TradingStore) -> None:
    at_caps = {key: DEFAULT_CAPS[key] for key in ("commission_rate", "slippage_bps")}
    status, view = change_execution(at_caps)
    assert status == 200, view
    assert view["execution"]["slippage_bps"] == "100"


def test_the_caps_are_the_stages_from_its_environment(
    seeded: TradingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stage whose operator capped slippage at 20 bps (cdk.json -> the function's env)
    monkeypatch.setenv("REDFIRE_LIMIT_CAPS", '{"slippage_bps": "20"}')
    get_settings.cache_clear()
    try:
        # Then 21 is refused naming 20, and 20 is accepted
        status, problem = change_execution({"slippage_bps": "21"})
        assert status == 422 and problem["errors"][0]["cap"] == "20"
        assert change_execution({"slippage_bps": "20"})[0] == 200
    finally:
        monkeypatch.delenv("REDFIRE_LIMIT_CAPS")
        get_settings.cache_clear()


def test_an_override_stored_above_a_lowered_cap_applies_only_up_to_the_cap(
    seeded: TradingStore,
) -> None:
    # Given an override stored before the cap existed (or was lowered)
    risk = RiskStore()
    before = risk.get_overrides("demo")
    risk.put_overrides(
        "demo",
        before,
        replace(before, account={"max_order_qty": "99999999999"}, version=before.version + 1),
    )

    # Then what applies is the cap, and an order above the cap is denied by it
    limits = call_api("GET", "/v1/risk/limits", token=token_for("demo"))[2]
    assert limits["effective"]["max_order_qty"] == DEFAULT_CAPS["max_order_qty"]
    order = submit_and_accept(
        seeded,
        "demo",
        {
            "symbol": "GOOG",
            "side": "buy",
            "type": "limit",
            "quantity": "10000001",
            "limit_price": "1.00",
            "time_in_force": "gtc",
        },
    )
    assert order.status.value == "denied"
    assert order.reject_reason is not None
    assert order.reject_reason["code"] == "RISK_MAX_ORDER_QTY"
    assert order.reject_reason["limit"] == DEFAULT_CAPS["max_order_qty"]


# --- execution settings fixed at acceptance -----------------------------------------------


def test_settings_changed_after_acceptance_do_not_cost_its_fill(seeded: TradingStore) -> None:
    # Given a resting buy of 100 accepted without commission (it holds 10,000.00)
    order = submit_and_accept(
        seeded,
        "demo",
        {
            "symbol": "GOOG",
            "side": "buy",
            "type": "limit",
            "quantity": "100",
            "limit_price": "100.00",
            "time_in_force": "gtc",
        },
    )
    assert order.status.value == "accepted" and order.reserved == Decimal("10000.00")

    # When the admin then raises every cost to its cap and a bar fills the order
    costs = {k: DEFAULT_CAPS[k] for k in ("commission_per_unit", "commission_minimum")}
    assert change_execution(costs)[0] == 200
    bar(seeded, "1000")

    # Then the fill pays what the order was accepted with: no commission
    filled = seeded.get_order("demo", order.id)
    account = seeded.get_account("demo")
    assert filled is not None and account is not None
    assert filled.status.value == "filled" and filled.commission == 0
    assert account.cash == Decimal("90000.00") and account.reserved == 0


def test_an_order_accepted_before_settings_were_fixed_pays_the_accounts_within_the_caps(
    seeded: TradingStore,
) -> None:
    # Given a resting order accepted before orders carried their settings
    order = submit_and_accept(
        seeded,
        "demo",
        {
            "symbol": "GOOG",
            "side": "buy",
            "type": "limit",
            "quantity": "10",
            "limit_price": "100.00",
            "time_in_force": "gtc",
        },
    )
    legacy = replace(order, execution=None, version=order.version + 1)
    seeded.write(orders_changed=[(order, legacy, None)])
    # ... and an account whose commission was set above today's cap back then
    account = seeded.get_account("demo")
    assert account is not None
    expensive = replace(account.execution, commission_per_unit=Decimal("1000"))
    seeded.save_account(account, replace(account, execution=expensive, version=account.version + 1))

    # When it fills
    bar(seeded, "1000")

    # Then it pays the account's settings cut down to the cap: 10 x 1 per unit
    filled = seeded.get_order("demo", order.id)
    assert filled is not None and filled.commission == Decimal("10.00000000")


# --- the property ---------------------------------------------------------------------------

AMOUNTS = {
    "commission_rate": ["0", "0.001", "0.01", "0.5", "9999999999999999"],
    "commission_per_unit": ["0", "0.5", "1", "2", "9999999999999999"],
    "commission_minimum": ["0", "1", "100", "101", "9999999999999999"],
    "slippage_bps": ["0", "10", "100", "101", "10000"],
    "max_volume_share": ["0", "0.1", "0.5", "1"],
}
LIMITS = {
    "price_band_pct": ["0", "1", "5", "50", "100"],
    "max_order_notional": ["1000", "1000000", "10000000", "10000001", "9999999999999999"],
    "max_order_qty": ["10", "1000000", "10000000", "9999999999999999"],
    "max_gross_exposure": ["1000", "100000000", "1000000000", "9999999999999999"],
}
PRICES = ["90.00", "97.00", "100.00", "103.00", "110.00", "150.00"]
# With 1,000 of cash at a price of 100, sizes around 10 spend all of it (where it matters).
OPENING_CASH = Decimal(1000)
QUANTITIES = ["1", "2", "3", "5", "8", "9", "10", "20"]


def _settings(options: dict[str, list[str]]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(
        {}, optional={key: st.sampled_from(values) for key, values in options.items()}
    ).filter(bool)


STEPS = st.one_of(
    st.tuples(st.just("execution"), _settings(AMOUNTS)),
    st.tuples(st.just("limits"), _settings(LIMITS)),
    st.tuples(
        st.just("order"),
        st.fixed_dictionaries(
            {
                "side": st.sampled_from(["buy", "sell"]),
                "type": st.sampled_from(["market", "limit", "stop"]),
                "quantity": st.sampled_from(QUANTITIES),
                "price": st.sampled_from(PRICES),
            }
        ),
    ),
    st.tuples(st.just("bar"), st.sampled_from(["1", "7", "10", "100000"])),
)
EXAMPLE_NUMBERS = itertools.count()
GOOG = next(i for i in DEMO_INSTRUMENTS if i.symbol == "GOOG")


def buying_power(store: TradingStore, account_id: str) -> Decimal:
    """What the account could still commit at the (unchanging) price, as risk computes it."""
    account = store.get_account(account_id)
    assert account is not None
    positions = store.list_positions(account_id)
    value = sum((p.quantity * PRICE for p in positions), Decimal(0))
    gross = sum((abs(p.quantity) * PRICE for p in positions), Decimal(0))
    return account.buying_power(account.cash + value, gross)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(margin=st.booleans(), steps=st.lists(STEPS, min_size=1, max_size=8))
def test_no_sequence_of_requests_takes_cash_below_what_the_margin_allows(
    seeded: TradingStore, margin: bool, steps: list[tuple[str, Any]]
) -> None:
    # Given a fresh account (cash, or margin at leverage 1) and an instrument of its own
    # (bars meet only this example's orders) whose price holds still
    number = next(EXAMPLE_NUMBERS)
    account_id, symbol = f"prop-{number}", f"PROP{number}"
    now = datetime.now(UTC)
    open_account(
        seeded,
        AuditLog(),
        account_id,
        actor="test",
        now=now,
        cash=OPENING_CASH,
        margin_enabled=margin,
    )
    seeded.put_instrument(replace(GOOG, symbol=symbol))
    DynamoDbMarketDataStore().advance_latest(symbol, PRICE, now)

    for kind, detail in steps:
        # When its admin changes settings and limits (any value; above a cap is 422) and
        # its trader submits orders that bars then fill
        if kind == "execution":
            status, body = change_execution(detail, account_id)
            above = any(Decimal(v) > CAP[k] for k, v in detail.items())
            assert status == (422 if above else 200), body
        elif kind == "limits":
            status, body = put_limits({"account": detail}, account_id)
            above = any(Decimal(v) > CAP[k] for k, v in detail.items())
            assert status == (422 if above else 200), body
        elif kind == "order":
            order: dict[str, Any] = {
                "symbol": symbol,
                "side": detail["side"],
                "type": detail["type"],
                "quantity": detail["quantity"],
                "time_in_force": "gtc",
            }
            if detail["type"] == "limit":
                order["limit_price"] = detail["price"]
            elif detail["type"] == "stop":
                order["stop_price"] = detail["price"]
            submit_and_accept(seeded, account_id, order)
        else:
            bar(seeded, detail, symbol)

        # Then the account never has less than nothing left to commit
        assert buying_power(seeded, account_id) >= 0, (kind, detail)

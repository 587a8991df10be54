"""What the risk function does with fills and prices: post-trade monitoring (daily loss,
drawdown from the day's peak equity). Fills, cancels and orders are counted on the
account's book by the writes that make them (``domain.counters``), not here."""

from __future__ import annotations

from datetime import datetime

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.config import Settings, get_settings
from redfire_core.domain.risk import (
    DayMarks,
    TradingState,
    equity_and_gross,
    post_trade_breaches,
    stricter,
)
from redfire_core.events import Envelope, MarketDataUpdated, RiskLimitBreached
from redfire_core.observability import logger
from redfire_core.ports import OrderStore, RiskPort
from redfire_core.services.retrying import on_conflict_retry
from redfire_core.services.risk_control import cancel_open_orders
from redfire_core.services.risk_review import effective_limits

MONITOR_ACTOR = "risk-monitor"


def on_order_event(
    store: OrderStore,
    risk: RiskPort,
    audit: AuditLog,
    event: Envelope,
    now: datetime,
    settings: Settings | None = None,
) -> str:
    """Check the account's post-trade limits after a fill (idempotent: a redelivery
    finds the state already tightened and publishes nothing)."""
    if event.type != "OrderFilled":
        return "ignored"  # cancels and expiries were counted where they happened
    return monitor_account(store, risk, audit, str(event.account_id), event, now, settings)


def on_market_data(
    store: OrderStore,
    risk: RiskPort,
    audit: AuditLog,
    event: Envelope,
    now: datetime,
    settings: Settings | None = None,
) -> int:
    """A position can bleed without trading: check every holder of the symbol."""
    update = MarketDataUpdated.model_validate(event.payload)
    breached = 0
    for account_id in risk.holders(update.symbol):
        if monitor_account(store, risk, audit, account_id, event, now, settings) != "ok":
            breached += 1
    return breached


def monitor_account(
    store: OrderStore,
    risk: RiskPort,
    audit: AuditLog,
    account_id: str,
    cause: Envelope,
    now: datetime,
    settings: Settings | None = None,
) -> str:
    """Mark equity on today's counters and, on a breach, tighten the trading state by
    ``breach_action`` and publish RiskLimitBreached (once per change of state: replays
    find the state already applied and publish nothing)."""
    settings = settings or get_settings()
    account = store.get_account(account_id)
    if account is None:
        raise LookupError(f"account {account_id} does not exist")
    positions = store.list_positions(account_id)
    prices = {}
    for held in positions:
        if held.quantity != 0:
            latest = store.latest_price(held.symbol)
            if latest is not None:
                prices[held.symbol] = latest.price
    equity, _ = equity_and_gross(account, positions, prices)
    start, peak = risk.mark_equity(account_id, equity, now)
    limits, _ = effective_limits(settings, risk.get_overrides(account_id), None)
    breaches = post_trade_breaches(equity, DayMarks(start, peak), limits)
    if not breaches:
        return "ok"
    action = TradingState(limits.breach_action.value)

    def attempt() -> str | None:
        before = risk.get_state(account_id)
        target = stricter(before.state, action)
        if target is before.state:
            return None
        reason = "; ".join(f"{b.code}: {b.message} ({b.actual} > {b.limit})" for b in breaches)
        event = Envelope.wrap(
            RiskLimitBreached(
                code=breaches[0].code,
                message=breaches[0].message,
                limit=breaches[0].limit,
                actual=breaches[0].actual,
                breaches=[b.as_dict() for b in breaches],
                action=limits.breach_action.value,
                state=target.value,
                equity=format(equity, "f"),
                start_equity=format(start, "f"),
                peak_equity=format(peak, "f"),
            ),
            account_id=account_id,
            correlation_id=cause.correlation_id,
            causation_id=cause.id,
            occurred_at=now,
        )
        store.write(
            events=[event],
            raw_puts=[risk.state_put(account_id, before, target, reason, MONITOR_ACTOR, now)],
        )
        audit.record(
            account_id=account_id,
            actor=MONITOR_ACTOR,
            action="risk.state_changed",
            detail={
                "scope": "account",
                "from": before.state.value,
                "to": target.value,
                "reason": reason,
                "breaches": [b.as_dict() for b in breaches],
            },
            now=now,
        )
        return target.value

    applied = on_conflict_retry(attempt)
    if applied is None:
        return "breached"
    logger.warning(
        "risk limit breached",
        extra={"account_id": account_id, "codes": [b.code for b in breaches], "state": applied},
    )
    if applied == TradingState.HALTED.value:
        cancel_open_orders(store, account_id, correlation_id=cause.correlation_id, now=now)
    return applied

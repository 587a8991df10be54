"""Limits as data and trading states: read, change (audited), and the kill switch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.adapters.risk_store import PLATFORM
from redfire_core.config import Settings, get_settings
from redfire_core.domain.caps import CAPPED_LIMIT_KEYS, AboveCap, StageCaps
from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import Order
from redfire_core.domain.risk import TradingState, limits_from, parse_limits
from redfire_core.ports import ConflictError, OrderStore, Overrides, RiskConflict, RiskPort
from redfire_core.services.managing import cancel_all, cancel_order
from redfire_core.services.retrying import on_conflict_retry

SECTIONS = ("account", "symbols")
MAX_SYMBOL_LENGTH = 32


def limits_view(
    risk: RiskPort, account_id: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Stage defaults, the account's overrides, per-symbol overrides, what applies, and the
    stage caps (the most an override may be)."""
    settings = settings or get_settings()
    overrides = risk.get_overrides(account_id)
    defaults = settings.risk_limit_defaults()
    caps = settings.caps()
    return {
        "defaults": caps.limits(limits_from(defaults)).as_strings(),
        "account": overrides.account,
        "symbols": overrides.symbols,
        "effective": caps.limits(limits_from(defaults, overrides.account)).as_strings(),
        "caps": {key: caps.as_strings()[key] for key in CAPPED_LIMIT_KEYS},
    }


def _section(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise DomainError("RISK_LIMIT_INVALID", f"{where} must be an object of limits", where)
    try:
        return parse_limits(value)
    except DomainError as error:
        raise DomainError(error.code, error.message, f"{where}.{error.field}") from None


def _check_caps(
    caps: StageCaps,
    account_changes: dict[str, object],
    symbol_changes: dict[str, dict[str, object] | None],
) -> None:
    """``AboveCap`` naming every override above its stage cap, in any section."""
    found = caps.violations(account_changes, "account.")
    for symbol, changes in symbol_changes.items():
        found += caps.violations(changes or {}, f"symbols.{symbol}.")
    if found:
        raise AboveCap(found)


def _merged(
    current: dict[str, str], changes: dict[str, object], raw: dict[str, Any]
) -> dict[str, str]:
    merged = dict(current)
    for key in changes:
        if raw[key] is None:
            merged.pop(key, None)
        else:
            merged[key] = str(raw[key])
    return merged


def change_limits(
    risk: RiskPort,
    audit: AuditLog,
    account_id: str,
    body: dict[str, Any],
    *,
    actor: str,
    now: datetime,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Apply ``{"account": {...}, "symbols": {"GOOG": {...}}}``; ``null`` removes an
    override (a symbol set to ``null`` loses all of its). Validated before anything moves."""
    unknown = sorted(set(body) - set(SECTIONS))
    if unknown:
        raise DomainError("RISK_LIMIT_INVALID", f"unknown section {unknown[0]!r}", unknown[0])
    account_changes = _section(body.get("account") or {}, "account")
    symbols = body.get("symbols") or {}
    if not isinstance(symbols, dict):
        raise DomainError("RISK_LIMIT_INVALID", "symbols must be an object by symbol", "symbols")
    symbol_changes: dict[str, dict[str, object] | None] = {}
    for symbol, section in symbols.items():
        if not symbol or len(symbol) > MAX_SYMBOL_LENGTH:
            raise DomainError("RISK_LIMIT_INVALID", "invalid symbol", "symbols")
        symbol_changes[symbol] = None if section is None else _section(section, f"symbols.{symbol}")
    _check_caps((settings or get_settings()).caps(), account_changes, symbol_changes)

    def attempt() -> Overrides:
        before = risk.get_overrides(account_id)
        account = _merged(before.account, account_changes, body.get("account") or {})
        by_symbol = {k: dict(v) for k, v in before.symbols.items()}
        for symbol, changes in symbol_changes.items():
            if changes is None:
                by_symbol.pop(symbol, None)
                continue
            merged = _merged(by_symbol.get(symbol, {}), changes, symbols[symbol])
            if merged:
                by_symbol[symbol] = merged
            else:
                by_symbol.pop(symbol, None)
        after = Overrides(account, by_symbol, before.version + 1)
        try:
            risk.put_overrides(account_id, before, after)
        except RiskConflict as error:
            raise ConflictError(["ConditionalCheckFailed"]) from error
        return after

    after = on_conflict_retry(attempt)
    audit.record(
        account_id=account_id,
        actor=actor,
        action="risk.limits_changed",
        detail={"changes": body, "account": after.account, "symbols": after.symbols},
        now=now,
    )
    return limits_view(risk, account_id, settings)


def change_state(
    store: OrderStore,
    risk: RiskPort,
    audit: AuditLog,
    scope: str,
    state: TradingState,
    reason: str,
    *,
    actor: str,
    correlation_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Set the trading state of an account (``scope`` = its id) or of every account
    (``PLATFORM``), audited; ``halted`` cancels open orders through the normal cancel path."""

    def attempt() -> str:
        before = risk.get_state(scope)
        try:
            risk.put(risk.state_put(scope, before, state, reason, actor, now))
        except RiskConflict as error:
            raise ConflictError(["ConditionalCheckFailed"]) from error
        return before.state.value

    previous = on_conflict_retry(attempt)
    canceled: list[Order] = []
    if state is TradingState.HALTED:
        canceled = cancel_open_orders(store, scope, correlation_id=correlation_id, now=now)
    audit.record(
        account_id=None if scope == PLATFORM else scope,
        actor=actor,
        action="risk.state_changed",
        detail={
            "scope": "global" if scope == PLATFORM else "account",
            "from": previous,
            "to": state.value,
            "reason": reason,
            "canceled_orders": [o.id for o in canceled],
        },
        now=now,
    )
    view = risk.get_state(scope).as_dict()
    view["canceled_orders"] = [o.id for o in canceled]
    return view


def cancel_open_orders(
    store: OrderStore, scope: str, *, correlation_id: str, now: datetime
) -> list[Order]:
    """The kill switch's cancels: one account's open orders, or every account's: those
    still waiting for their decision first, then the working ones on each symbol."""
    if scope != PLATFORM:
        return cancel_all(store, scope, correlation_id=correlation_id, now=now)
    pending: list[Order] = []
    # Submitted orders are not among a symbol's open orders, so they are asked for first:
    # one accepted after this query is among the open orders read next, and one decided
    # later reads the halted state (written before these cancels) and is denied.
    waiting = store.submitted_before(now)
    working = [o for i in store.list_instruments() for o in store.open_orders(i.symbol)]
    seen: set[str] = set()
    for order in [*waiting, *working]:
        if order.id in seen:
            continue  # accepted between the two queries: found by both
        seen.add(order.id)
        try:
            pending.append(
                cancel_order(
                    store, order.account_id, order.id, correlation_id=correlation_id, now=now
                )
            )
        except DomainError as error:
            if error.code not in ("ORDER_NOT_CANCELABLE", "ORDER_NOT_FOUND"):
                raise
    return pending


def state_view(risk: RiskPort, account_id: str) -> dict[str, Any]:
    view = risk.get_state(account_id).as_dict()
    view["global"] = risk.get_state(PLATFORM).as_dict()
    return view

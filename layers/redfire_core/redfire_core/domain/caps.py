"""Stage caps: the most an account's admin may raise a risk limit or an execution setting to.

The operator sets them per stage (``limit_caps`` in cdk.json, passed to every function as
``REDFIRE_LIMIT_CAPS``); ``DEFAULT_CAPS`` fills what a stage leaves out. A change above a
cap is refused naming the cap, and what applies is never above it (overrides stored before
a cap was lowered are cut down to it when they are used).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from redfire_core.domain.errors import DomainError
from redfire_core.domain.orders import ExecutionModel
from redfire_core.domain.risk import INTEGER_KEYS, LIMIT_KEYS, RiskLimits

EXECUTION_KEYS: tuple[str, ...] = tuple(f.name for f in fields(ExecutionModel))
# breach_action is a choice of two, not an amount: nothing to cap.
CAPPED_LIMIT_KEYS: tuple[str, ...] = tuple(key for key in LIMIT_KEYS if key != "breach_action")
CAP_KEYS: tuple[str, ...] = CAPPED_LIMIT_KEYS + EXECUTION_KEYS

# About ten times the domain's default limits (``RiskLimits``), and costs no paper venue
# would charge; decimal strings, as the API takes them.
DEFAULT_CAPS: dict[str, str] = {
    "max_order_qty": "10000000",
    "max_order_notional": "10000000",
    "max_position_qty": "100000000",
    "max_gross_exposure": "1000000000",
    "max_active_orders": "500",
    "max_daily_orders": "100000",
    "max_daily_cancels": "100000",
    "max_daily_trades": "100000",
    "max_orders_per_second": "100",
    "max_orders_per_minute": "6000",
    "duplicate_window_seconds": "3600",
    "price_band_pct": "50",
    "max_price_age_seconds": "3600",
    "max_daily_loss": "10000000000",
    "max_drawdown_pct": "100",
    "commission_rate": "0.01",
    "commission_per_unit": "1",
    "commission_minimum": "100",
    "slippage_bps": "100",
    "max_volume_share": "1",
}
RISK_CODE = "RISK_LIMIT_ABOVE_CAP"
EXECUTION_CODE = "EXECUTION_SETTING_ABOVE_CAP"


class AboveCap(DomainError):
    """One or more values above their stage cap; ``errors`` names each field and its cap."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors[0]["code"], errors[0]["message"], errors[0]["field"])
        self.errors = errors


@dataclass(frozen=True)
class StageCaps:
    """Every cap of a stage, by key (``CAP_KEYS``)."""

    values: Mapping[str, Decimal]

    def violations(self, values: Mapping[str, object], where: str = "") -> list[dict[str, str]]:
        """A problem entry for each value (already parsed) above its cap; ``where`` prefixes
        the field names (``account.``, ``symbols.GOOG.``)."""
        found = []
        for key, value in values.items():
            cap = self.values.get(key)
            if cap is None or not isinstance(value, int | Decimal) or value <= cap:
                continue
            code = EXECUTION_CODE if key in EXECUTION_KEYS else RISK_CODE
            found.append(
                {
                    "field": where + key,
                    "code": code,
                    "message": f"{key} may be at most {format(cap, 'f')} (the stage cap)",
                    "cap": format(cap, "f"),
                }
            )
        return found

    def check(self, values: Mapping[str, object], where: str = "") -> None:
        """``AboveCap`` naming every value above its cap."""
        found = self.violations(values, where)
        if found:
            raise AboveCap(found)

    def limits(self, limits: RiskLimits) -> RiskLimits:
        """``limits`` with every value above its cap cut down to the cap."""
        over: dict[str, Any] = {}
        for key in CAPPED_LIMIT_KEYS:
            cap = self.values[key]
            if getattr(limits, key) > cap:
                over[key] = int(cap) if key in INTEGER_KEYS else cap
        return replace(limits, **over) if over else limits

    def execution(self, model: ExecutionModel) -> ExecutionModel:
        """``model`` with every setting above its cap cut down to the cap."""
        over = {
            key: self.values[key]
            for key in EXECUTION_KEYS
            if getattr(model, key) > self.values[key]
        }
        return replace(model, **over) if over else model

    def as_strings(self) -> dict[str, str]:
        return {key: format(value, "f") for key, value in self.values.items()}


def parse_caps(overrides: Mapping[str, object]) -> StageCaps:
    """``DEFAULT_CAPS`` with a stage's ``overrides``; ``ValueError`` for an unknown key or a
    value that is not a non-negative decimal (a whole number for counts and seconds)."""
    unknown = sorted(set(overrides) - set(CAP_KEYS))
    if unknown:
        raise ValueError(f"unknown caps {unknown}; caps exist for {list(CAP_KEYS)}")
    values: dict[str, Decimal] = {}
    for key, text in (DEFAULT_CAPS | {k: str(v) for k, v in overrides.items()}).items():
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"cap {key}={text!r} is not a decimal") from None
        if not value.is_finite() or value < 0:
            raise ValueError(f"cap {key}={text!r} must be a non-negative number")
        if key in INTEGER_KEYS and value != value.to_integral_value():
            raise ValueError(f"cap {key}={text!r} must be a whole number")
        values[key] = value
    return StageCaps(values)

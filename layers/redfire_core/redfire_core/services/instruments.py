"""The instrument registry: cached per container, changed only by operators."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, replace
from datetime import datetime
from functools import cache
from typing import Any

from redfire_core.adapters.audit_log import AuditLog
from redfire_core.config import get_settings
from redfire_core.domain.errors import DomainError
from redfire_core.domain.instruments import Instrument
from redfire_core.ports import ConflictError, OrderStore


class InstrumentCache:
    """Instruments by symbol, refreshed after ``ttl_seconds``; misses are cached too, so a
    flood of orders for an unknown symbol does not become a flood of reads."""

    def __init__(self, store: OrderStore, ttl_seconds: float) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self._entries: dict[str, tuple[float, Instrument | None]] = {}
        self._lock = threading.Lock()

    def get(self, symbol: str) -> Instrument | None:
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(symbol)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        instrument = self.store.get_instrument(symbol)
        with self._lock:
            self._entries[symbol] = (now, instrument)
        return instrument

    def forget(self, symbol: str) -> None:
        with self._lock:
            self._entries.pop(symbol, None)


@cache
def instrument_cache(store: OrderStore) -> InstrumentCache:
    """The container's cache in front of ``store`` (one per store, built on first use)."""
    return InstrumentCache(store, get_settings().instrument_cache_seconds)


def create_instrument(
    store: OrderStore, audit: AuditLog, instrument: Instrument, *, actor: str, now: datetime
) -> Instrument:
    try:
        store.put_instrument(instrument, create=True)
    except ConflictError:
        raise DomainError(
            "INSTRUMENT_EXISTS", f"instrument {instrument.symbol} already exists", "symbol"
        ) from None
    audit.record(
        account_id=None,
        actor=actor,
        action="instrument.created",
        detail=_detail(instrument),
        now=now,
    )
    return instrument


def update_instrument(
    store: OrderStore,
    audit: AuditLog,
    symbol: str,
    changes: dict[str, Any],
    *,
    actor: str,
    now: datetime,
) -> Instrument | None:
    """The changed instrument, or None if there is no such symbol."""
    current = store.get_instrument(symbol)
    if current is None:
        return None
    updated = replace(current, **changes)
    store.put_instrument(updated)
    audit.record(
        account_id=None,
        actor=actor,
        action="instrument.changed",
        detail={"symbol": symbol, **{k: str(v) for k, v in changes.items()}},
        now=now,
    )
    return updated


def _detail(instrument: Instrument) -> dict[str, str]:
    return {key: str(value) for key, value in asdict(instrument).items()}

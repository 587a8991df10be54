"""Reconciliation of a venue account against a scripted VenueGateway (issue 17, item 4).

The store and the audit log are in-memory stand-ins; ``apply_venue_order`` (venuecore's
``services/venue_orders.py``) is a recording stand-in with its signature, so these tests
check what reconciliation decides, not how the repair is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from redfire_core.domain.orders import Order, OrderStatus
from redfire_core.domain.positions import Account, Position
from redfire_core.events import Envelope, ReconciliationDrift
from redfire_core.services.venue_reconciliation import SUBMIT_GRACE, reconcile_account
from redfire_core.venues import (
    VenueAuthError,
    VenueFill,
    VenueOrder,
    VenuePosition,
    VenueStatus,
)
from tests.support.scripted_venue import ScriptedVenue, venue_order
from tests.unit.factories import ACCOUNT_ID, T0, an_order

NOW = T0 + timedelta(hours=1)


@dataclass
class MemoryBook:
    """The few TradingStore reads and writes reconciliation makes."""

    orders: dict[str, Order] = field(default_factory=dict)
    positions: list[Position] = field(default_factory=list)
    cash: Decimal = Decimal("100000")
    written: list[Envelope] = field(default_factory=list)
    writes: int = 0

    def open_orders_of(self, account_id: str) -> list[Order]:
        return [o for o in self.orders.values() if not o.is_final]

    def get_order(self, account_id: str, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def list_positions(self, account_id: str) -> list[Position]:
        return list(self.positions)

    def get_account(self, account_id: str) -> Account:
        return Account(id=account_id, currency="USD", cash=self.cash, created_at=T0)

    def write(self, *, events: Sequence[Envelope] = (), **_: Any) -> None:
        self.writes += 1
        self.written.extend(events)


@dataclass
class MemoryAudit:
    records: list[dict[str, Any]] = field(default_factory=list)

    def record(self, **record: Any) -> None:
        self.records.append(record)


@dataclass
class RecordingRepair:
    """Stand-in for venue_orders.apply_venue_order: records calls, returns final-ness."""

    calls: list[tuple[str, str, VenueOrder]] = field(default_factory=list)

    def __call__(self, account_id: str, order_id: str, venue: VenueOrder, *, now: datetime) -> bool:
        self.calls.append((account_id, order_id, venue))
        return venue.status.is_final


def accepted(order_id: str, **changes: Any) -> Order:
    fields: dict[str, Any] = {"accepted_at": T0, "updated_at": T0, **changes}
    return replace(an_order(status=OrderStatus.ACCEPTED), id=order_id, **fields)


def run(
    venue: ScriptedVenue, book: MemoryBook, repair: RecordingRepair | None = None
) -> tuple[Any, MemoryAudit, RecordingRepair]:
    audit, repair = MemoryAudit(), repair or RecordingRepair()
    result = reconcile_account(
        ACCOUNT_ID,
        venue,
        now=NOW,
        venue="alpaca",
        store=book,  # type: ignore[arg-type]
        audit=audit,  # type: ignore[arg-type]
        apply=repair,
    )
    return result, audit, repair


def drifts(book: MemoryBook) -> list[ReconciliationDrift]:
    return [ReconciliationDrift.model_validate(e.payload) for e in book.written]


def test_matching_books_record_nothing() -> None:
    # Given an open order both sides hold, the same position and the same cash
    order = accepted("o1")
    venue = ScriptedVenue(
        open=[venue_order("o1", VenueStatus.NEW)],
        positions=(VenuePosition("AAPL", Decimal("5")),),
    )
    book = MemoryBook(orders={"o1": order}, positions=[Position(ACCOUNT_ID, "AAPL", Decimal("5"))])
    # When reconciled
    result, audit, repair = run(venue, book)
    # Then nothing is repaired, written or audited
    assert result.drifts == [] and repair.calls == []
    assert book.writes == 0 and audit.records == []


def test_an_order_final_at_the_venue_is_repaired_and_reported() -> None:
    # Given an order open here that the venue filled while nobody polled it
    fill = VenueFill("e1", Decimal("10"), Decimal("99.50"), NOW)
    filled = venue_order("o1", VenueStatus.FILLED, "10", (fill,))
    venue = ScriptedVenue(orders={"o1": filled}, positions=())
    book = MemoryBook(orders={"o1": accepted("o1")})
    # When reconciled
    result, audit, repair = run(venue, book)
    # Then the venue's record (with its fill) is applied through the intake's repair
    assert repair.calls == [(ACCOUNT_ID, "o1", filled)]
    assert result.repaired == ["o1"]
    # and the difference is an event and an audit record
    (drift,) = drifts(book)
    assert (drift.kind, drift.order_id, drift.ours, drift.theirs, drift.repaired) == (
        "order_closed_at_venue",
        "o1",
        "accepted",
        "filled",
        True,
    )
    assert drift.venue == "alpaca"
    assert [r["action"] for r in audit.records] == ["venue.drift"]
    assert audit.records[0]["object_id"] == "o1"


def test_an_order_the_venue_still_works_is_not_repaired() -> None:
    # Given an order the open listing missed but the lookup finds still working (a race)
    venue = ScriptedVenue(orders={"o1": venue_order("o1", VenueStatus.NEW)})
    book = MemoryBook(orders={"o1": accepted("o1")})
    # When reconciled
    result, _, repair = run(venue, book)
    # Then it is left to the intake
    assert repair.calls == [] and result.drifts == []


def test_an_order_already_final_here_is_not_reported_when_the_index_lagged() -> None:
    # Given the open-orders index still lists an order the intake has just closed
    order = accepted("o1")
    venue = ScriptedVenue(orders={"o1": venue_order("o1", VenueStatus.CANCELED)})

    class LaggingBook(MemoryBook):
        def get_order(self, account_id: str, order_id: str) -> Order | None:
            return replace(order, status=OrderStatus.CANCELED)

    book = LaggingBook(orders={"o1": order})
    # When reconciled
    result, _, repair = run(venue, book)
    # Then there is nothing to repair and nothing to report
    assert repair.calls == [] and result.drifts == []


def test_an_order_unknown_at_the_venue_is_drift_only_after_the_submit_grace() -> None:
    # Given two orders the venue has never seen: one accepted long ago, one just now
    old = accepted("old")
    recent = accepted("new", accepted_at=NOW - SUBMIT_GRACE + timedelta(seconds=1))
    book = MemoryBook(orders={"old": old, "new": recent})
    # When reconciled
    result, _, repair = run(ScriptedVenue(), book)
    # Then only the old one is reported (the recent one may still wait in its queue)
    assert [(d.kind, d.order_id, d.ours, d.theirs) for d in result.drifts] == [
        ("order_missing_at_venue", "old", "accepted", None)
    ]
    assert repair.calls == []


def test_orders_still_waiting_for_risk_are_not_looked_up() -> None:
    # Given an order risk has not decided yet (never sent to the venue)
    book = MemoryBook(orders={"o1": replace(an_order(), id="o1")})
    venue = ScriptedVenue()
    # When reconciled
    result, _, _ = run(venue, book)
    # Then the venue is not asked about it
    assert "find o1" not in venue.calls and result.drifts == []


def test_an_order_at_the_venue_unknown_here_is_drift() -> None:
    # Given the venue holds an order RedFire never placed, and one RedFire has canceled
    venue = ScriptedVenue(
        open=[venue_order("manual-1", VenueStatus.NEW), venue_order("o9", VenueStatus.NEW)]
    )
    book = MemoryBook(orders={"o9": accepted("o9", status=OrderStatus.CANCELED)})
    # When reconciled
    result, audit, repair = run(venue, book)
    # Then both are reported, neither is repaired
    assert [(d.kind, d.order_id, d.ours, d.theirs) for d in result.drifts] == [
        ("order_unknown", "manual-1", None, "new"),
        ("order_unknown", "o9", "canceled", "new"),
    ]
    assert repair.calls == [] and len(audit.records) == 2


def test_new_fills_of_an_order_open_on_both_sides_are_applied_without_drift() -> None:
    # Given a GTC order past the intake's 10 minutes that the venue has partly filled
    listed = venue_order("o1", VenueStatus.PARTIALLY_FILLED, "4")
    fill = VenueFill("e1", Decimal("4"), Decimal("100"), NOW)
    with_fills = venue_order("o1", VenueStatus.PARTIALLY_FILLED, "4", (fill,))
    venue = ScriptedVenue(open=[listed], orders={"o1": with_fills})
    book = MemoryBook(orders={"o1": accepted("o1")})
    # When reconciled
    result, _, repair = run(venue, book)
    # Then the fills (looked up, since the listing had none) are applied; no drift
    assert repair.calls == [(ACCOUNT_ID, "o1", with_fills)]
    assert result.caught_up == ["o1"] and result.drifts == []


def test_positions_and_cash_that_differ_are_drift() -> None:
    # Given the venue holds 12 AAPL and 5 MSFT and other cash; RedFire 10 AAPL and 3 GOOG
    venue = ScriptedVenue(
        cash=Decimal("99000.50"),
        positions=(
            VenuePosition("AAPL", Decimal("12")),
            VenuePosition("MSFT", Decimal("5")),
            VenuePosition("TSLA", Decimal("0")),
        ),
    )
    book = MemoryBook(
        positions=[
            Position(ACCOUNT_ID, "AAPL", Decimal("10")),
            Position(ACCOUNT_ID, "GOOG", Decimal("3")),
            Position(ACCOUNT_ID, "IBM", Decimal("0")),  # flat: nothing to compare
        ],
        cash=Decimal("100000"),
    )
    # When reconciled
    result, _, _ = run(venue, book)
    # Then each difference is one drift with both sides' figures
    assert [(d.kind, d.symbol, d.ours, d.theirs) for d in result.drifts] == [
        ("position", "AAPL", "10", "12"),
        ("position", "GOOG", "3", None),
        ("position", "MSFT", None, "5"),
        ("cash", None, "100000", "99000.50"),
    ]
    # and the events of one run share a correlation id
    assert len({e.correlation_id for e in book.written}) == 1


def test_a_venue_error_propagates_and_nothing_is_written() -> None:
    # Given a venue that refuses the credentials
    venue = ScriptedVenue(fail_with=VenueAuthError("unauthorized"))
    book = MemoryBook(orders={"o1": accepted("o1")})
    # When reconciled, then the error reaches the caller and nothing was recorded
    with pytest.raises(VenueAuthError):
        run(venue, book)
    assert book.writes == 0

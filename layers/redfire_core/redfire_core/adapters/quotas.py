"""Quota counters in the ``strategies`` table, charged in the same transaction as the work
they count, so concurrent requests can never pass a quota together.

Items (pk = account id): ``QUOTA`` holds ``running_sweeps`` and ``running_instances``;
``QUOTA#DAY#<yyyy-mm-dd>`` holds that day's ``combinations``. A charge is a conditional
``ADD`` (below the limit, or not yet counted); a release is an ``ADD -1`` in the
transaction that ends the sweep or stops the instance (exactly once: those transitions are
conditional themselves).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from redfire_core.adapters.trading_store import ConflictError, Transaction
from redfire_core.domain.quotas import (
    QuotaExceeded,
    Quotas,
    combinations_exceeded,
    day_of,
    instances_exceeded,
    sweeps_exceeded,
)

COUNTERS = "QUOTA"
DAY = "QUOTA#DAY#"


class QuotaItem(Model):
    class Meta:
        table_name = "strategies"  # bound to the stage's table by the stores that charge

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    running_sweeps = NumberAttribute(null=True)
    running_instances = NumberAttribute(null=True)
    combinations = NumberAttribute(null=True)


@dataclass(frozen=True)
class Charge:
    """One conditional counter update, and the refusal it stands for when it fails."""

    item: QuotaItem
    attribute: NumberAttribute
    amount: int
    limit: int  # the counter may reach it, not pass it
    refusal: QuotaExceeded

    def apply(self, tx: TransactWrite) -> None:
        below = self.attribute.does_not_exist() | (self.attribute <= self.limit - self.amount)
        tx.update(self.item, actions=[self.attribute.add(self.amount)], condition=below)


def sweep_charges(
    account_id: str, quotas: Quotas, combinations: int, now: datetime
) -> list[Charge]:
    """A sweep counts as a running sweep and its combinations count against the day."""
    charges = combination_charges(account_id, quotas, combinations, now)
    if quotas.concurrent_sweeps > 0:
        charges.append(
            Charge(
                QuotaItem(account_id, COUNTERS),
                QuotaItem.running_sweeps,
                1,
                quotas.concurrent_sweeps,
                sweeps_exceeded(quotas),
            )
        )
    return charges


def combination_charges(
    account_id: str, quotas: Quotas, combinations: int, now: datetime
) -> list[Charge]:
    if quotas.combinations_per_day <= 0:
        return []
    refusal = combinations_exceeded(quotas, combinations, now)
    if combinations > quotas.combinations_per_day:
        raise refusal  # no counter state could let it through
    return [
        Charge(
            QuotaItem(account_id, DAY + day_of(now)),
            QuotaItem.combinations,
            combinations,
            quotas.combinations_per_day,
            refusal,
        )
    ]


def instance_charges(account_id: str, quotas: Quotas) -> list[Charge]:
    if quotas.running_instances <= 0:
        return []
    return [
        Charge(
            QuotaItem(account_id, COUNTERS),
            QuotaItem.running_instances,
            1,
            quotas.running_instances,
            instances_exceeded(quotas),
        )
    ]


def release(tx: TransactWrite, account_id: str, attribute: NumberAttribute) -> None:
    """Give back one running sweep or instance (in the transaction that ends it)."""
    tx.update(QuotaItem(account_id, COUNTERS), actions=[attribute.add(-1)])


@contextmanager
def charged(transaction: Transaction, charges: list[Charge]) -> Iterator[TransactWrite]:
    """The transaction, with ``charges`` added after the caller's writes; a charge whose
    condition failed becomes its ``QuotaExceeded``, any other conflict stays a conflict."""
    try:
        with transaction as tx:
            yield tx
            for charge in charges:
                charge.apply(tx)
    except ConflictError as error:
        reasons = getattr(error.__cause__, "cancellation_reasons", None) or []
        for charge, reason in zip(charges, reasons[len(reasons) - len(charges) :], strict=False):
            if reason is not None and reason.code == "ConditionalCheckFailed":
                raise charge.refusal from None
        raise

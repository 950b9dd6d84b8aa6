"""Past renewals and what came of them: the outcomes a score is checked against.

`health validity` asks whether the health score foretold churn, `nps insights` whether the
NPS band foretold churn, contraction or expansion. Both read the same history, defined
once here:

- A renewal is *decided* when its date has passed and it is marked renewed or churned
  (`renewals.status`); an upcoming one is not an outcome yet.
- Its outcome is exactly one of churned, contracted, flat or expanded. A renewed account
  contracted or expanded when the ARR movements (`metrics_core.revenue.arr`: the next term
  against the last) that took effect within `AT_RENEWAL_DAYS` of the renewal date add up
  to less or more than nothing.

The reports count these outcomes as rates (`metrics_core.proportions`): each with its
count and interval, so none shows "40 % of promoters expanded" without "of 10".
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.store.models import (
    Account,
    ArrMovement,
    ArrMovementKind,
    Renewal,
    RenewalStatus,
    Segment,
)

LOOKBACK_DAYS = 730
"""Reports on past renewals read the last two years: enough renewals to say something, and
recent enough to describe the book as it is now."""
AT_RENEWAL_DAYS = 31
"""A contraction or expansion this close to a renewal date (either side) is its outcome:
the next term usually starts the day after, a renewal signed early or booked late a few
weeks off."""


class RenewalOutcome(enum.StrEnum):
    CHURNED = "churned"
    CONTRACTED = "contracted"
    FLAT = "flat"
    EXPANDED = "expanded"


@dataclass(frozen=True, slots=True)
class DecidedRenewal:
    """One past renewal with a known outcome."""

    account_id: int
    renewal_date: dt.date
    outcome: RenewalOutcome

    @property
    def churned(self) -> bool:
        return self.outcome is RenewalOutcome.CHURNED


def decided_renewals(
    session: Session, *, since: dt.date, until: dt.date, segment: Segment | None = None
) -> list[DecidedRenewal]:
    """Renewals dated in [since, until] that were renewed or churned, oldest first.

    `segment` keeps only accounts of that segment (as the account is filed today).
    """
    query = (
        select(Renewal.account_id, Renewal.renewal_date, Renewal.status)
        .join(Account, Account.id == Renewal.account_id)
        .where(
            Renewal.renewal_date >= since,
            Renewal.renewal_date <= until,
            Renewal.status.in_((RenewalStatus.RENEWED, RenewalStatus.CHURNED)),
        )
        .order_by(Renewal.renewal_date, Renewal.account_id, Renewal.id)
    )
    if segment is not None:
        query = query.where(Account.segment == segment)
    rows = session.execute(query).all()
    if not rows:
        return []
    margin = dt.timedelta(days=AT_RENEWAL_DAYS)
    moves = session.execute(
        select(
            ArrMovement.account_id, ArrMovement.kind, ArrMovement.amount, ArrMovement.effective_on
        )
        .join(Account, Account.id == ArrMovement.account_id)
        .where(
            ArrMovement.kind.in_((ArrMovementKind.EXPANSION, ArrMovementKind.CONTRACTION)),
            ArrMovement.effective_on >= since - margin,
            ArrMovement.effective_on <= until + margin,
            *(() if segment is None else (Account.segment == segment,)),
        )
    ).all()
    changes: dict[int, list[tuple[dt.date, float]]] = defaultdict(list)
    for account_id, kind, amount, effective_on in moves:
        sign = 1.0 if kind is ArrMovementKind.EXPANSION else -1.0
        changes[int(account_id)].append((effective_on, sign * float(amount)))
    decided = []
    for account_id, renewal_date, status in rows:
        if status is RenewalStatus.CHURNED:
            outcome = RenewalOutcome.CHURNED
        else:
            net = sum(
                amount
                for day, amount in changes.get(int(account_id), ())
                if abs((day - renewal_date).days) <= AT_RENEWAL_DAYS
            )
            outcome = (
                RenewalOutcome.EXPANDED
                if net > 0
                else RenewalOutcome.CONTRACTED
                if net < 0
                else RenewalOutcome.FLAT
            )
        decided.append(DecidedRenewal(int(account_id), renewal_date, outcome))
    return decided

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

Rates carry their counts and a 95 % interval, and differences of rates their interval too,
so a report never shows "40 % of promoters expanded" without "of 10".
"""

from __future__ import annotations

import datetime as dt
import enum
import math
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
from metrics_core.surveys.nps import Z_95
from metrics_core.surveys.scores import agresti_coull_interval

LOOKBACK_DAYS = 730
"""Reports on past renewals read the last two years: enough renewals to say something, and
recent enough to describe the book as it is now."""
AT_RENEWAL_DAYS = 31
"""A contraction or expansion this close to a renewal date (either side) is its outcome:
the next term usually starts the day after, a renewal signed early or booked late a few
weeks off."""
MIN_N_FOR_INTERVAL = 5
"""Fewer renewals than this get a rate but no interval: it would span most of 0–100 %."""


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


@dataclass(frozen=True, slots=True)
class Rate:
    """`events` of `n` renewals, with a 95 % interval (Agresti–Coull) from `MIN_N_FOR_INTERVAL`.

    Agresti–Coull rather than Wilson because the rates read here sit near the edge (a green
    account's churn rate of 2 %), where Wilson's coverage dips (`metrics_core.surveys.scores`).
    """

    events: int
    n: int
    ci_low: float | None = None
    ci_high: float | None = None

    @classmethod
    def of(cls, events: int, n: int) -> Rate:
        if n < 0 or not 0 <= events <= max(n, 0):
            raise ValueError(f"need 0 <= events <= n, got {events} of {n}")
        if n < MIN_N_FOR_INTERVAL:
            return cls(events, n)
        low, high = agresti_coull_interval(events, n)
        return cls(events, n, low, high)

    @property
    def share(self) -> float | None:
        """The rate as a fraction; None when there is nothing to divide by."""
        return self.events / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class Difference:
    """How much higher one rate is than another, in fractions, with its 95 % interval."""

    estimate: float
    ci_low: float
    ci_high: float

    @property
    def clear(self) -> bool:
        """Whether the interval leaves out "no difference"."""
        return self.ci_low > 0 or self.ci_high < 0


def difference(first: Rate, second: Rate) -> Difference | None:
    """`first` − `second` with the Agresti–Caffo interval; None when either has no renewals.

    Agresti & Caffo (2000, "Simple and effective confidence intervals for proportions and
    differences of proportions result from adding two successes and two failures", The
    American Statistician 54(4)): one success and one failure are added to each group
    before the Wald interval, which keeps its coverage near 95 % at the 10–30 renewals a
    band often has, where the plain Wald interval falls short.
    """
    if first.n == 0 or second.n == 0:
        return None
    p1 = (first.events + 1) / (first.n + 2)
    p2 = (second.events + 1) / (second.n + 2)
    half = Z_95 * math.sqrt(p1 * (1 - p1) / (first.n + 2) + p2 * (1 - p2) / (second.n + 2))
    centre = p1 - p2
    estimate = first.events / first.n - second.events / second.n
    return Difference(estimate, max(-1.0, centre - half), min(1.0, centre + half))

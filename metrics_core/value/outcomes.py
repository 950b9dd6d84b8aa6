"""Success plans: the outcomes promised at the sale, and where each stands today.

One definition of each state, used by `value`, digests and `kpis` alike:

- **delivered** — the outcome's status says so; **on time** when it was delivered on or
  before its target date (an outcome delivered without a date is delivered, but not known
  to be on time);
- **acknowledged** — delivered, and the customer acknowledged the value (a date is
  recorded): value a customer never acknowledged is rarely remembered at renewal;
- **overdue** — the target date has passed (it is before today) and the outcome is not
  delivered, whatever its status says (`on_track` past its date is overdue, and so is
  `missed`); days overdue count from the target date.

An outcome's owner is the team member it names; without one, the account's owner, since a
success plan is the CSM's to deliver unless someone else took a promise on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from metrics_core.store.models import Account, OutcomeStatus, Segment, SuccessOutcome, TeamMember

UNASSIGNED = "unassigned"
"""The owner shown for an outcome nobody owns (no owner named, none on the account)."""


def is_overdue(status: OutcomeStatus, target_date: dt.date, today: dt.date) -> bool:
    """Whether an outcome is overdue on `today`: its target date passed, not delivered."""
    return status is not OutcomeStatus.DELIVERED and target_date < today


@dataclass(frozen=True, slots=True)
class Promise:
    """One outcome of a success plan, as it stands on `as_of`."""

    external_id: str
    account: str
    account_external_id: str
    segment: Segment
    title: str
    owner: str
    """The outcome's owner, else the account's, else `UNASSIGNED`."""
    promised_on: dt.date
    target_date: dt.date
    status: OutcomeStatus
    delivered_on: dt.date | None
    acknowledged_on: dt.date | None
    as_of: dt.date

    @property
    def delivered(self) -> bool:
        return self.status is OutcomeStatus.DELIVERED

    @property
    def on_time(self) -> bool:
        return (
            self.delivered
            and self.delivered_on is not None
            and self.delivered_on <= self.target_date
        )

    @property
    def acknowledged(self) -> bool:
        return self.delivered and self.acknowledged_on is not None

    @property
    def overdue(self) -> bool:
        return is_overdue(self.status, self.target_date, self.as_of)

    @property
    def days_overdue(self) -> int | None:
        """Days since the target date for an overdue outcome; None otherwise."""
        return (self.as_of - self.target_date).days if self.overdue else None


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """Counts over a set of promises: what was promised, delivered, acknowledged, overdue."""

    promised: int
    delivered: int
    on_time: int
    """Delivered on or before the target date."""
    acknowledged: int
    """Delivered and acknowledged by the customer (a subset of `delivered`)."""
    overdue: int
    open: int
    """Neither delivered nor overdue: still ahead of its target date."""

    @property
    def acknowledged_share(self) -> float | None:
        """Acknowledged of delivered; None when nothing was delivered."""
        return self.acknowledged / self.delivered if self.delivered else None


def summarise(promises: Iterable[Promise]) -> PlanSummary:
    items = list(promises)
    delivered = [p for p in items if p.delivered]
    overdue = sum(p.overdue for p in items)
    return PlanSummary(
        promised=len(items),
        delivered=len(delivered),
        on_time=sum(p.on_time for p in delivered),
        acknowledged=sum(p.acknowledged for p in delivered),
        overdue=overdue,
        open=len(items) - len(delivered) - overdue,
    )


def ordered(promises: Iterable[Promise]) -> tuple[Promise, ...]:
    """Overdue first (longest overdue first), then open by target date, then delivered
    (latest first): the order a CSM works a plan in."""

    def key(p: Promise) -> tuple[int, int, str]:
        if p.overdue:
            return (0, -(p.days_overdue or 0), p.title)
        if not p.delivered:
            return (1, p.target_date.toordinal(), p.title)
        last = p.delivered_on or p.target_date
        return (2, -last.toordinal(), p.title)

    return tuple(sorted(promises, key=key))


def overdue_condition(today: dt.date) -> ColumnElement[bool]:
    """`is_overdue` in SQL, for counting and listing overdue outcomes in the database."""
    return and_(
        SuccessOutcome.status != OutcomeStatus.DELIVERED, SuccessOutcome.target_date < today
    )


def owner_id_column() -> ColumnElement[int | None]:
    """The outcome's owner id, else the account's: who a promise belongs to."""
    return func.coalesce(SuccessOutcome.owner_id, Account.owner_id)


def promise_query() -> Select[*tuple[Any, ...]]:
    """Outcomes with their account and owner's name; callers add conditions and order."""
    owner = aliased(TeamMember)
    return (
        select(
            SuccessOutcome.external_id,
            Account.name,
            Account.external_id,
            Account.segment,
            SuccessOutcome.title,
            owner.name,
            SuccessOutcome.promised_on,
            SuccessOutcome.target_date,
            SuccessOutcome.status,
            SuccessOutcome.delivered_on,
            SuccessOutcome.acknowledged_on,
        )
        .join(Account, Account.id == SuccessOutcome.account_id)
        .outerjoin(owner, owner.id == owner_id_column())
    )


def read_promises(
    session: Session, statement: Select[*tuple[Any, ...]], as_of: dt.date
) -> list[Promise]:
    """The rows of a `promise_query` statement as promises standing on `as_of`."""
    return [
        Promise(
            external_id=str(row[0]),
            account=str(row[1]),
            account_external_id=str(row[2]),
            segment=Segment(row[3]),
            title=str(row[4]),
            owner=str(row[5]) if row[5] else UNASSIGNED,
            promised_on=row[6],
            target_date=row[7],
            status=OutcomeStatus(row[8]),
            delivered_on=row[9],
            acknowledged_on=row[10],
            as_of=as_of,
        )
        for row in session.execute(statement)
    ]


def account_promises(session: Session, account_id: int, as_of: dt.date) -> tuple[Promise, ...]:
    """One account's success plan, in working order (`ordered`)."""
    statement = promise_query().where(SuccessOutcome.account_id == account_id)
    return ordered(read_promises(session, statement, as_of))


def in_scope(
    statement: Select[*tuple[Any, ...]],
    *,
    segment: Segment | None = None,
    owner_id: int | None = None,
    account_ids: Sequence[int] | None = None,
) -> Select[*tuple[Any, ...]]:
    """Narrow a statement joined to `Account` to a segment, a book or some accounts.

    A book (`owner_id`) is the accounts its CSM owns, as every other book-scoped answer
    counts them, plus the outcomes on other accounts that name them as owner.
    """
    if segment is not None:
        statement = statement.where(Account.segment == segment)
    if owner_id is not None:
        statement = statement.where(
            or_(Account.owner_id == owner_id, SuccessOutcome.owner_id == owner_id)
        )
    if account_ids is not None:
        statement = statement.where(Account.id.in_(list(account_ids)))
    return statement


@dataclass(frozen=True, slots=True)
class OverduePromises:
    """The overdue promises of a scope, as a digest lists them."""

    promised: int
    """Outcomes on record in the scope, delivered or not."""
    overdue: tuple[Promise, ...]
    """The most overdue first, at most the limit asked."""
    count: int
    """All the overdue ones."""


def overdue_promises(
    session: Session,
    today: dt.date,
    *,
    segment: Segment | None = None,
    owner_id: int | None = None,
    limit: int,
) -> OverduePromises:
    """Overdue promises in a segment, a book or everywhere, longest overdue first."""

    def scoped(statement: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
        return in_scope(statement, segment=segment, owner_id=owner_id)

    counted = (
        select(func.count())
        .select_from(SuccessOutcome)
        .join(Account, Account.id == SuccessOutcome.account_id)
    )
    promised = session.scalar(scoped(counted)) or 0
    late = session.scalar(scoped(counted.where(overdue_condition(today)))) or 0
    listed = scoped(promise_query().where(overdue_condition(today))).order_by(
        SuccessOutcome.target_date, SuccessOutcome.id
    )
    shown = read_promises(session, listed.limit(limit), today) if late else []
    return OverduePromises(int(promised), tuple(shown), int(late))

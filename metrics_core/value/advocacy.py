"""Advocacy: referrals, reviews, reference calls and case studies, recorded and counted.

Most advocacy starts with a promoter: the alert of a promoter's answer offers to record
what they did (`record_advocacy`, behind the "Record advocacy" button), once per
follow-up and kind, so a second click, or two people clicking at once, records it once.
The rest is imported (`closeloop import advocacy`).

Counts are a metric like any other (`advocacy_counts`): by kind, per CSM and per segment,
over the days of a period, for a segment if asked. Each act is credited to the team member
recorded with it (who recorded it on a follow-up, or the import's `csm_email`), else to
the account's owner.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from metrics_core.accounts.team import Member
from metrics_core.delivery import outbox
from metrics_core.followups.work import ALERT
from metrics_core.store.db import insert_or_ignore
from metrics_core.store.models import (
    Account,
    AdvocacyEvent,
    AdvocacyKind,
    AnswerBand,
    FollowUp,
    Segment,
    TeamMember,
)

KINDS: tuple[AdvocacyKind, ...] = tuple(AdvocacyKind)
"""Every kind of advocacy, in the order answers list them."""
UNCREDITED = "unassigned"
"""The CSM shown for an act credited to nobody (no member recorded, no account owner)."""


def follow_up_key(follow_up_id: int, kind: AdvocacyKind) -> str:
    """The external id of an act recorded on a follow-up: one per follow-up and kind."""
    return f"follow-up:{follow_up_id}:{kind.value}"


class Recorded(enum.StrEnum):
    """What pressing "Record advocacy" did."""

    DONE = "done"
    ALREADY = "already"
    """This kind was recorded on this follow-up before; nothing was added."""
    NOT_FOUND = "not_found"
    NOT_A_PROMOTER = "not_a_promoter"
    NO_ACCOUNT = "no_account"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class AdvocacyRecord:
    outcome: Recorded
    follow_up_id: int
    kind: AdvocacyKind | None = None
    account: str | None = None
    recorded_by: str | None = None
    """Who recorded it: the clicker, or for `ALREADY` whoever recorded it first."""
    recorded_on: dt.date | None = None
    detail: str | None = None


def record_advocacy(
    session: Session,
    *,
    follow_up_id: int,
    member: Member,
    kind: str,
    note: str | None,
    now: dt.datetime,
) -> AdvocacyRecord:
    """Record that the promoter of a follow-up gave advocacy of `kind`, on `now`'s day.

    Only a promoter's follow-up with a matched account takes it (advocacy is counted per
    account and segment). The database's unique external id decides a repeat, so
    concurrent clicks record one act. The alert is edited to show what was recorded.
    """
    try:
        chosen = AdvocacyKind(kind.strip().lower())
    except ValueError:
        allowed = ", ".join(k.value for k in KINDS)
        return AdvocacyRecord(Recorded.INVALID, follow_up_id, detail=f"choose one of: {allowed}")
    row = session.execute(
        select(FollowUp.band, FollowUp.account_id, Account.name)
        .outerjoin(Account, Account.id == FollowUp.account_id)
        .where(FollowUp.id == follow_up_id)
    ).first()
    if row is None:
        return AdvocacyRecord(Recorded.NOT_FOUND, follow_up_id, chosen)
    band, account_id, account = row
    if band is not AnswerBand.PROMOTER:
        return AdvocacyRecord(Recorded.NOT_A_PROMOTER, follow_up_id, chosen, account)
    if account_id is None:
        return AdvocacyRecord(Recorded.NO_ACCOUNT, follow_up_id, chosen)
    key = follow_up_key(follow_up_id, chosen)
    new_id = insert_or_ignore(
        session,
        AdvocacyEvent,
        {
            "external_id": key,
            "account_id": account_id,
            "follow_up_id": follow_up_id,
            "team_member_id": member.id,
            "kind": chosen,
            "occurred_on": now.date(),
            "note": (note or "").strip() or None,
        },
        unique=("external_id",),
    )
    if new_id is None:
        recorder = aliased(TeamMember)
        earlier = session.execute(
            select(recorder.name, AdvocacyEvent.occurred_on)
            .outerjoin(recorder, recorder.id == AdvocacyEvent.team_member_id)
            .where(AdvocacyEvent.external_id == key)
        ).first()
        by, on = (earlier[0], earlier[1]) if earlier is not None else (None, None)
        return AdvocacyRecord(Recorded.ALREADY, follow_up_id, chosen, account, by, on)
    outbox.touch(session, follow_up_id=follow_up_id, kinds=(ALERT,), now=now)
    return AdvocacyRecord(Recorded.DONE, follow_up_id, chosen, account, member.name, now.date())


@dataclass(frozen=True, slots=True)
class Tally:
    """Acts of advocacy by kind, for one CSM, one segment or everyone."""

    label: str
    counts: tuple[int, ...]
    """One count per kind, in `KINDS` order."""

    @property
    def total(self) -> int:
        return sum(self.counts)

    def of(self, kind: AdvocacyKind) -> int:
        return self.counts[KINDS.index(kind)]


@dataclass(frozen=True, slots=True)
class AdvocacyCounts:
    """Advocacy over [start, end), for a segment or everyone."""

    start: dt.date
    end: dt.date
    """Exclusive."""
    total: Tally
    by_csm: tuple[Tally, ...]
    """Most acts first; CSMs without any are left out."""
    by_segment: tuple[Tally, ...]
    """In segment order, every segment in scope (zero included: none is news there too)."""


def _tally(label: str, kinds: Counter[AdvocacyKind]) -> Tally:
    return Tally(label, tuple(kinds[kind] for kind in KINDS))


def advocacy_counts(
    session: Session, start: dt.date, end: dt.date, *, segment: Segment | None = None
) -> AdvocacyCounts:
    """Acts of advocacy that occurred in [start, end), by kind, per CSM and per segment."""
    credited = aliased(TeamMember)
    statement = (
        select(AdvocacyEvent.kind, Account.segment, credited.name)
        .join(Account, Account.id == AdvocacyEvent.account_id)
        .outerjoin(
            credited,
            credited.id == func.coalesce(AdvocacyEvent.team_member_id, Account.owner_id),
        )
        .where(AdvocacyEvent.occurred_on >= start, AdvocacyEvent.occurred_on < end)
    )
    if segment is not None:
        statement = statement.where(Account.segment == segment)
    total: Counter[AdvocacyKind] = Counter()
    by_csm: dict[str, Counter[AdvocacyKind]] = {}
    by_segment: dict[Segment, Counter[AdvocacyKind]] = {
        s: Counter() for s in Segment if segment is None or s is segment
    }
    for kind, account_segment, csm in session.execute(statement):
        total[kind] += 1
        by_csm.setdefault(csm or UNCREDITED, Counter())[kind] += 1
        by_segment[account_segment][kind] += 1
    csms = sorted(
        (_tally(name, kinds) for name, kinds in by_csm.items()),
        key=lambda tally: (-tally.total, tally.label),
    )
    return AdvocacyCounts(
        start=start,
        end=end,
        total=_tally("all", total),
        by_csm=tuple(csms),
        by_segment=tuple(_tally(s.value, kinds) for s, kinds in by_segment.items()),
    )


@dataclass(frozen=True, slots=True)
class Act:
    """One act of advocacy of an account, as the account's value answer lists it."""

    kind: AdvocacyKind
    occurred_on: dt.date
    by: str | None
    note: str | None
    from_follow_up: bool


def account_advocacy(session: Session, account_id: int, *, limit: int = 10) -> tuple[Act, ...]:
    """An account's latest acts of advocacy, newest first."""
    credited = aliased(TeamMember)
    rows = session.execute(
        select(
            AdvocacyEvent.kind,
            AdvocacyEvent.occurred_on,
            credited.name,
            AdvocacyEvent.note,
            AdvocacyEvent.follow_up_id,
        )
        .outerjoin(credited, credited.id == AdvocacyEvent.team_member_id)
        .where(AdvocacyEvent.account_id == account_id)
        .order_by(AdvocacyEvent.occurred_on.desc(), AdvocacyEvent.id.desc())
        .limit(limit)
    ).all()
    return tuple(Act(r[0], r[1], r[2], r[3], r[4] is not None) for r in rows)


def account_tally(session: Session, account_id: int) -> Tally:
    """Every act of advocacy an account ever gave, by kind."""
    kinds: Counter[AdvocacyKind] = Counter(
        dict(
            session.execute(
                select(AdvocacyEvent.kind, func.count())
                .where(AdvocacyEvent.account_id == account_id)
                .group_by(AdvocacyEvent.kind)
            ).all()
        )
    )
    return _tally("all", kinds)

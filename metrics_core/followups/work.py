"""Follow-ups on survey answers: what is open, whose it is, and claiming, reassigning, closing.

Every change to a follow-up also marks its alert messages for editing (the outbox's
`touch`) in the same transaction, so the alert in the channel always catches up with
who owns it and how it ended.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from metrics_core.accounts.team import Member
from metrics_core.delivery import outbox
from metrics_core.store.models import (
    Account,
    AdvocacyEvent,
    AdvocacyKind,
    AnswerBand,
    FollowUp,
    FollowUpStatus,
    Segment,
    SurveyKind,
    SurveyResponse,
    TeamMember,
    TeamRole,
)


@dataclass(frozen=True, slots=True)
class OpenFollowUp:
    id: int
    account: str | None
    score: int
    kind: str
    comment: str | None
    status: FollowUpStatus
    owner: str | None
    created_at: dt.datetime


def open_follow_ups(
    session: Session, *, owner_id: int | None = None, limit: int = 20
) -> list[OpenFollowUp]:
    """Open and claimed follow-ups, oldest first (the ones most at risk of being forgotten)."""
    owner = aliased(TeamMember)
    statement = (
        select(
            FollowUp.id,
            Account.name,
            SurveyResponse.score,
            SurveyResponse.kind,
            SurveyResponse.comment,
            FollowUp.status,
            owner.name,
            FollowUp.created_at,
        )
        .join(SurveyResponse, SurveyResponse.id == FollowUp.survey_response_id)
        .outerjoin(Account, Account.id == FollowUp.account_id)
        .outerjoin(owner, owner.id == FollowUp.owner_id)
        .where(FollowUp.status.in_((FollowUpStatus.OPEN, FollowUpStatus.CLAIMED)))
        .order_by(FollowUp.created_at, FollowUp.id)
        .limit(limit)
    )
    if owner_id is not None:
        statement = statement.where(FollowUp.owner_id == owner_id)
    return [
        OpenFollowUp(r[0], r[1], r[2], r[3].value, r[4], r[5], r[6], r[7])
        for r in session.execute(statement)
    ]


# The outbox kind of a survey alert: the one message per target that claims and closes edit.
ALERT = "survey_alert"
REMINDER = "sla_reminder"
ESCALATION = "sla_escalation"


class Outcome(enum.StrEnum):
    """What a claim, reassignment or close did, for the person who clicked."""

    DONE = "done"
    ALREADY_YOURS = "already_yours"
    TAKEN = "taken"
    CLOSED = "closed"
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Change:
    outcome: Outcome
    follow_up_id: int
    owner: str | None = None
    detail: str | None = None


def _owner_name(session: Session, owner_id: int | None) -> str | None:
    if owner_id is None:
        return None
    return session.scalar(select(TeamMember.name).where(TeamMember.id == owner_id))


def _changed(session: Session, follow_up_id: int, now: dt.datetime) -> None:
    outbox.touch(session, follow_up_id=follow_up_id, kinds=(ALERT,), now=now)


def claim(session: Session, follow_up_id: int, member: Member, now: dt.datetime) -> Change:
    """Take an open follow-up. Race-free: the conditional UPDATE lets exactly one claimer
    win, however many click at once (on PostgreSQL the losers wait for the winner's row
    lock and then find the row no longer open; SQLite serialises the writers)."""
    won = session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up_id, FollowUp.status == FollowUpStatus.OPEN)
        .values(status=FollowUpStatus.CLAIMED, owner_id=member.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount == 1:  # type: ignore[attr-defined]
        _changed(session, follow_up_id, now)
        return Change(Outcome.DONE, follow_up_id, member.name)
    row = session.get(FollowUp, follow_up_id)
    if row is None:
        return Change(Outcome.NOT_FOUND, follow_up_id)
    owner = _owner_name(session, row.owner_id)
    if row.status is FollowUpStatus.CLOSED:
        return Change(Outcome.CLOSED, follow_up_id, owner)
    if row.owner_id == member.id:
        return Change(Outcome.ALREADY_YOURS, follow_up_id, owner)
    return Change(Outcome.TAKEN, follow_up_id, owner)


def _may_manage(row: FollowUp, member: Member) -> bool:
    """The owner, a manager or an admin; anyone on the team while nobody owns it."""
    return (
        row.owner_id is None
        or row.owner_id == member.id
        or member.role in (TeamRole.MANAGER, TeamRole.ADMIN)
    )


def _manageable(
    session: Session, follow_up_id: int, member: Member, verb: str
) -> FollowUp | Change:
    """The follow-up, locked, if `member` may still change it; else why not."""
    row = session.get(FollowUp, follow_up_id, with_for_update=True)
    if row is None:
        return Change(Outcome.NOT_FOUND, follow_up_id)
    if row.status is FollowUpStatus.CLOSED:
        return Change(Outcome.CLOSED, follow_up_id, _owner_name(session, row.owner_id))
    if not _may_manage(row, member):
        return Change(
            Outcome.NOT_ALLOWED,
            follow_up_id,
            _owner_name(session, row.owner_id),
            f"only its owner or a manager can {verb} it",
        )
    return row


def reassign(
    session: Session, follow_up_id: int, member: Member, new_owner_id: int, now: dt.datetime
) -> Change:
    row = _manageable(session, follow_up_id, member, "reassign")
    if isinstance(row, Change):
        return row
    new_owner = session.get(TeamMember, new_owner_id)
    if new_owner is None or not new_owner.active:
        return Change(Outcome.INVALID, follow_up_id, detail="that person is not on the CS team")
    row.owner_id = new_owner.id
    row.status = FollowUpStatus.CLAIMED
    row.claimed_at = row.claimed_at or now
    _changed(session, follow_up_id, now)
    return Change(Outcome.DONE, follow_up_id, new_owner.name)


def close(
    session: Session,
    follow_up_id: int,
    member: Member,
    *,
    outcome: str,
    note: str | None,
    allowed_outcomes: list[str],
    now: dt.datetime,
) -> Change:
    """Close the loop with an outcome and a note; closing an unclaimed one claims it too."""
    if outcome not in allowed_outcomes:
        return Change(
            Outcome.INVALID,
            follow_up_id,
            detail=f"outcome must be one of {', '.join(allowed_outcomes)}",
        )
    row = _manageable(session, follow_up_id, member, "close")
    if isinstance(row, Change):
        return row
    if row.owner_id is None:
        row.owner_id = member.id
        row.claimed_at = now
    row.status = FollowUpStatus.CLOSED
    row.closed_at = now
    row.closed_by_id = member.id
    row.outcome = outcome
    row.note = (note or "").strip() or None
    _changed(session, follow_up_id, now)
    return Change(Outcome.DONE, follow_up_id, _owner_name(session, row.owner_id))


@dataclass(frozen=True, slots=True)
class FollowUpView:
    """Everything an alert about one answer shows, read in one go when it is rendered."""

    id: int
    status: FollowUpStatus
    band: AnswerBand
    kind: SurveyKind
    score: int
    comment: str | None
    respondent_name: str | None
    respondent_email: str | None
    submitted_at: dt.datetime
    created_at: dt.datetime
    account_id: int | None
    account_name: str | None
    account_external_id: str | None
    segment: Segment | None
    owner: str | None
    account_owner: str | None
    claimed_at: dt.datetime | None
    closed_at: dt.datetime | None
    outcome: str | None
    note: str | None
    advocacy: tuple[AdvocacyKind, ...] = ()
    """The kinds of advocacy recorded on it (a promoter's), in the enum's order."""


def _advocacy(session: Session, follow_up_id: int) -> tuple[AdvocacyKind, ...]:
    recorded = set(
        session.scalars(
            select(AdvocacyEvent.kind).where(AdvocacyEvent.follow_up_id == follow_up_id)
        )
    )
    return tuple(kind for kind in AdvocacyKind if kind in recorded)


def follow_up_view(session: Session, follow_up_id: int) -> FollowUpView | None:
    owner = aliased(TeamMember)
    account_owner = aliased(TeamMember)
    row = session.execute(
        select(
            FollowUp.id,
            FollowUp.status,
            FollowUp.band,
            SurveyResponse.kind,
            SurveyResponse.score,
            SurveyResponse.comment,
            SurveyResponse.respondent_name,
            SurveyResponse.respondent_email,
            SurveyResponse.submitted_at,
            FollowUp.created_at,
            Account.id,
            Account.name,
            Account.external_id,
            Account.segment,
            owner.name,
            account_owner.name,
            FollowUp.claimed_at,
            FollowUp.closed_at,
            FollowUp.outcome,
            FollowUp.note,
        )
        .join(SurveyResponse, SurveyResponse.id == FollowUp.survey_response_id)
        .outerjoin(Account, Account.id == FollowUp.account_id)
        .outerjoin(owner, owner.id == FollowUp.owner_id)
        .outerjoin(account_owner, account_owner.id == Account.owner_id)
        .where(FollowUp.id == follow_up_id)
    ).first()
    if row is None:
        return None
    view = FollowUpView(*tuple(row))
    if view.band is not AnswerBand.PROMOTER:
        return view
    return dataclasses.replace(view, advocacy=_advocacy(session, follow_up_id))

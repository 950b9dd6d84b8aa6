"""Follow-ups on survey responses: what is open, whose it is, how long it has waited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from metrics_core.models import Account, FollowUp, FollowUpStatus, SurveyResponse, TeamMember


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

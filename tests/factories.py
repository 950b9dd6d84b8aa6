"""Small builders for hand-made fixtures, so each test states only the facts it is about."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from metrics_core.models import (
    Account,
    LifecycleStage,
    Segment,
    SurveyKind,
    SurveyResponse,
    TeamMember,
    Ticket,
    TicketPriority,
    TicketStatus,
    UsageDaily,
)


def utc(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def team_member(
    session: Session, email: str = "jo.csm@closeloop.example", **fields: object
) -> TeamMember:
    member = TeamMember(email=email, name=fields.pop("name", "Jo Csm"), **fields)
    session.add(member)
    session.flush()
    return member


def account(
    session: Session,
    external_id: str = "ACME",
    name: str = "Acme Corp",
    *,
    seats: int = 100,
    segment: Segment = Segment.ENTERPRISE,
    owner: TeamMember | None = None,
    domain: str | None = "acme.example",
) -> Account:
    record = Account(
        external_id=external_id,
        name=name,
        domain=domain,
        segment=segment,
        seats=seats,
        owner_id=owner.id if owner else None,
        lifecycle_stage=LifecycleStage.MATURE,
        created_on=dt.date(2024, 1, 1),
    )
    session.add(record)
    session.flush()
    return record


def daily_usage(
    session: Session, account_id: int, last_day: dt.date, days: int, active_users: int
) -> None:
    session.add_all(
        UsageDaily(
            account_id=account_id,
            day=last_day - dt.timedelta(days=offset),
            active_users=active_users,
            sessions=active_users * 2,
            events=active_users * 20,
            feature_counts={},
        )
        for offset in range(days)
    )


def ticket(
    session: Session,
    account_id: int,
    external_id: str,
    priority: TicketPriority,
    status: TicketStatus,
    opened: dt.datetime,
) -> None:
    session.add(
        Ticket(
            external_id=external_id,
            account_id=account_id,
            priority=priority,
            status=status,
            opened_at=opened,
        )
    )


def nps(
    session: Session, account_id: int | None, response_id: str, score: int, when: dt.datetime
) -> None:
    session.add(
        SurveyResponse(
            provider="test",
            provider_response_id=response_id,
            kind=SurveyKind.NPS,
            score=score,
            account_id=account_id,
            submitted_at=when,
            received_at=when,
            updated_at=when,
        )
    )

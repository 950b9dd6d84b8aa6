"""Small builders for hand-made fixtures, so each test states only the facts it is about."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from metrics_core.health import product_features
from metrics_core.revenue.arr import Term, account_history
from metrics_core.store import watermarks
from metrics_core.store.models import (
    Account,
    Activity,
    ActivityKind,
    ArrMovement,
    Contract,
    LifecycleStage,
    Renewal,
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
    session: Session,
    account_id: int,
    last_day: dt.date,
    days: int,
    active_users: int,
    features: dict[str, int] | None = None,
) -> None:
    session.add_all(
        UsageDaily(
            account_id=account_id,
            day=last_day - dt.timedelta(days=offset),
            active_users=active_users,
            sessions=active_users * 2,
            events=active_users * 20,
            feature_counts=features or {},
        )
        for offset in range(days)
    )
    if features:
        first = last_day - dt.timedelta(days=days - 1)
        product_features.record(session.connection(), dict.fromkeys(features, first))
    watermarks.advance(session.connection(), watermarks.USAGE, last_day)


def activity(
    session: Session,
    account_id: int,
    external_id: str,
    when: dt.datetime,
    kind: ActivityKind = ActivityKind.CALL,
    by: TeamMember | None = None,
) -> None:
    session.add(
        Activity(
            external_id=external_id,
            account_id=account_id,
            kind=kind,
            occurred_at=when,
            team_member_id=by.id if by else None,
        )
    )


def contracts(session: Session, account_id: int, terms: list[Term]) -> None:
    """Contracts with the movements and renewals `metrics_core.revenue.arr` derives from them."""
    ids = {}
    for term in terms:
        contract = Contract(
            external_id=str(term.key),
            account_id=account_id,
            start_date=term.start,
            end_date=term.end,
            arr=term.arr,
        )
        session.add(contract)
        session.flush()
        ids[term.key] = contract.id
    movements, renewals = account_history(terms)
    session.add_all(
        ArrMovement(
            account_id=account_id,
            contract_id=ids[m.term_key],
            kind=m.kind,
            amount=m.amount,
            effective_on=m.effective_on,
        )
        for m in movements
    )
    session.add_all(
        Renewal(
            account_id=account_id,
            contract_id=ids[r.term_key],
            renewal_date=r.renewal_date,
            arr=r.arr,
            status=r.status,
        )
        for r in renewals
    )
    session.flush()


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
    session: Session,
    account_id: int | None,
    response_id: str,
    score: int,
    when: dt.datetime,
    kind: SurveyKind = SurveyKind.NPS,
) -> None:
    session.add(
        SurveyResponse(
            provider="test",
            provider_response_id=response_id,
            kind=kind,
            score=score,
            account_id=account_id,
            submitted_at=when,
            received_at=when,
            updated_at=when,
        )
    )

"""Account health (0–100, higher is healthier) from usage, support and sentiment.

This is the provisional scorecard: three components with fixed weights. When an input is
missing (no usage rows, no survey answer) its weight is shared among the others and the
result says so, rather than scoring the gap as zero and calling a quiet account unhealthy.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metrics_core.models import (
    Account,
    SurveyKind,
    SurveyResponse,
    Ticket,
    TicketPriority,
    TicketStatus,
    UsageDaily,
)

USAGE_WINDOW_DAYS = 30
SENTIMENT_WINDOW_DAYS = 365
# Share of seats active on an average day that earns full usage marks.
FULL_MARKS_DAILY_ACTIVE_SHARE = 0.6
TICKET_PENALTY = {
    TicketPriority.URGENT: 30.0,
    TicketPriority.HIGH: 20.0,
    TicketPriority.NORMAL: 5.0,
    TicketPriority.LOW: 2.0,
}
WEIGHTS = {"usage": 0.5, "support": 0.25, "sentiment": 0.25}
RED_BELOW = 40.0
GREEN_FROM = 70.0


class Band(enum.StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


def band_for(score: float) -> Band:
    if score < RED_BELOW:
        return Band.RED
    if score < GREEN_FROM:
        return Band.YELLOW
    return Band.GREEN


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    score: float | None  # None: no data, weight redistributed
    weight: float  # effective weight after redistribution (0 when missing)
    detail: str

    @property
    def contribution(self) -> float:
        return 0.0 if self.score is None else self.score * self.weight


@dataclass(frozen=True, slots=True)
class HealthResult:
    score: float
    band: Band
    components: tuple[Component, ...]
    as_of: dt.date

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components if c.score is None)


def _usage(session: Session, account: Account, as_of: dt.date) -> tuple[float | None, str]:
    start = as_of - dt.timedelta(days=USAGE_WINDOW_DAYS)
    average = session.scalar(
        select(func.avg(UsageDaily.active_users)).where(
            UsageDaily.account_id == account.id, UsageDaily.day > start, UsageDaily.day <= as_of
        )
    )
    if average is None:
        return None, f"no usage in the last {USAGE_WINDOW_DAYS} days"
    if account.seats <= 0:
        return None, "seat count unknown"
    share = float(average) / account.seats
    score = min(1.0, share / FULL_MARKS_DAILY_ACTIVE_SHARE) * 100
    return score, f"{float(average):.0f} of {account.seats} seats active on an average day"


def _support(session: Session, account: Account) -> tuple[float, str]:
    rows = session.execute(
        select(Ticket.priority, func.count())
        .where(
            Ticket.account_id == account.id,
            Ticket.status.in_((TicketStatus.OPEN, TicketStatus.PENDING)),
        )
        .group_by(Ticket.priority)
    ).all()
    open_by_priority: dict[TicketPriority, int] = dict(rows)
    penalty = sum(TICKET_PENALTY[p] * n for p, n in open_by_priority.items())
    total = sum(open_by_priority.values())
    urgent = open_by_priority.get(TicketPriority.URGENT, 0) + open_by_priority.get(
        TicketPriority.HIGH, 0
    )
    return max(0.0, 100.0 - penalty), f"{total} open tickets, {urgent} high or urgent"


def _sentiment(session: Session, account: Account, as_of: dt.date) -> tuple[float | None, str]:
    since = dt.datetime.combine(
        as_of - dt.timedelta(days=SENTIMENT_WINDOW_DAYS), dt.time(), tzinfo=dt.UTC
    )
    latest = session.execute(
        select(SurveyResponse.score, SurveyResponse.submitted_at)
        .where(
            SurveyResponse.account_id == account.id,
            SurveyResponse.kind == SurveyKind.NPS,
            SurveyResponse.submitted_at >= since,
        )
        .order_by(SurveyResponse.submitted_at.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None, f"no NPS answer in the last {SENTIMENT_WINDOW_DAYS} days"
    score, submitted = latest
    return float(score) * 10, f"latest NPS answer {score}/10 on {submitted:%Y-%m-%d}"


def account_health(session: Session, account_id: int, as_of: dt.date) -> HealthResult:
    """The health of one account as of a day."""
    account = session.get_one(Account, account_id)
    raw = {
        "usage": _usage(session, account, as_of),
        "support": _support(session, account),
        "sentiment": _sentiment(session, account, as_of),
    }
    present = sum(WEIGHTS[name] for name, (score, _) in raw.items() if score is not None)
    components = tuple(
        Component(
            name=name,
            score=None if score is None else round(score, 1),
            weight=0.0 if score is None or present == 0 else WEIGHTS[name] / present,
            detail=detail,
        )
        for name, (score, detail) in raw.items()
    )
    total = round(sum(c.contribution for c in components), 1)
    return HealthResult(score=total, band=band_for(total), components=components, as_of=as_of)

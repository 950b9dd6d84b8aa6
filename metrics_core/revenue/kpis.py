"""The numbers a CS leader is held to, for a period and segment: the `kpis` answer.

The answer reads as a chain in three stages, from what the team does to what it earns:
activities (calls, QBRs, trainings and emails with customers), leading indicators (how
customers respond: adoption, health and NPS) and lagging outcomes (retention, expansion,
cost to retain, and the referrals and other advocacy customers gave).

Every part covers the period and segment asked: activities, NPS, advocacy and retention
over the period, cost to retain over the same days, adoption and health as the last
stored snapshot of the period says (health is not recomputed for past days: history is
what the daily snapshots kept), the books as they stood at its end and the touchpoints of
its last months. A period that runs up to today also looks ahead, at the ARR at stake in
renewals due soon, by the definition `renewals` and digests use. Beside the period, NRR
and GRR by calendar quarter up to the period's last quarter show the trend, each quarter
by the same `retention` as the headline, so a quarter asked on its own reads the same
numbers. All of it is read in one transaction, so its parts agree with each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metrics_core.churn.risk import RiskModel
from metrics_core.config import Config
from metrics_core.health.scorecard import Band
from metrics_core.revenue.efficiency import (
    CostToRetain,
    activity_counts,
    books,
    cost_to_retain,
    touch_window,
)
from metrics_core.revenue.rates import RetentionResult, clv, retention
from metrics_core.revenue.renewals import AtStake, at_stake
from metrics_core.store.frames import movements, survey_responses
from metrics_core.store.models import Account, HealthSnapshot, Segment, SurveyKind
from metrics_core.surveys.nps import NpsResult, nps
from metrics_core.value.advocacy import AdvocacyCounts, advocacy_counts

AHEAD_DAYS = 90
"""How far a period that runs up to today looks ahead at renewals."""
QUARTERS = 8
"""How many calendar quarters the retention trend covers, at most."""


@dataclass(frozen=True, slots=True)
class Book:
    """One CSM's customers and their ARR."""

    csm: str
    accounts: int
    arr: float


@dataclass(frozen=True, slots=True)
class Touches:
    """One CSM's touchpoints in one calendar month (UTC), by kind."""

    csm: str
    month: dt.date
    """The month's first day."""
    calls: int
    qbrs: int
    trainings: int
    emails: int


@dataclass(frozen=True, slots=True)
class Activities:
    """Touchpoints with customers over the whole period, by kind, and how many CSMs held them.

    Only touchpoints recorded with a team member count, as in the per-month table.
    """

    calls: int
    qbrs: int
    trainings: int
    emails: int
    csms: int
    """Team members with at least one touchpoint in the period."""

    @property
    def total(self) -> int:
        return self.calls + self.qbrs + self.trainings + self.emails


@dataclass(frozen=True, slots=True)
class Leading:
    """How customers respond: adoption and health from the period's last stored snapshot,
    and NPS over the period."""

    snapshot_day: dt.date | None
    """The latest health snapshot on or before the period's last known day; None when
    there is none, and then no adoption or health is given."""
    customers: int
    """Customers in that snapshot (in the segment)."""
    average_health: float | None
    red: int
    """Customers in the red band."""
    adoption: float | None
    """The average adoption score (0–100: the share of the product's features used in the
    usage window, full marks at `health.adoption.full_marks_feature_share`)."""
    adoption_customers: int
    """Customers with feature data, whom the adoption average covers."""
    nps: NpsResult


@dataclass(frozen=True, slots=True)
class QuarterRetention:
    """Retention over one calendar quarter, or the current quarter so far."""

    quarter: dt.date
    """The quarter's first day."""
    retention: RetentionResult
    """Over [quarter, end of quarter), or up to today for the current quarter."""
    complete: bool
    """False for the quarter still running: its retention covers the days so far."""


@dataclass(frozen=True, slots=True)
class KpiReport:
    retention: RetentionResult
    """Over [start, end), `end` at most tomorrow: the days that have happened."""
    lifetime_value: float | None
    """Customer lifetime value at the configured gross margin, from the period's logo churn
    annualised; None when no customer churned (no lifetime to estimate)."""
    cost_to_retain: CostToRetain
    books: tuple[Book, ...]
    """Largest ARR first."""
    books_on: dt.date
    """The day whose ARR the books count: the last day of the period that has happened."""
    touches: tuple[Touches, ...]
    touch_months: tuple[dt.date, ...]
    """Every month of the touchpoint window, oldest first, as first days."""
    touch_start: dt.date
    touch_end: dt.date
    """Exclusive."""
    ahead: AtStake | None
    """The ARR at stake in renewals due within `AHEAD_DAYS`, for a period that runs up to
    today (asked with a churn model); None otherwise."""
    quarters: tuple[QuarterRetention, ...]
    """Up to `QUARTERS` calendar quarters, oldest first, ending with the quarter of the
    period's last known day; only quarters whose whole cohort is on record (they open after
    the first recorded ARR movement, with customers in the segment) are listed."""
    activities: Activities | None = None
    """The first stage: touchpoints over the whole period."""
    leading: Leading | None = None
    """The second stage: adoption, health and NPS."""
    advocacy: AdvocacyCounts | None = None
    """Part of the third stage: referrals and other advocacy in the period."""


def _months(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    """The calendar months [start, end) touches, as their first days."""
    last = end - dt.timedelta(days=1)
    month = start.replace(day=1)
    months = []
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return tuple(months)


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_quarter(first: dt.date) -> dt.date:
    month = first.month + 3
    return dt.date(first.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def quarterly_retention(
    moves: pd.DataFrame, last_day: dt.date, known_end: dt.date, segment: str | None
) -> tuple[QuarterRetention, ...]:
    """NRR and GRR of up to `QUARTERS` calendar quarters ending with `last_day`'s quarter.

    Each quarter is `retention` over its own days (the quarter still running stops at
    `known_end`). A quarter that opens on or before the first recorded movement has no
    cohort on record (its customers had not been loaded, or did not exist yet), and one
    with no customers in the segment has no rates: both are left out rather than drawn
    as 0 % or 100 %.
    """
    if moves.empty:
        return ()
    first_movement = pd.Timestamp(moves["effective_on"].min()).date()
    starts = [_quarter_start(last_day)]
    while len(starts) < QUARTERS:
        previous = _quarter_start(starts[-1] - dt.timedelta(days=1))
        if previous <= first_movement:
            break
        starts.append(previous)
    quarters = []
    for start in reversed(starts):
        if start <= first_movement:
            continue
        end = min(_next_quarter(start), known_end)
        result = retention(moves, start, end, segment)
        if result.accounts:
            quarters.append(QuarterRetention(start, result, end == _next_quarter(start)))
    return tuple(quarters)


def _activities(counts: pd.DataFrame) -> Activities:
    """Totals of `activity_counts` rows (per CSM and month) over the whole period."""
    return Activities(
        calls=int(counts["call"].sum()),
        qbrs=int(counts["qbr"].sum()),
        trainings=int(counts["training"].sum()),
        emails=int(counts["email"].sum()),
        csms=int(counts["csm"].nunique()),
    )


def _leading(
    session: Session,
    start: dt.date,
    end: dt.date,
    last_day: dt.date,
    segment: Segment | None,
) -> Leading:
    """Adoption and health on the last snapshot day up to `last_day`; NPS over [start, end)."""
    day_query = select(func.max(HealthSnapshot.day)).where(HealthSnapshot.day <= last_day)
    snapshot_day = session.scalar(day_query)
    scores: list[float] = []
    adoption: list[float] = []
    red = 0
    if snapshot_day is not None:
        statement = (
            select(HealthSnapshot.score, HealthSnapshot.band, HealthSnapshot.components)
            .join(Account, Account.id == HealthSnapshot.account_id)
            .where(HealthSnapshot.day == snapshot_day)
        )
        if segment is not None:
            statement = statement.where(Account.segment == segment)
        for score, band, components in session.execute(statement):
            scores.append(float(score))
            red += band == Band.RED.value
            value = (components or {}).get("adoption")
            if value is not None:
                adoption.append(float(value))
    answers = survey_responses(
        session,
        dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
        dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC),
        kind=SurveyKind.NPS,
        segment=segment.value if segment else None,
    )
    return Leading(
        snapshot_day=snapshot_day,
        customers=len(scores),
        average_health=sum(scores) / len(scores) if scores else None,
        red=red,
        adoption=sum(adoption) / len(adoption) if adoption else None,
        adoption_customers=len(adoption),
        nps=nps(answers["score"]),
    )


def kpi_report(
    session: Session,
    *,
    start: dt.date,
    end: dt.date,
    segment: Segment | None,
    today: dt.date,
    config: Config,
    model: RiskModel | None,
) -> KpiReport:
    """The period [start, end) for the `kpis` answer; the days after today are not read.

    With `model` (for a period that runs up to today) the answer also looks ahead.
    """
    known_end = min(end, today + dt.timedelta(days=1))
    moves = movements(session, until=today)
    segment_value = segment.value if segment else None
    result = retention(moves, start, known_end, segment_value)
    scale = 365 / max(1, (end - start).days)
    annual_logo_churn = min(1.0, (1 - (result.logo_retention or 1.0)) * scale)
    books_on = known_end - dt.timedelta(days=1)
    touch_start, touch_end = touch_window(start, known_end)
    team = books(session, books_on, segment=segment)
    counts = activity_counts(session, start, known_end, segment=segment)
    # The touchpoint table's months are whole months of the period (or its first part
    # month), so they are the period's counts from the first month of the window on.
    touches = counts[counts["month"] >= f"{touch_start:%Y-%m}"]
    return KpiReport(
        retention=result,
        lifetime_value=clv(
            result.end_arr / max(1, result.retained_accounts),
            config.revenue.gross_margin,
            annual_logo_churn,
        ),
        cost_to_retain=cost_to_retain(session, start, known_end, segment=segment),
        books=tuple(
            Book(str(row.csm), int(row.accounts), float(row.arr)) for row in team.itertuples()
        ),
        books_on=books_on,
        touches=tuple(
            Touches(
                csm=str(row.csm),
                month=dt.date.fromisoformat(f"{row.month}-01"),
                calls=int(row.call),
                qbrs=int(row.qbr),
                trainings=int(row.training),
                emails=int(row.email),
            )
            for row in touches.itertuples()
        ),
        touch_months=_months(touch_start, touch_end),
        touch_start=touch_start,
        touch_end=touch_end,
        ahead=at_stake(session, today, AHEAD_DAYS, config, model, segment)
        if model is not None
        else None,
        quarters=quarterly_retention(moves, books_on, known_end, segment_value),
        activities=_activities(counts),
        leading=_leading(session, start, known_end, books_on, segment),
        advocacy=advocacy_counts(session, start, known_end, segment=segment),
    )

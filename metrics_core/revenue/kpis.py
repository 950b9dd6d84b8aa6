"""The numbers a CS leader is held to, for a period and segment: the `kpis` answer.

Every part covers the period and segment asked: retention over the period, cost to
retain over the same days, the books as they stood at its end and the touchpoints of its
last months. A period that runs up to today also looks ahead, at the ARR at stake in
renewals due soon, by the definition `renewals` and digests use. All of it is read in one
transaction, so its parts agree with each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from metrics_core.churn.risk import RiskModel
from metrics_core.config import Config
from metrics_core.revenue.efficiency import (
    CostToRetain,
    activity_counts,
    books,
    cost_to_retain,
    touch_window,
)
from metrics_core.revenue.rates import RetentionResult, clv, retention
from metrics_core.revenue.renewals import AtStake, at_stake
from metrics_core.store.frames import movements
from metrics_core.store.models import Segment

AHEAD_DAYS = 90
"""How far a period that runs up to today looks ahead at renewals."""


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


def _months(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    """The calendar months [start, end) touches, as their first days."""
    last = end - dt.timedelta(days=1)
    month = start.replace(day=1)
    months = []
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return tuple(months)


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
    result = retention(moves, start, known_end, segment.value if segment else None)
    scale = 365 / max(1, (end - start).days)
    annual_logo_churn = min(1.0, (1 - (result.logo_retention or 1.0)) * scale)
    books_on = known_end - dt.timedelta(days=1)
    touch_start, touch_end = touch_window(start, known_end)
    team = books(session, books_on, segment=segment)
    touches = activity_counts(session, touch_start, touch_end, segment=segment)
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
    )

"""The numbers a CS leader is held to, for a period and segment: the `kpis` answer.

Every part covers the period and segment asked: retention over the period, cost to
retain over the same days, the books as they stood at its end and the touchpoints of its
last months. A period that runs up to today also looks ahead, at the ARR at stake in
renewals due soon, by the definition `renewals` and digests use. Beside the period, NRR
and GRR by calendar quarter up to the period's last quarter show the trend, each quarter
by the same `retention` as the headline, so a quarter asked on its own reads the same
numbers. All of it is read in one transaction, so its parts agree with each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
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
        quarters=quarterly_retention(moves, books_on, known_end, segment_value),
    )

"""Usage drops that respect the calendar.

Usage has a weekly rhythm (weekends are quiet) and a yearly one (December is quiet), so a
day-over-day or month-over-month comparison cries wolf. Here the last `recent_days`
(normally a week) are compared with the same weekdays of the previous `baseline_weeks`
weeks; when the account has a year of history, the expectation is also moved by how
usage moved between those same weeks a year earlier (364 days back, so weekdays still
line up). An account is flagged when its usage fell below the expectation by at least
the configured share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from metrics_core.config import Config
from metrics_core.models import UsageDaily

YEAR_IN_WEEKS_DAYS = 364


def _week_sums(
    session: Session, end: dt.date, weeks: int, length: int, ids: Sequence[int] | None
) -> pd.DataFrame:
    """Active-user totals per account for `weeks + 1` consecutive windows ending at `end`.

    Column k holds the window ending k weeks before `end` (k = 0 is the most recent).
    """
    columns: list[Any] = []
    for k in range(weeks + 1):
        last = end - dt.timedelta(days=7 * k)
        in_window = (UsageDaily.day > last - dt.timedelta(days=length)) & (UsageDaily.day <= last)
        columns.append(func.sum(case((in_window, UsageDaily.active_users))).label(f"w{k}"))
    first = end - dt.timedelta(days=7 * weeks + length)
    statement = (
        select(UsageDaily.account_id, *columns)
        .where(UsageDaily.day > first, UsageDaily.day <= end)
        .group_by(UsageDaily.account_id)
    )
    if ids is not None:
        statement = statement.where(UsageDaily.account_id.in_(ids))
    rows = session.execute(statement).all()
    names = [f"w{k}" for k in range(weeks + 1)]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["account_id", *names])
    return frame.set_index("account_id").astype(float)


def usage_drops(
    session: Session, as_of: dt.date, config: Config, account_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Per account: recent usage, its baseline and expectation, the change and the flag.

    Columns: `recent`, `baseline`, `expected`, `change` (recent against expected, e.g.
    −0.4 for 40 % below), `yoy_change` (against the same days a year earlier, NaN without
    that history), `seasonal` (whether last year's movement adjusted the expectation) and
    `flagged`.
    """
    rules = config.usage_drop
    weeks, length = rules.baseline_weeks, rules.recent_days
    now = _week_sums(session, as_of, weeks, length, account_ids)
    if now.empty:
        return pd.DataFrame(
            columns=[
                "recent",
                "baseline",
                "expected",
                "change",
                "yoy_change",
                "seasonal",
                "flagged",
            ]
        )
    then = _week_sums(
        session, as_of - dt.timedelta(days=YEAR_IN_WEEKS_DAYS), weeks, length, account_ids
    ).reindex(now.index)
    baseline_cols = [f"w{k}" for k in range(1, weeks + 1)]
    recent = now["w0"].fillna(0.0)
    # A baseline week without any row is a week before the account existed: leave it out.
    baseline = now[baseline_cols].mean(axis=1, skipna=True)
    last_year_baseline = then[baseline_cols].mean(axis=1, skipna=True)
    seasonal_factor = then["w0"] / last_year_baseline.where(last_year_baseline > 0)
    seasonal = seasonal_factor.notna() & then[baseline_cols].notna().all(axis=1)
    expected = baseline * seasonal_factor.where(seasonal, 1.0)
    change = recent / expected.where(expected > 0) - 1
    result = pd.DataFrame(
        {
            "recent": recent,
            "baseline": baseline,
            "expected": expected,
            "change": change,
            "yoy_change": recent / then["w0"].where(then["w0"] > 0) - 1,
            "seasonal": seasonal,
        }
    )
    result["flagged"] = np.asarray(change <= -rules.threshold) & np.asarray(baseline > 0)
    return result

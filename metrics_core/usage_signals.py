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
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Date, bindparam, case, func, select
from sqlalchemy.orm import Session

from metrics_core.config import Config
from metrics_core.models import UsageDaily

YEAR_IN_WEEKS_DAYS = 364


@functools.cache
def _week_sums_sql(weeks: int, filtered: bool) -> Any:
    """Sums of active users in `weeks + 1` windows; bounds come as parameters lo<k>/hi<k>."""
    columns: list[Any] = []
    for k in range(weeks + 1):
        low, high = bindparam(f"lo{k}", type_=Date()), bindparam(f"hi{k}", type_=Date())
        in_window = (UsageDaily.day > low) & (UsageDaily.day <= high)
        columns.append(func.sum(case((in_window, UsageDaily.active_users))))
    statement = (
        select(UsageDaily.account_id, *columns)
        .where(
            UsageDaily.day > bindparam("first", type_=Date()),
            UsageDaily.day <= bindparam("hi0", type_=Date()),
        )
        .group_by(UsageDaily.account_id)
    )
    if filtered:
        statement = statement.where(UsageDaily.account_id.in_(bindparam("ids", expanding=True)))
    return statement


def _week_sums(
    session: Session,
    end: dt.date,
    weeks: int,
    length: int,
    ids: Sequence[int] | None,
    at: dict[int, int],
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Active-user totals for `weeks + 1` windows ending at `end`, one row per account.

    Column k is the window ending k weeks before `end` (k = 0 is the most recent); NaN
    where the account has no row in that window. The mask says which accounts had any row.
    """
    params: dict[str, Any] = {"first": end - dt.timedelta(days=7 * weeks + length)}
    for k in range(weeks + 1):
        params[f"hi{k}"] = end - dt.timedelta(days=7 * k)
        params[f"lo{k}"] = params[f"hi{k}"] - dt.timedelta(days=length)
    if ids is not None:
        params["ids"] = list(ids)
    sums = np.full((len(at), weeks + 1), np.nan)
    seen = np.zeros(len(at), dtype=bool)
    statement = _week_sums_sql(weeks, ids is not None)
    for row in session.connection().execute(statement, params):
        index = at.get(row[0])
        if index is None:
            continue
        seen[index] = True
        sums[index] = [np.nan if v is None else float(v) for v in row[1:]]
    return sums, seen


def _nanmean(values: NDArray[np.float64]) -> NDArray[np.float64]:
    counts = np.sum(~np.isnan(values), axis=1)
    totals = np.nansum(values, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals / counts, np.nan)


def _ratio(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def drop_columns(
    session: Session,
    as_of: dt.date,
    config: Config,
    ids: Sequence[int] | None,
    at: dict[int, int],
) -> dict[str, NDArray[Any]]:
    """Arrays aligned with `at`: `recent`, `baseline`, `expected`, `change`, `yoy_change`,
    `seasonal`, `flagged`, and `seen` (the account has usage in the windows)."""
    rules = config.usage_drop
    weeks, length = rules.baseline_weeks, rules.recent_days
    now, seen = _week_sums(session, as_of, weeks, length, ids, at)
    then, _ = _week_sums(
        session, as_of - dt.timedelta(days=YEAR_IN_WEEKS_DAYS), weeks, length, ids, at
    )
    recent = np.nan_to_num(now[:, 0], nan=0.0)
    # A baseline week without any row is a week before the account existed: leave it out.
    baseline = _nanmean(now[:, 1:])
    last_year_baseline = _nanmean(then[:, 1:])
    factor = _ratio(then[:, 0], last_year_baseline)
    seasonal = ~np.isnan(factor) & ~np.isnan(then[:, 1:]).any(axis=1)
    expected = baseline * np.where(seasonal, factor, 1.0)
    change = _ratio(recent, expected) - 1
    flagged = (np.nan_to_num(change, nan=0.0) <= -rules.threshold) & (np.nan_to_num(baseline) > 0)
    return {
        "recent": recent,
        "baseline": baseline,
        "expected": expected,
        "change": change,
        "yoy_change": _ratio(recent, then[:, 0]) - 1,
        "seasonal": seasonal,
        "flagged": flagged & seen,
        "seen": seen,
    }


def usage_drop_columns(
    session: Session,
    as_of: dt.date,
    config: Config,
    ids: Sequence[int] | None,
    at: dict[int, int],
) -> dict[str, NDArray[Any]]:
    """The two columns health and risk take: `usage_drop` (flag) and `usage_drop_change`."""
    drops = drop_columns(session, as_of, config, ids, at)
    return {"usage_drop": drops["flagged"], "usage_drop_change": drops["change"]}


def usage_drops(
    session: Session, as_of: dt.date, config: Config, account_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Per account with usage: `recent`, `baseline`, `expected`, `change` (recent against
    expected, e.g. −0.4 for 40 % below), `yoy_change` (NaN without last year's data),
    `seasonal` (whether last year's movement adjusted the expectation) and `flagged`.
    """
    if account_ids is None:
        ids = [int(i) for i in session.scalars(select(UsageDaily.account_id).distinct())]
    else:
        ids = list(account_ids)
    at = {account_id: i for i, account_id in enumerate(sorted(ids))}
    drops = drop_columns(session, as_of, config, list(at) if account_ids is not None else None, at)
    seen = drops.pop("seen")
    frame = pd.DataFrame(drops, index=pd.Index(list(at), name="account_id"))
    return frame[seen]

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
from sqlalchemy import Date, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from metrics_core.config import Config
from metrics_core.store.models import UsageDaily

YEAR_IN_WEEKS_DAYS = 364


def week_sum_columns(prefix: str, weeks: int) -> list[Any]:
    """`weeks + 1` sums of active users, window k bounded by parameters <prefix>lo<k>/hi<k>.

    NULL (not 0) for an account with no row in a window: a week before the account existed
    is not a week of zero usage.
    """
    columns: list[Any] = []
    for k in range(weeks + 1):
        low = bindparam(f"{prefix}lo{k}", type_=Date())
        high = bindparam(f"{prefix}hi{k}", type_=Date())
        in_window = (UsageDaily.day > low) & (UsageDaily.day <= high)
        columns.append(func.sum(case((in_window, UsageDaily.active_users))))
    return columns


def week_params(prefix: str, end: dt.date, weeks: int, length: int) -> dict[str, dt.date]:
    """Bounds for `week_sum_columns`, plus <prefix>first: the start of the oldest window."""
    params = {f"{prefix}first": end - dt.timedelta(days=7 * weeks + length)}
    for k in range(weeks + 1):
        params[f"{prefix}hi{k}"] = end - dt.timedelta(days=7 * k)
        params[f"{prefix}lo{k}"] = params[f"{prefix}hi{k}"] - dt.timedelta(days=length)
    return params


def last_year(as_of: dt.date) -> dt.date:
    return as_of - dt.timedelta(days=YEAR_IN_WEEKS_DAYS)


def _nanmean(values: NDArray[np.float64]) -> NDArray[np.float64]:
    counts = np.sum(~np.isnan(values), axis=1)
    totals = np.nansum(values, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals / counts, np.nan)


def _ratio(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def drops_from_sums(
    now: NDArray[np.float64],
    then: NDArray[np.float64],
    seen: NDArray[np.bool_],
    config: Config,
) -> dict[str, NDArray[Any]]:
    """The drop arithmetic on week sums (rows: accounts; column k: k weeks back).

    `now` ends at the as-of day, `then` 364 days earlier. Returns `recent`, `baseline`,
    `expected`, `change`, `yoy_change`, `seasonal` and `flagged`.
    """
    recent = np.nan_to_num(now[:, 0], nan=0.0)
    # A baseline week without any row is a week before the account existed: leave it out.
    baseline = _nanmean(now[:, 1:])
    last_year_baseline = _nanmean(then[:, 1:])
    factor = _ratio(then[:, 0], last_year_baseline)
    seasonal = ~np.isnan(factor) & ~np.isnan(then[:, 1:]).any(axis=1)
    expected = baseline * np.where(seasonal, factor, 1.0)
    change = _ratio(recent, expected) - 1
    flagged = (np.nan_to_num(change, nan=0.0) <= -config.usage_drop.threshold) & (
        np.nan_to_num(baseline) > 0
    )
    return {
        "recent": recent,
        "baseline": baseline,
        "expected": expected,
        "change": change,
        "yoy_change": _ratio(recent, then[:, 0]) - 1,
        "seasonal": seasonal,
        "flagged": flagged & seen,
    }


@functools.cache
def _drops_sql(weeks: int, filtered: bool) -> Any:
    """One scan for both years' windows: this year's and the same weeks a year earlier."""
    statement = (
        select(
            UsageDaily.account_id,
            *week_sum_columns("n", weeks),
            *week_sum_columns("y", weeks),
        )
        .where(
            or_(
                (UsageDaily.day > bindparam("nfirst", type_=Date()))
                & (UsageDaily.day <= bindparam("nhi0", type_=Date())),
                (UsageDaily.day > bindparam("yfirst", type_=Date()))
                & (UsageDaily.day <= bindparam("yhi0", type_=Date())),
            )
        )
        .group_by(UsageDaily.account_id)
    )
    if filtered:
        statement = statement.where(UsageDaily.account_id.in_(bindparam("ids", expanding=True)))
    return statement


def usage_drops(
    session: Session, as_of: dt.date, config: Config, account_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Per account with usage: `recent`, `baseline`, `expected`, `change` (recent against
    expected, e.g. −0.4 for 40 % below), `yoy_change` (NaN without last year's data),
    `seasonal` (whether last year's movement adjusted the expectation) and `flagged`.
    """
    rules = config.usage_drop
    weeks, length = rules.baseline_weeks, rules.recent_days
    params: dict[str, Any] = week_params("n", as_of, weeks, length) | week_params(
        "y", last_year(as_of), weeks, length
    )
    if account_ids is not None:
        params["ids"] = list(account_ids)
    statement = _drops_sql(weeks, account_ids is not None)
    rows = [tuple(row) for row in session.connection().execute(statement, params)]
    if not rows:
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
    sums = np.array([[np.nan if v is None else float(v) for v in row[1:]] for row in rows])
    now, then = sums[:, : weeks + 1], sums[:, weeks + 1 :]
    seen = ~np.isnan(now).all(axis=1)
    drops = drops_from_sums(now, then, seen, config)
    frame = pd.DataFrame(drops, index=pd.Index([row[0] for row in rows], name="account_id"))
    return frame[seen].sort_index()

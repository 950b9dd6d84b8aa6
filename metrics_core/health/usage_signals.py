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
from metrics_core.store.models import Account, UsageDaily

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
def _drops_sql(prefix: str, weeks: int, filtered: bool) -> Any:
    """One year's windows (`prefix` "n": this year's, "y": the same weeks a year earlier).

    Each year's range is read per account through the (account_id, day) key: for the
    whole book the accounts drive the join, so each one's few weeks are a range seek
    instead of a scan of every usage row ever stored (an OR of the two years' ranges
    cannot use the key, and a year apart they are two ranges, not one).
    """
    where = (UsageDaily.day > bindparam(f"{prefix}first", type_=Date())) & (
        UsageDaily.day <= bindparam(f"{prefix}hi0", type_=Date())
    )
    key: Any
    if filtered:
        key = UsageDaily.account_id
        statement = select(key, *week_sum_columns(prefix, weeks)).where(
            where, key.in_(bindparam("ids", expanding=True))
        )
    else:
        driver = Account.__table__.alias("driver")
        key = driver.c.id
        statement = (
            select(key, *week_sum_columns(prefix, weeks))
            .join_from(driver, UsageDaily, UsageDaily.account_id == key)
            .where(where)
        )
    return statement.group_by(key)


def _week_sums(
    session: Session, prefix: str, weeks: int, params: dict[str, Any], filtered: bool
) -> tuple[list[int], NDArray[np.float64]]:
    """Accounts with a usage row in one year's windows, and their week sums (NaN: none)."""
    rows = session.connection().execute(_drops_sql(prefix, weeks, filtered), params).all()
    sums = np.array([tuple(row[1:]) for row in rows], dtype=np.float64)
    return [int(row[0]) for row in rows], sums.reshape(len(rows), weeks + 1)


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
    filtered = account_ids is not None
    accounts, now = _week_sums(session, "n", weeks, params, filtered)
    if not accounts:
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
    # Accounts without a row this year have no drop to speak of: last year's rows are
    # read for the others only.
    before, sums = _week_sums(session, "y", weeks, params, filtered)
    then = np.full_like(now, np.nan)
    at = {account: i for i, account in enumerate(accounts)}
    found = [(at[account], i) for i, account in enumerate(before) if account in at]
    if found:
        rows_now, rows_then = (list(side) for side in zip(*found, strict=True))
        then[rows_now] = sums[rows_then]
    seen: NDArray[np.bool_] = np.asarray(~np.isnan(now).all(axis=1), dtype=bool)
    drops = drops_from_sums(now, then, seen, config)
    frame = pd.DataFrame(drops, index=pd.Index(accounts, name="account_id"))
    return frame[seen].sort_index()

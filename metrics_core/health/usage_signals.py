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


def sums_after_id(rows: Sequence[Any], width: int) -> NDArray[np.float64]:
    """The values after each row's account id as a float matrix of `width` columns, NaN
    for NULL: grouped sums per account, converted at once rather than value by value."""
    return np.array([tuple(row[1:]) for row in rows], dtype=np.float64).reshape(len(rows), width)


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
def _drops_sql(prefix: str, weeks: int, days: int, filtered: bool) -> Any:
    """One year's windows for `days` as-of days (`prefix` "n": this year's, "y": the same
    weeks a year earlier); day i's windows are bound by the parameters `<prefix><i>_…`.

    The days' windows overlap almost wholly, so one range of rows (`<prefix>from`,
    `<prefix>to`) holds them all: asking for two days costs hardly more than one. Each
    year's range is read per account through the (account_id, day) key: for the whole
    book the accounts drive the join, so each one's few weeks are a range seek instead of
    a scan of every usage row ever stored (an OR of the two years' ranges cannot use the
    key, and a year apart they are two ranges, not one).
    """
    where = (UsageDaily.day > bindparam(f"{prefix}from", type_=Date())) & (
        UsageDaily.day <= bindparam(f"{prefix}to", type_=Date())
    )
    sums = [column for i in range(days) for column in week_sum_columns(f"{prefix}{i}_", weeks)]
    key: Any
    if filtered:
        key = UsageDaily.account_id
        statement = select(key, *sums).where(where, key.in_(bindparam("ids", expanding=True)))
    else:
        driver = Account.__table__.alias("driver")
        key = driver.c.id
        statement = (
            select(key, *sums)
            .join_from(driver, UsageDaily, UsageDaily.account_id == key)
            .where(where)
        )
    return statement.group_by(key)


def _week_sums(
    session: Session,
    prefix: str,
    ends: Sequence[dt.date],
    config: Config,
    ids: Sequence[int] | None,
) -> tuple[list[int], list[NDArray[np.float64]]]:
    """Accounts with a usage row in one year's windows of any of `ends`, and for each end
    their week sums (NaN: none)."""
    weeks, length = config.usage_drop.baseline_weeks, config.usage_drop.recent_days
    params: dict[str, Any] = {}
    for i, end in enumerate(ends):
        params |= week_params(f"{prefix}{i}_", end, weeks, length)
    params[f"{prefix}from"] = min(end - dt.timedelta(days=7 * weeks + length) for end in ends)
    params[f"{prefix}to"] = max(ends)
    if ids is not None:
        params["ids"] = list(ids)
    statement = _drops_sql(prefix, weeks, len(ends), ids is not None)
    rows = session.connection().execute(statement, params).all()
    sums = sums_after_id(rows, len(ends) * (weeks + 1))
    return [int(row[0]) for row in rows], np.hsplit(sums, len(ends))


_COLUMNS = ["recent", "baseline", "expected", "change", "yoy_change", "seasonal", "flagged"]


def usage_drops(
    session: Session, as_of: dt.date, config: Config, account_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Per account with usage: `recent`, `baseline`, `expected`, `change` (recent against
    expected, e.g. −0.4 for 40 % below), `yoy_change` (NaN without last year's data),
    `seasonal` (whether last year's movement adjusted the expectation) and `flagged`.
    """
    return usage_drops_on(session, [as_of], config, account_ids)[0]


def usage_drops_on(
    session: Session,
    days: Sequence[dt.date],
    config: Config,
    account_ids: Sequence[int] | None = None,
) -> list[pd.DataFrame]:
    """`usage_drops` of each of `days` (in that order), read in one pass per year: for a
    few days close together, as the day's alerts compare today with yesterday."""
    accounts, nows = _week_sums(session, "n", days, config, account_ids)
    if not accounts:
        return [pd.DataFrame(columns=_COLUMNS) for _ in days]
    # Accounts without a row this year have no drop to speak of: last year's rows of the
    # others are placed beside theirs.
    before, sums = _week_sums(session, "y", [last_year(day) for day in days], config, account_ids)
    at = {account: i for i, account in enumerate(accounts)}
    found = [(at[account], i) for i, account in enumerate(before) if account in at]
    frames = []
    for now, earlier in zip(nows, sums, strict=True):
        then = np.full_like(now, np.nan)
        if found:
            rows_now, rows_then = (list(side) for side in zip(*found, strict=True))
            then[rows_now] = earlier[rows_then]
        seen: NDArray[np.bool_] = np.asarray(~np.isnan(now).all(axis=1), dtype=bool)
        drops = drops_from_sums(now, then, seen, config)
        frame = pd.DataFrame(drops, index=pd.Index(accounts, name="account_id"))
        frames.append(frame[seen].sort_index())
    return frames

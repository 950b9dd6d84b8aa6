"""Vectorised draws shared by the event generators (tickets, surveys, activities)."""

from __future__ import annotations

import numpy as np

from metrics_core.synthetic.accounts import AccountPlan
from metrics_core.synthetic.window import DAY_SECONDS, FloatArray, IntArray, as_float, as_int

WEEK = 7
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def week_midpoints(plan: AccountPlan) -> FloatArray:
    """The middle of each week of the window, where weekly rates are evaluated."""
    weeks = -(-plan.window.days // WEEK)
    return as_float(np.arange(weeks) * WEEK + WEEK / 2)


def weekly_events(rate: FloatArray, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """Poisson counts per (account, week) expanded to (plan row, day index) pairs."""
    counts = rng.poisson(rate)
    rows = np.repeat(np.arange(rate.shape[0]), counts.sum(axis=1))
    week = np.repeat(np.tile(np.arange(rate.shape[1]), rate.shape[0]), counts.ravel())
    day = week * WEEK + rng.integers(0, WEEK, len(week))
    return as_int(rows), as_int(day)


def working_seconds(
    plan: AccountPlan, day: IntArray, rng: np.random.Generator, weekend_kept: float
) -> FloatArray:
    """A time of day in (mostly North American) business hours, as seconds in the window.

    Weekend events move to the next Monday except for a share `weekend_kept`: customers
    do file the odd Saturday ticket, CSMs rarely log Sunday calls.
    """
    weekday = plan.window.weekday(day)
    moved = (weekday >= 5) & (rng.random(len(day)) >= weekend_kept)
    day = np.where(moved, day + 7 - weekday, day)
    hour = np.clip(rng.normal(16.0, 2.5, len(day)), 7.0, 23.5)
    return as_float(np.floor(day * DAY_SECONDS + hour * 3600.0))


def categorical(weights: FloatArray, rng: np.random.Generator) -> IntArray:
    """One category index per row of `weights` (rows need not sum to 1)."""
    cumulative = np.cumsum(weights, axis=1)
    cumulative /= cumulative[:, -1:]
    roll = rng.random(len(weights))
    index = (roll[:, None] > cumulative).sum(axis=1)
    return as_int(np.minimum(index, weights.shape[1] - 1))


def observed(plan: AccountPlan, rows: IntArray, seconds: FloatArray) -> IntArray:
    """Positions of events that happened while the account was a customer, before the cutoff."""
    day = np.floor(seconds / DAY_SECONDS)
    keep = (seconds < plan.window.cutoff_seconds) & plan.is_customer(rows, day)
    return as_int(np.flatnonzero(keep))


def month_names(plan: AccountPlan, seconds: FloatArray) -> list[str]:
    months = plan.window.stamps(seconds).astype("datetime64[M]").astype(np.int64) % 12
    return [MONTH_NAMES[m] for m in months.tolist()]

"""The generated period and the calendar arithmetic every generator shares.

Generators work on integer day indices (0 = first day of the window, `days - 1` = as-of
day) and on seconds since the window's first midnight, because numpy is fast on numbers
and slow on dates; dates appear only when rows are written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DAY_SECONDS = 86_400
# A day index no account ever reaches: "has not churned", "never declines".
FAR = 10_000_000


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later; 29 February falls back to the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Window:
    """`days` calendar days ending with `as_of`, the period usage and events cover.

    Timestamped events (tickets, surveys, activities) stop at the start of the as-of
    day: seeding "as of today" must never produce rows from later today, which would
    look like the future to the alerts and digests that read them.
    """

    as_of: dt.date
    days: int

    @property
    def first(self) -> dt.date:
        return self.as_of - dt.timedelta(days=self.days - 1)

    @property
    def last_index(self) -> int:
        return self.days - 1

    @property
    def cutoff_seconds(self) -> float:
        """Seconds from the first midnight to the start of the as-of day."""
        return float(self.last_index * DAY_SECONDS)

    def index(self, day: dt.date) -> int:
        return (day - self.first).days

    def date(self, index: int) -> dt.date:
        return self.first + dt.timedelta(days=index)

    def dates(self, indices: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """Day indices as datetime64[D], the form bulk writes convert fastest."""
        offsets = np.asarray(indices, dtype=np.int64).astype("timedelta64[D]")
        result: npt.NDArray[np.datetime64] = np.datetime64(self.first, "D") + offsets
        return result

    def stamps(self, seconds: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """Seconds since the first midnight as naive UTC datetime64[s]; NaN becomes NaT."""
        values = np.asarray(seconds, dtype=np.float64)
        whole = np.where(np.isnan(values), 0, np.floor(values)).astype(np.int64)
        stamps: npt.NDArray[np.datetime64] = np.datetime64(
            dt.datetime.combine(self.first, dt.time()), "s"
        ) + whole.astype("timedelta64[s]")
        stamps[np.isnan(values)] = np.datetime64("NaT")
        return stamps

    def weekday(self, indices: npt.ArrayLike) -> IntArray:
        """Monday = 0 … Sunday = 6 for each day index."""
        first = self.first.weekday()
        result: IntArray = (np.asarray(indices, dtype=np.int64) + first) % 7
        return result

    def month_day(self) -> tuple[IntArray, IntArray]:
        """Calendar month and day of month of every day in the window."""
        days = self.dates(np.arange(self.days))
        months: IntArray = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        day_of_month: IntArray = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
        return months, day_of_month


def as_int(values: Any) -> IntArray:
    """An int64 array; numpy's stubs lose the dtype through most arithmetic."""
    result: IntArray = np.asarray(values, dtype=np.int64)
    return result


def as_float(values: Any) -> FloatArray:
    result: FloatArray = np.asarray(values, dtype=np.float64)
    return result


def as_bool(values: Any) -> BoolArray:
    result: BoolArray = np.asarray(values, dtype=np.bool_)
    return result

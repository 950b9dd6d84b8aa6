"""Vectorised checks of column values, each problem tied to its line.

Every check parses a whole column at once (a million usage rows must import in
seconds), then locates the rows that failed to name them. Each returns the parsed column
with a missing value (NaN, NaT or NA) wherever the value was empty or wrong, so later
checks that combine columns skip rows that already have a problem instead of reporting
them twice.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows

INT32_MAX = 2**31 - 1
"""The largest value of an `Integer` column on PostgreSQL."""

MONEY_MAX = 10**12 - 0.01
"""The largest amount `NUMERIC(14, 2)` holds."""

_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_DOMAIN = r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\.[a-z0-9-]*[a-z][a-z0-9-]*"


def report(
    rows: Rows,
    log: ProblemLog,
    column: str | None,
    mask: Any,
    message: Callable[[Any], str],
    values: Sequence[Any] | None = None,
) -> None:
    """Log one problem per row in `mask`, worded by `message(value)` (the raw text by default)."""
    where = np.flatnonzero(np.asarray(mask, dtype=bool))
    if where.size == 0:
        return
    if values is None:
        values = rows.text(column or "").to_numpy()
    log.add_rows(column, rows.lines[where], np.asarray(values, dtype=object)[where], message)


def filled(rows: Rows, log: ProblemLog, column: str, *, required: bool) -> np.ndarray:
    """Which rows have a value; an empty required value is a problem."""
    present: np.ndarray = (rows.text(column) != "").to_numpy(dtype=bool)
    if required:
        report(rows, log, column, ~present, lambda _: "a value is required")
    return present


def text(
    rows: Rows, log: ProblemLog, column: str, *, required: bool = False, limit: int | None = None
) -> pd.Series:
    """Free text up to `limit` characters (the database column's length)."""
    raw = rows.text(column)
    present = filled(rows, log, column, required=required)
    if limit is not None:
        too_long = present & (raw.str.len() > limit).to_numpy()
        report(
            rows,
            log,
            column,
            too_long,
            lambda v: f"is {len(v)} characters long; at most {limit} fit",
        )
        present = present & ~too_long
    return raw.where(present)


def email(rows: Rows, log: ProblemLog, column: str, *, required: bool = False) -> pd.Series:
    """An email address, lower-cased: people type them in any case and mean the same one."""
    raw = text(rows, log, column, required=required, limit=254)
    lowered = raw.str.lower()
    wrong = (raw.notna() & ~lowered.str.fullmatch(_EMAIL).fillna(False).astype(bool)).to_numpy()
    report(rows, log, column, wrong, lambda v: f"'{v}' is not an email address")
    return lowered.where(~wrong)


def domain(rows: Rows, log: ProblemLog, column: str, *, limit: int) -> pd.Series:
    """A bare domain name, lower-cased, so it can match the part after "@" of an email."""
    lowered = text(rows, log, column, limit=limit).str.lower()
    wrong = (
        lowered.notna() & ~lowered.str.fullmatch(_DOMAIN).fillna(False).astype(bool)
    ).to_numpy()
    report(
        rows,
        log,
        column,
        wrong,
        lambda v: f"'{v}' is not a domain name (write it as acme.example, without https:// or @)",
    )
    return lowered.where(~wrong)


def choice(
    rows: Rows, log: ProblemLog, column: str, values: type[enum.Enum], *, required: bool = False
) -> pd.Series:
    """One of an enum's values, in any case, returned as the enum's canonical spelling."""
    canonical = {str(member.value).lower(): member.value for member in values}
    raw = rows.text(column)
    present = filled(rows, log, column, required=required)
    parsed = raw.str.lower().map(canonical).astype(object)
    wrong = present & parsed.isna().to_numpy()
    allowed = ", ".join(str(member.value) for member in values)
    report(rows, log, column, wrong, lambda v: f"'{v}' is not one of: {allowed}")
    return parsed.where(present & ~wrong, None)


def integer(
    rows: Rows, log: ProblemLog, column: str, *, required: bool = False, maximum: int = INT32_MAX
) -> pd.Series:
    """A whole number from 0 to `maximum` ("12.0" counts: exports of float columns write it)."""
    raw = rows.text(column)
    present = filled(rows, log, column, required=required)
    candidates = raw.where(present, "0")
    try:  # ten times faster than to_numeric; only a column with a stray value falls back
        numbers = candidates.astype("int64").astype("float64")
    except (ValueError, OverflowError, TypeError):
        numbers = pd.to_numeric(candidates, errors="coerce")
    whole = np.isfinite(numbers) & (numbers == np.floor(numbers))
    wrong = present & ~whole.to_numpy()
    report(rows, log, column, wrong, lambda v: f"'{v}' is not a whole number")
    negative = present & whole.to_numpy() & (numbers < 0).to_numpy()
    report(rows, log, column, negative, lambda v: f"'{v}' is negative")
    too_big = present & whole.to_numpy() & (numbers > maximum).to_numpy()
    report(rows, log, column, too_big, lambda v: f"'{v}' is larger than {maximum}")
    good = present & ~wrong & ~negative & ~too_big
    return (
        pd.Series(np.where(good, numbers, 0).astype("int64"), index=raw.index)
        .astype("Int64")
        .where(good)
    )


def number(
    rows: Rows, log: ProblemLog, column: str, *, required: bool = False, maximum: float = MONEY_MAX
) -> pd.Series:
    """A decimal number from 0 to `maximum`, written with a point and no thousands separator."""
    raw = rows.text(column)
    present = filled(rows, log, column, required=required)
    numbers = pd.to_numeric(raw.where(present, "0"), errors="coerce").astype("float64")
    wrong = present & ~np.isfinite(numbers).to_numpy()
    report(rows, log, column, wrong, lambda v: f"'{v}' is not a number (e.g. 120000.50)")
    negative = present & ~wrong & (numbers < 0).to_numpy()
    report(rows, log, column, negative, lambda v: f"'{v}' is negative")
    too_big = present & ~wrong & (numbers > maximum).to_numpy()
    report(rows, log, column, too_big, lambda v: f"'{v}' is too large")
    return numbers.where(present & ~wrong & ~negative & ~too_big)


def date(rows: Rows, log: ProblemLog, column: str, *, required: bool = False) -> pd.Series:
    """A calendar day written YYYY-MM-DD."""
    raw = rows.text(column)
    present = filled(rows, log, column, required=required)
    parsed = pd.to_datetime(raw.where(present), format="%Y-%m-%d", errors="coerce")
    wrong = present & parsed.isna().to_numpy()
    report(rows, log, column, wrong, lambda v: f"'{v}' is not a date (YYYY-MM-DD)")
    return parsed


def timestamp(rows: Rows, log: ProblemLog, column: str, *, required: bool = False) -> pd.Series:
    """An ISO 8601 instant, in UTC; one without an offset is taken to be UTC already."""
    raw = rows.text(column)
    present = filled(rows, log, column, required=required)
    parsed = pd.to_datetime(raw.where(present), format="ISO8601", utc=True, errors="coerce")
    wrong = present & parsed.isna().to_numpy()
    report(
        rows,
        log,
        column,
        wrong,
        lambda v: f"'{v}' is not an ISO 8601 timestamp (e.g. 2026-11-20T09:30:00Z)",
    )
    return parsed


def not_before(
    rows: Rows,
    log: ProblemLog,
    column: str,
    later: pd.Series,
    earlier_column: str,
    earlier: pd.Series,
) -> None:
    """`later` must not precede `earlier` where both are known (end dates, closing times)."""
    wrong = (later.notna() & earlier.notna() & (later < earlier)).to_numpy()
    pairs = list(zip(rows.text(column).tolist(), rows.text(earlier_column).tolist(), strict=True))
    report(
        rows,
        log,
        column,
        wrong,
        lambda pair: f"'{pair[0]}' is before {earlier_column} '{pair[1]}'",
        values=pairs,
    )


def unique(
    rows: Rows,
    log: ProblemLog,
    column: str,
    keys: pd.DataFrame,
    describe: Callable[[tuple[Any, ...]], str],
) -> None:
    """Each key may appear once; a repeat names the line of the first occurrence too."""
    usable = keys.notna().all(axis=1)
    repeated = (keys.duplicated(keep="first") & usable).to_numpy()
    if not repeated.any():
        return
    lines = pd.Series(rows.lines, index=keys.index)
    first = lines.groupby([keys[name] for name in keys.columns]).transform("first").to_numpy()
    shown = np.flatnonzero(repeated)[: log.limit]
    described = [
        (describe(tuple(key)), int(line))
        for key, line in zip(
            keys.iloc[shown].itertuples(index=False, name=None), first[shown], strict=True
        )
    ]
    log.add_rows(
        column,
        rows.lines[repeated],
        described,
        lambda pair: f"duplicate: {pair[0]} is also on line {pair[1]}",
    )

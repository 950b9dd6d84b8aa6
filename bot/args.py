"""Reading the free-text arguments of commands: periods, segments, counts.

Chat users type `nps smb 90d`, `kpis 2026-q3 enterprise` or `nps last month` in any order
and case; each parser recognises one kind of token (or a short phrase) and leaves the
rest, so handlers can say exactly which word they did not understand. A word that looks
like a period but is not one (`2026-13`, `q5`) is reported as a bad period instead of
being left over, because a handler would otherwise search for it as an account name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.formatting import echoed
from bot.reply import Outcome, Reply
from metrics_core.store.models import Segment

_SEGMENTS = {
    "enterprise": Segment.ENTERPRISE,
    "ent": Segment.ENTERPRISE,
    "mid-market": Segment.MID_MARKET,
    "midmarket": Segment.MID_MARKET,
    "mid": Segment.MID_MARKET,
    "mm": Segment.MID_MARKET,
    "smb": Segment.SMB,
}

PERIOD_FORMS = "30d, 12w, 6m, 1y, 2026, 2026-10, q3, 2026-q3, ytd or mtd"
"""The period tokens every command accepts, as usage hints list them."""

PERIOD_HINT = (
    f"Use {PERIOD_FORMS}, or words such as “last month”, “this quarter”, “last year” "
    "or “last 30 days”."
)

_UNITS = {
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "w"),
    **dict.fromkeys(("m", "mo", "mos", "month", "months"), "m"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "y"),
}
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
_UNIT_NAMES = {"d": "day", "w": "week", "m": "month", "y": "year"}
_MAX_DAYS = 3650
_YEARS = range(1970, 2101)
"""Years a period can name; anything else is a typo, not a question about the year 0."""
_LAST = ("last", "past", "previous", "prev")
_CALENDAR = ("week", "month", "quarter", "year")
_PAST = {"week": (1, "w"), "month": (1, "m"), "quarter": (3, "m"), "year": (1, "y")}

_COUNT = re.compile(r"(\d{1,5})\s*([a-z]+)")
_YEAR = re.compile(r"\d{4}")
_MONTH = re.compile(r"(\d{4})[-/](\d{1,2})")
_QUARTER = re.compile(r"(?:(\d{4})-?)?q(\d+)")
_YEAR_AND_MORE = re.compile(r"\d{4}[-/]\S+")
"""`2026-10-05`, `2026-oct`: meant as a period, but not one of the forms."""


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open range of days [start, end) with the words a reply uses for it."""

    start: dt.date
    end: dt.date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def trailing(today: dt.date, days: int, label: str) -> Period:
    end = today + dt.timedelta(days=1)
    return Period(end - dt.timedelta(days=days), end, label)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year + month // 12, month % 12 + 1, 1)


def _month(year: int, month: int) -> Period:
    start = dt.date(year, month, 1)
    return Period(start, _month_end(year, month), f"{start:%B %Y}")


def _quarter(year: int, quarter: int) -> Period:
    start = dt.date(year, 3 * quarter - 2, 1)
    return Period(start, _month_end(year, 3 * quarter), f"Q{quarter} {year}")


def _year(year: int) -> Period:
    return Period(dt.date(year, 1, 1), dt.date(year + 1, 1, 1), str(year))


def _week(monday: dt.date) -> Period:
    return Period(monday, monday + dt.timedelta(days=7), f"week of {monday.day} {monday:%B %Y}")


@dataclass(frozen=True, slots=True)
class _Read:
    """Words that are meant as a period: the period, or None when they name none."""

    period: Period | None


_NOT_A_PERIOD = _Read(None)


def _trailing_count(count: int, unit: str, today: dt.date) -> _Read:
    days = count * _UNIT_DAYS[unit]
    if count == 0 or days > _MAX_DAYS:
        return _NOT_A_PERIOD
    plural = "" if count == 1 else "s"
    return _Read(trailing(today, days, f"last {count} {_UNIT_NAMES[unit]}{plural}"))


def _token(text: str, today: dt.date) -> _Read | None:
    """One word read as a period; None when it does not look like one at all."""
    if (match := _COUNT.fullmatch(text)) is not None:
        unit = _UNITS.get(match[2])
        return None if unit is None else _trailing_count(int(match[1]), unit, today)
    if text == "ytd":
        return _Read(
            Period(dt.date(today.year, 1, 1), today + dt.timedelta(days=1), f"{today.year} so far")
        )
    if text == "mtd":
        first = today.replace(day=1)
        return _Read(Period(first, today + dt.timedelta(days=1), f"{first:%B %Y} so far"))
    if _YEAR.fullmatch(text):
        return _Read(_year(int(text)) if int(text) in _YEARS else None)
    if (match := _MONTH.fullmatch(text)) is not None:
        year, month = int(match[1]), int(match[2])
        return _Read(_month(year, month) if year in _YEARS and 1 <= month <= 12 else None)
    if (match := _QUARTER.fullmatch(text)) is not None:
        year = int(match[1]) if match[1] else today.year
        quarter = int(match[2])
        return _Read(_quarter(year, quarter) if year in _YEARS and 1 <= quarter <= 4 else None)
    if _YEAR_AND_MORE.fullmatch(text):
        return _NOT_A_PERIOD
    return None


def _calendar(which: str, unit: str, today: dt.date) -> Period:
    """`this month`, `last quarter` …: the whole calendar unit, this one or the one before."""
    back = which != "this"
    if unit == "week":
        monday = today - dt.timedelta(days=today.weekday() + (7 if back else 0))
        return _week(monday)
    if unit == "month":
        first = today.replace(day=1)
        if back:
            first = (first - dt.timedelta(days=1)).replace(day=1)
        return _month(first.year, first.month)
    if unit == "quarter":
        index = today.year * 4 + (today.month - 1) // 3 - (1 if back else 0)
        return _quarter(index // 4, index % 4 + 1)
    return _year(today.year - (1 if back else 0))


def _phrase(words: Sequence[str], today: dt.date) -> _Read | None:
    """Two or three words read as one period (`last 30 days`, `q3 2026`), else None."""
    if len(words) == 3 and words[0] in _LAST and words[1].isdecimal() and words[2] in _UNITS:
        return _trailing_count(int(words[1]), _UNITS[words[2]], today)
    if len(words) != 2:
        return None
    first, second = words
    if first == "past" and second in _CALENDAR:
        # "past month" is the trailing month; "last month" is the calendar month before.
        count, unit = _PAST[second]
        return _trailing_count(count, unit, today)
    if first in (*_LAST, "this") and second in _CALENDAR:
        return _Read(_calendar(first, second, today))
    if first in _LAST and _COUNT.fullmatch(second):
        return _token(second, today)
    if first.isdecimal() and second in _UNITS:
        return _trailing_count(int(first), _UNITS[second], today)
    for quarter, year in ((first, second), (second, first)):
        if re.fullmatch(r"q\d+", quarter) and _YEAR.fullmatch(year):
            return _token(f"{year}-{quarter}", today)
    return None


def parse_period(token: str, today: dt.date) -> Period | None:
    """`30d`, `12w`, `6m`, `1y`, `2026`, `2026-10`, `q3`, `2026-q3`, `ytd`, `mtd`, or a
    phrase such as `last month`, `this quarter`, `last 30 days`, `q3 2026`; else None."""
    words = token.strip().lower().split()
    found = _token(words[0], today) if len(words) == 1 else _phrase(words, today)
    return None if found is None else found.period


def parse_segment(token: str) -> Segment | None:
    return _SEGMENTS.get(token.strip().lower())


def parse_count(token: str, *, low: int = 1, high: int = 1000) -> int | None:
    text = token.strip()
    if not text.isdecimal():
        return None
    value = int(text)
    return value if low <= value <= high else None


@dataclass(frozen=True, slots=True)
class Scope:
    """What a metrics command was asked about: a period, a segment, and the other words.

    `problem` names a period that was asked but cannot be answered (mistyped, or not
    started yet); a handler answers with `period_problem` before anything else.
    """

    period: Period | None
    segment: Segment | None
    rest: tuple[str, ...]
    problem: str | None = None


def _period_at(words: Sequence[str], position: int, today: dt.date) -> tuple[int, _Read] | None:
    """The period the words from `position` on start with: how many words, and what they say.

    Longer phrases first, so `last 30 days` is one period and not `30` left over.
    """
    for size in (3, 2, 1):
        chunk = words[position : position + size]
        if len(chunk) == size:
            found = _token(chunk[0], today) if size == 1 else _phrase(chunk, today)
            if found is not None:
                return size, found
    return None


def parse_scope(text: str, today: dt.date) -> Scope:
    """The first period and the first segment among the words, in any order."""
    period: Period | None = None
    problem: str | None = None
    segment: Segment | None = None
    rest: list[str] = []
    words = text.split()
    lowered = [word.lower() for word in words]
    position = 0
    while position < len(words):
        at = _period_at(lowered, position, today) if period is None and problem is None else None
        if at is not None:
            size, found = at
            said = " ".join(words[position : position + size])
            if found.period is None:
                problem = f"“{echoed(said)}” is not a period"
            elif found.period.start > today:
                problem = f"{found.period.label} has not started yet"
            else:
                period = found.period
            position += size
            continue
        word = words[position]
        if segment is None and (named := parse_segment(word)) is not None:
            segment = named
        else:
            rest.append(word)
        position += 1
    return Scope(period, segment, tuple(rest), problem)


def period_problem(scope: Scope, today: dt.date) -> Reply | None:
    """The answer to a period that cannot be answered, or None when the period is fine."""
    if scope.problem is None:
        return None
    if scope.problem.endswith("has not started yet"):
        hint = f"Ask about a period up to today ({today.day} {today:%B %Y})."
    else:
        hint = PERIOD_HINT
    return Reply(heading=scope.problem, paragraphs=(hint,), outcome=Outcome.PROBLEM)

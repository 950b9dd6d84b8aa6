"""Reading the free-text arguments of commands: periods, segments, counts.

Chat users type `nps smb 90d` or `kpis 2026-q3 enterprise` in any order and case; each
parser recognises one kind of token and leaves the rest, so handlers can say exactly
which word they did not understand.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from metrics_core.models import Segment

_SEGMENTS = {
    "enterprise": Segment.ENTERPRISE,
    "ent": Segment.ENTERPRISE,
    "mid-market": Segment.MID_MARKET,
    "midmarket": Segment.MID_MARKET,
    "mid": Segment.MID_MARKET,
    "mm": Segment.MID_MARKET,
    "smb": Segment.SMB,
}


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


def parse_period(token: str, today: dt.date) -> Period | None:
    """`30d`, `12w`, `6m`, `1y`, `2026`, `2026-10`, `q3`, `2026-q3`, `ytd`, `mtd`; else None."""
    text = token.strip().lower()
    if match := re.fullmatch(r"(\d{1,4})([dwmy])", text):
        count, unit = int(match[1]), match[2]
        days = count * {"d": 1, "w": 7, "m": 30, "y": 365}[unit]
        if count == 0 or days > 3650:
            return None
        names = {"d": "day", "w": "week", "m": "month", "y": "year"}
        plural = "" if count == 1 else "s"
        return trailing(today, days, f"last {count} {names[unit]}{plural}")
    if text == "ytd":
        return Period(
            dt.date(today.year, 1, 1), today + dt.timedelta(days=1), f"{today.year} so far"
        )
    if text == "mtd":
        first = today.replace(day=1)
        return Period(first, today + dt.timedelta(days=1), f"{first:%B %Y} so far")
    if match := re.fullmatch(r"(\d{4})", text):
        year = int(match[1])
        return Period(dt.date(year, 1, 1), dt.date(year + 1, 1, 1), str(year))
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            return None
        start = dt.date(year, month, 1)
        return Period(start, _month_end(year, month), f"{start:%B %Y}")
    if match := re.fullmatch(r"(?:(\d{4})-)?q([1-4])", text):
        year = int(match[1]) if match[1] else today.year
        quarter = int(match[2])
        start = dt.date(year, 3 * quarter - 2, 1)
        return Period(start, _month_end(year, 3 * quarter), f"Q{quarter} {year}")
    return None


def parse_segment(token: str) -> Segment | None:
    return _SEGMENTS.get(token.strip().lower())


def parse_count(token: str, *, low: int = 1, high: int = 1000) -> int | None:
    text = token.strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if low <= value <= high else None


@dataclass(frozen=True, slots=True)
class Scope:
    """What a metrics command was asked about: a period, a segment, and the other words."""

    period: Period | None
    segment: Segment | None
    rest: tuple[str, ...]


def parse_scope(text: str, today: dt.date) -> Scope:
    """The first period and the first segment among the words, in any order."""
    period: Period | None = None
    segment: Segment | None = None
    rest: list[str] = []
    for word in text.split():
        if period is None and (found := parse_period(word, today)) is not None:
            period = found
        elif segment is None and (named := parse_segment(word)) is not None:
            segment = named
        else:
            rest.append(word)
    return Scope(period, segment, tuple(rest))

"""The clock: what time it is, in UTC, said in one place.

Everything that needs "now" takes a `Clock` (a function returning an aware UTC datetime)
from the composition root, so tests and the service can move time for every part at
once; `utc_now` is the wall clock it defaults to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeAlias

Clock: TypeAlias = Callable[[], dt.datetime]
"""A source of the current time: an aware datetime in UTC."""


def utc_now() -> dt.datetime:
    """The wall clock, in UTC."""
    return dt.datetime.now(dt.UTC)


def utc_today() -> dt.date:
    """Today's date in UTC: the day snapshots, models and answers are "as of"."""
    return utc_now().date()

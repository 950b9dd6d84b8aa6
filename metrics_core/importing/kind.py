"""What every import kind provides: a check of the file alone, then a store step.

The split is the all-or-nothing guarantee: `check` sees only the file and runs before
any transaction; `store` runs inside the one write transaction, checks references to
stored rows first and writes only when they hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Column, Connection

from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.upsert import Counts

Progress = Callable[[int], None]
"""Called with the number of rows just written."""


@dataclass(frozen=True)
class KindImporter:
    check: Callable[[Rows, ProblemLog], pd.DataFrame]
    store: Callable[[Connection, Rows, pd.DataFrame, ProblemLog, Progress], Counts]


def length(column: Column[Any]) -> int | None:
    """The most characters a text column holds, so a long value is a problem, not a DB error."""
    value = getattr(column.type, "length", None)
    return value if isinstance(value, int) else None


def present_columns(frame: pd.DataFrame, rows: Rows, sources: dict[str, str]) -> pd.DataFrame:
    """The columns of `frame` named in `sources` (table column → the file column it comes from)
    whose file column the file has.

    A column the file leaves out is left to the upsert: kept on existing rows, the
    default on new ones.
    """
    return frame[[column for column, source in sources.items() if rows.has(source)]]

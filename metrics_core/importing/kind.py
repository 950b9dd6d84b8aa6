"""What every import kind provides: a check of the file alone, then a store step.

The split is the all-or-nothing guarantee: `check` sees only the file and runs before
any transaction; `store` runs inside the one write transaction, checks references to
stored rows first and writes only when they hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Column, Connection, Table

from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.references import account_ids, team_member_ids
from metrics_core.importing.upsert import Counts, Target, upsert

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


def store_account_rows(
    connection: Connection,
    rows: Rows,
    frame: pd.DataFrame,
    log: ProblemLog,
    progress: Progress,
    *,
    table: Table,
    columns: Sequence[str],
    member: tuple[str, str],
    optional: Mapping[str, str],
) -> Counts:
    """Store rows that belong to an account and may name a team member, keyed by
    `external_id`: touchpoints, success-plan outcomes, acts of advocacy.

    `account_external_id` must name a stored account and the member's email column (the
    second of `member`, stored as its first) a team member, or nothing is written; `columns`
    are always stored, `optional` (table column → file column) only when the file has them,
    so a file without a column leaves what is stored there alone.
    """
    member_column, email_column = member
    accounts = account_ids(
        connection, rows, log, "account_external_id", frame["account_external_id"]
    )
    members = team_member_ids(connection, rows, log, email_column, frame[email_column])
    log.raise_if_any()
    stored = frame[list(columns)].assign(account_id=accounts.astype("int64"))
    present = present_columns(
        frame.assign(**{member_column: members}),
        rows,
        {member_column: email_column, **optional},
    )
    return upsert(
        connection, Target(table, ("external_id",)), stored.join(present), progress=progress
    )

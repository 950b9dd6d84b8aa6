"""References from an import file to rows already in the database: accounts and team members.

Read inside the import's write transaction, so a reference that was checked cannot
disappear before the rows that use it are written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Connection, func, select
from sqlalchemy.orm import InstrumentedAttribute

from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.values import report
from metrics_core.store.models import Account, TeamMember

IN_CHUNK = 5_000
"""Values per `IN (…)` list: well inside SQLite's and PostgreSQL's parameter limits."""


def in_chunks(
    column: ColumnElement[Any] | InstrumentedAttribute[Any], values: Collection[Any]
) -> Iterator[ColumnElement[bool]]:
    """`column IN (…)` conditions covering `values`, a bounded number of values each."""
    ordered = sorted(values)
    for begin in range(0, len(ordered), IN_CHUNK):
        yield column.in_(ordered[begin : begin + IN_CHUNK])


def account_ids(
    connection: Connection, rows: Rows, log: ProblemLog, column: str, external_ids: pd.Series
) -> pd.Series:
    """The account id of each row (NA where empty); an unknown external id is a problem."""
    wanted = set(external_ids.dropna().unique().tolist())
    known: dict[str, int] = {}
    for where in in_chunks(Account.external_id, wanted):
        known.update(connection.execute(select(Account.external_id, Account.id).where(where)).all())
    ids = external_ids.map(known).astype("Int64")
    unknown = (external_ids.notna() & ids.isna()).to_numpy()
    if unknown.any():
        hints = _case_hints(connection, set(external_ids[unknown].unique().tolist()))
        report(
            rows,
            log,
            column,
            unknown,
            lambda v: (
                f"account '{v}' is not in the database{hints.get(v, '')}; "
                "import it with `closeloop import accounts` first"
            ),
        )
    return ids


def _case_hints(connection: Connection, missing: set[str]) -> dict[str, str]:
    """ " (did you mean 'ACME'?)" for external ids that differ from a known one only in case."""
    by_lower = {value.lower(): value for value in missing}
    lowered = func.lower(Account.external_id)
    hints: dict[str, str] = {}
    for where in in_chunks(lowered, set(by_lower)):
        for actual in connection.execute(select(Account.external_id).where(where)).scalars():
            hints[by_lower[actual.lower()]] = f" (did you mean '{actual}'?)"
    return hints


def team_ids(connection: Connection, emails: Collection[str]) -> dict[str, int]:
    """Team member ids by lower-cased email, for the given lower-cased emails."""
    lowered = func.lower(TeamMember.email)
    known: dict[str, int] = {}
    for where in in_chunks(lowered, set(emails)):
        known.update(connection.execute(select(lowered, TeamMember.id).where(where)).all())
    return known


def team_member_ids(
    connection: Connection, rows: Rows, log: ProblemLog, column: str, emails: pd.Series
) -> pd.Series:
    """The team member id of each row (NA where empty); an unknown email is a problem."""
    known = team_ids(connection, set(emails.dropna().unique().tolist()))
    ids = emails.map(known).astype("Int64")
    unknown = (emails.notna() & ids.isna()).to_numpy()
    report(
        rows,
        log,
        column,
        unknown,
        lambda v: f"'{v}' is not a team member; import it with `closeloop import team` first",
    )
    return ids

"""CSV import behind `closeloop import KIND FILE`: all or nothing, with clear errors.

The file is read and every value checked before the database is touched; references to
stored rows (accounts, team members) are checked inside the single write transaction,
and only then is anything written. Any problem, or any database error, leaves the
database exactly as it was. Re-importing a file is safe: rows are upserted by their
natural key (see `COLUMNS` for each kind's columns and key), a row equal to the stored
one is not written, and only an import that changed something marks the accounts' health
inputs as changed (`input_versions.bump`), so an unchanged re-import keeps every cached
answer. Columns a kind does not know are ignored and named in the summary.

Conventions a file can rely on: UTF-8 with or without a byte order mark; header names
in any case; values trimmed of surrounding spaces; dates `YYYY-MM-DD`; timestamps ISO
8601, where one without an offset is UTC; emails compared case-insensitively and stored
lower-cased; enum values in any case, stored in their canonical spelling. An optional
column left out of the file keeps the stored value of existing rows; an empty value in a
column the file has means the default (or no value).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from sqlalchemy.exc import DBAPIError

from metrics_core.importing import (
    accounts,
    activities,
    advocacy,
    contacts,
    contracts,
    cs_costs,
    success_plans,
    surveys,
    team,
    tickets,
    usage,
)
from metrics_core.importing.columns import COLUMNS, KINDS, ColumnSpec
from metrics_core.importing.kind import KindImporter
from metrics_core.importing.problems import ImportFailed, Problem, ProblemLog
from metrics_core.importing.reading import describe_ignored, read_rows
from metrics_core.store import input_versions
from metrics_core.store.db import writer

__all__ = [
    "COLUMNS",
    "KINDS",
    "ColumnSpec",
    "ImportFailed",
    "ImportResult",
    "Problem",
    "import_csv",
]

_IMPORTERS: dict[str, KindImporter] = {
    "team": team.IMPORTER,
    "accounts": accounts.IMPORTER,
    "contacts": contacts.IMPORTER,
    "contracts": contracts.IMPORTER,
    "usage": usage.IMPORTER,
    "tickets": tickets.IMPORTER,
    "surveys": surveys.IMPORTER,
    "activities": activities.IMPORTER,
    "cs_costs": cs_costs.IMPORTER,
    "success_plans": success_plans.IMPORTER,
    "advocacy": advocacy.IMPORTER,
}


@dataclass(frozen=True)
class ImportResult:
    """What an import did: rows new, changed, and equal to what was stored (not written);
    and the file's columns the kind does not know, which were ignored."""

    kind: str
    rows: int
    inserted: int
    updated: int
    seconds: float
    unchanged: int = 0
    ignored_columns: tuple[str, ...] = ()

    def summary(self, source: str) -> str:
        """One line for the person who ran the import."""
        text = (
            f"Imported {self.rows:,} {self.kind} rows from {source} ({self.inserted:,} new, "
            f"{self.updated:,} updated, {self.unchanged:,} unchanged) in {self.seconds:.1f} s."
        )
        if self.ignored_columns:
            text += f" Ignored columns: {describe_ignored(self.kind, self.ignored_columns)}."
        return text


class _Progress:
    """Turns the writer's "n more rows" into the CLI's (done, total)."""

    def __init__(self, callback: Callable[[int, int], None] | None, total: int) -> None:
        self._callback = callback
        self._total = total
        self._done = 0

    def __call__(self, rows: int) -> None:
        self._done = min(self._total, self._done + rows)
        if self._callback is not None:
            self._callback(self._done, self._total)


def import_csv(
    engine: sqlalchemy.Engine,
    kind: str,
    path: Path,
    *,
    max_problems: int = 20,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import one CSV file of `kind` (one of `KINDS`); raises `ImportFailed` with the problems.

    `progress(rows_done, rows_total)` is called as rows are written.
    """
    if kind not in _IMPORTERS:
        raise ValueError(f"unknown import kind {kind!r}; choose one of: {', '.join(KINDS)}")
    started = time.perf_counter()
    path = Path(path)
    importer = _IMPORTERS[kind]
    log = ProblemLog(path.name, max_problems)
    rows = read_rows(path, kind, log)
    checked = importer.check(rows, log)
    # Problems in the values do not stop here: the references are checked too (inside the
    # transaction, which every `store` ends with `raise_if_any` before its first write),
    # so one run reports an unknown account on line 3 and a bad date on line 4 together.
    report = _Progress(progress, len(rows))
    report(0)
    try:
        with writer(engine).begin() as connection:
            counts = importer.store(connection, rows, checked, log, report)
            if counts.changed:
                input_versions.bump(connection)
    except DBAPIError as error:
        reason = str(error.orig or error).strip().splitlines()[0]
        problem = Problem(path.name, None, None, f"the database refused the rows: {reason}")
        raise ImportFailed([problem]) from error
    return ImportResult(
        kind=kind,
        rows=len(rows),
        inserted=counts.inserted,
        updated=counts.updated,
        seconds=time.perf_counter() - started,
        unchanged=counts.unchanged,
        ignored_columns=rows.ignored,
    )

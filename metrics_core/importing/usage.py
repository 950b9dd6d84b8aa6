"""`closeloop import usage`: daily product usage per account, the bulk of any import.

Also the speed-critical kind (a year of usage for thousands of accounts is millions of
rows), so everything here is column-wise; the only per-row Python is building the
`feature_counts` dictionaries, and only when the file has feature columns.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from metrics_core.health import product_features
from metrics_core.importing import values
from metrics_core.importing.columns import FEATURE_PREFIX
from metrics_core.importing.kind import KindImporter, Progress, present_columns
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.references import account_ids
from metrics_core.importing.upsert import Counts, Target, upsert
from metrics_core.store import watermarks
from metrics_core.store.models import Base, UsageDaily

_TABLE = Base.metadata.tables[UsageDaily.__tablename__]
_DEFAULTS = {"sessions": 0, "events": 0}
"""Counts a usage export may not have; the model has no default for them, the file format does."""


def _feature_columns(rows: Rows) -> list[str]:
    return [name for name in rows.frame.columns if name.startswith(FEATURE_PREFIX)]


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "account_external_id": values.text(rows, log, "account_external_id", required=True),
            "date": values.date(rows, log, "date", required=True),
            "active_users": values.integer(rows, log, "active_users", required=True),
        }
    )
    for name in ("sessions", "events", *_feature_columns(rows)):
        frame[name] = values.integer(rows, log, name).fillna(_DEFAULTS.get(name, 0))
    values.unique(
        rows,
        log,
        "date",
        frame[["account_external_id", "date"]],
        lambda key: f"account '{key[0]}' on {key[1]:%Y-%m-%d}",
    )
    return frame


def store(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog, progress: Progress
) -> Counts:
    accounts = account_ids(
        connection, rows, log, "account_external_id", frame["account_external_id"]
    )
    log.raise_if_any()
    table_frame = pd.DataFrame(
        {
            "account_id": accounts.to_numpy(dtype=np.int64),
            "day": frame["date"],
            "active_users": frame["active_users"].to_numpy(dtype=np.int64),
        }
    )
    counts = present_columns(frame, rows, {"sessions": "sessions", "events": "events"})
    table_frame = table_frame.join(counts.astype("int64"))
    features = _feature_columns(rows)
    if features:
        table_frame["feature_counts"] = feature_counts(frame, features)
        product_features.record(connection, first_used(frame, features))
    first, last = frame["date"].min().date(), frame["date"].max().date()
    watermarks.advance(connection, watermarks.USAGE, last)
    return upsert(
        connection,
        Target(_TABLE, ("account_id", "day")),
        table_frame,
        defaults=_DEFAULTS,
        narrow=[_TABLE.c.day.between(first, last)],
        progress=progress,
    )


def first_used(frame: pd.DataFrame, columns: list[str]) -> dict[str, dt.date]:
    """The first day each feature column has a use, for the product's feature list."""
    seen = {}
    for column in columns:
        used = frame["date"][frame[column].to_numpy(dtype=np.int64) > 0]
        if len(used):
            seen[column[len(FEATURE_PREFIX) :]] = used.min().date()
    return seen


def feature_counts(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, int]]:
    """{"<name>": n} per row from `feature_<name>` columns, zeros left out."""
    names = [column[len(FEATURE_PREFIX) :] for column in columns]
    matrix = np.column_stack([frame[column].to_numpy(dtype=np.int64) for column in columns])
    return [
        {name: count for name, count in zip(names, row, strict=True) if count}
        for row in matrix.tolist()
    ]


IMPORTER = KindImporter(check, store)

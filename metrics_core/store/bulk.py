"""Fast, typed bulk writes of DataFrames: the path for seeding and CSV imports.

Row-by-row ORM inserts cost tens of microseconds a row; a million usage rows would take
minutes. Here each column is converted once, vectorised, to what the database stores
(the same representation SQLAlchemy's own types produce), then SQLite gets one
`executemany` and PostgreSQL a `COPY`. Upserts on PostgreSQL copy into a temporary
table first and merge with `INSERT … ON CONFLICT`, so the merge is one statement.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Connection, Date, DateTime, Table

from metrics_core.store.models import UtcDateTime

ProgressCallback = Callable[[int], None]
CHUNK_ROWS = 50_000


# One encoder for all values: `json.dumps` with options builds a new encoder per call,
# which is most of the cost of a million `feature_counts`.
_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


def _json(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return _JSON.encode(value)


def _column_for_db(series: pd.Series, column_type: Any, dialect: str) -> list[Any]:
    """Convert one column to the driver's representation, None for missing values."""
    if isinstance(column_type, JSON):
        return [_json(v) for v in series.tolist()]
    if isinstance(column_type, UtcDateTime | DateTime):
        stamps = pd.to_datetime(series, utc=True)
        if dialect == "sqlite":
            text = stamps.dt.tz_localize(None).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        else:
            text = stamps.dt.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
        return _text_or_none(text)
    if isinstance(column_type, Date):
        return _text_or_none(pd.to_datetime(series).dt.strftime("%Y-%m-%d"))
    values: list[Any] = series.tolist()
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iub":
        return values  # plain NumPy integers and booleans cannot be missing
    return [
        None
        if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA
        else (v.value if isinstance(v, enum.Enum) else v)
        for v in values
    ]


def _text_or_none(text: pd.Series) -> list[Any]:
    values: list[Any] = text.tolist()
    if not text.isna().any():
        return values  # the common case, without a Python test per value
    return [None if pd.isna(v) else v for v in values]


def _rows(frame: pd.DataFrame, table: Table, dialect: str) -> list[tuple[Any, ...]]:
    columns = [_column_for_db(frame[name], table.c[name].type, dialect) for name in frame.columns]
    return list(zip(*columns, strict=True))


def write_frame(
    connection: Connection,
    table: Table,
    frame: pd.DataFrame,
    *,
    conflict: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> int:
    """Insert `frame` (columns named as the table's) into `table` inside the caller's transaction.

    With `conflict` (the columns of a unique key), an existing row with the same key is
    updated instead, so re-importing a file is safe.
    """
    if frame.empty:
        return 0
    dialect = connection.dialect.name
    names = list(frame.columns)
    written = 0
    for begin in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[begin : begin + CHUNK_ROWS]
        rows = _rows(chunk, table, dialect)
        if dialect == "postgresql":
            _copy_postgres(connection, table, names, rows, conflict)
        else:
            connection.exec_driver_sql(_insert_sql(table.name, names, conflict, "?"), rows)
        written += len(rows)
        if progress is not None:
            progress(len(rows))
    return written


def _insert_sql(
    target: str, names: Sequence[str], conflict: Sequence[str] | None, mark: str
) -> str:
    columns = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join(mark for _ in names)
    sql = f'INSERT INTO "{target}" ({columns}) VALUES ({marks})'
    return sql + _on_conflict(names, conflict)


def _on_conflict(names: Sequence[str], conflict: Sequence[str] | None) -> str:
    if not conflict:
        return ""
    keys = ", ".join(f'"{n}"' for n in conflict)
    updates = [f'"{n}" = excluded."{n}"' for n in names if n not in conflict]
    if not updates:
        return f" ON CONFLICT ({keys}) DO NOTHING"
    return f" ON CONFLICT ({keys}) DO UPDATE SET {', '.join(updates)}"


def _copy_postgres(
    connection: Connection,
    table: Table,
    names: Sequence[str],
    rows: list[tuple[Any, ...]],
    conflict: Sequence[str] | None,
) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    columns = ", ".join(f'"{n}"' for n in names)
    target = f'"{table.name}"'
    if conflict:
        staging = f'"_closeloop_stage_{table.name}"'
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
            f"(LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        cursor.execute(f"TRUNCATE {staging}")
        target = staging
    with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    if conflict:
        cursor.execute(
            f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM {target}'
            + _on_conflict(names, conflict)
        )

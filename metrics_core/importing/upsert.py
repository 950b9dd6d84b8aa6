"""Insert new rows and update existing ones, counting which is which.

A file rarely has every column, and a column it leaves out must not wipe what other
imports or the service stored (an accounts file without `lifecycle_stage` must not
un-churn accounts). So existing rows are looked up by their natural key first: columns
the frame lacks are carried over from the stored row, and new rows get the model's
default. Existing rows are then rewritten by primary key, which also makes a key that
differs only in case (emails) update the stored row instead of adding a second one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Column, ColumnElement, Connection, Date, Table, func, select

from metrics_core.bulk import write_frame
from metrics_core.importing.references import in_chunks


@dataclass(frozen=True)
class Counts:
    inserted: int
    updated: int


@dataclass(frozen=True)
class Target:
    """Where a kind's rows go and the natural key that identifies them there.

    With `casefold`, the first key column compares case-insensitively (an email); the
    frame must hold it lower-cased already.
    """

    table: Table
    key: tuple[str, ...]
    casefold: bool = False


def upsert(
    connection: Connection,
    target: Target,
    frame: pd.DataFrame,
    *,
    defaults: Mapping[str, Any] | None = None,
    narrow: Sequence[ColumnElement[bool]] = (),
    progress: Callable[[int], None] | None = None,
) -> Counts:
    """Write `frame` (columns named as the table's) into the target table.

    `defaults` are for new rows where the model has none; `narrow` adds conditions that
    bound the look-up of stored rows (usage: the file's date range, so a re-import of one
    month does not read years of history).
    """
    table = target.table
    surrogate = _surrogate_key(table, target)
    carried = [c for c in table.columns if c.name not in frame.columns and c.name != surrogate]
    fetched = [surrogate] if surrogate else []
    fetched += [c.name for c in carried]
    stored = _stored_rows(connection, target, frame, fetched, narrow)
    positions = _positions(target, stored, frame)
    exists = positions >= 0

    inserts = frame[~exists].copy()
    for column in carried:
        inserts[column.name] = _fill(_default(column, defaults or {}), len(inserts))
    updates = frame[exists].copy()
    for name in fetched:
        updates[name] = stored[name].to_numpy()[positions[exists]]

    write_frame(connection, table, inserts, progress=progress)
    conflict = [surrogate] if surrogate else list(target.key)
    write_frame(connection, table, updates, conflict=conflict, progress=progress)
    return Counts(inserted=len(inserts), updated=len(updates))


def _surrogate_key(table: Table, target: Target) -> str | None:
    primary = [c.name for c in table.primary_key.columns]
    return primary[0] if primary != list(target.key) and len(primary) == 1 else None


def _stored_rows(
    connection: Connection,
    target: Target,
    frame: pd.DataFrame,
    fetched: Sequence[str],
    narrow: Sequence[ColumnElement[bool]],
) -> pd.DataFrame:
    """The stored rows whose first key column matches the frame's, with key and `fetched`."""
    table = target.table
    first = table.c[target.key[0]]
    lookup = func.lower(first) if target.casefold else first
    names = [*target.key, *fetched]
    query = select(*(table.c[name] for name in names))
    values = frame[target.key[0]].dropna().unique().tolist()
    found: list[tuple[Any, ...]] = []
    for where in in_chunks(lookup, values):
        found += connection.execute(query.where(where, *narrow)).all()
    # Column-wise: pandas probes every Row object for attributes when given the rows.
    columns = list(zip(*found, strict=True)) if found else [()] * len(names)
    return pd.DataFrame(
        {name: pd.Series(column, dtype=object) for name, column in zip(names, columns, strict=True)}
    )


def _positions(target: Target, stored: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """For each frame row, the position of its stored row, or -1 for a new one."""
    if stored.empty:
        return np.full(len(frame), -1, dtype=np.int64)
    stored_keys = _key_index(target, stored)
    unique = ~stored_keys.duplicated(keep="first")
    where = np.flatnonzero(unique)
    found = stored_keys[unique].get_indexer(_key_index(target, frame))
    return np.where(found >= 0, where[found], -1)


def _key_index(target: Target, frame: pd.DataFrame) -> pd.MultiIndex:
    arrays = []
    for position, name in enumerate(target.key):
        values = frame[name]
        if isinstance(target.table.c[name].type, Date):
            values = pd.to_datetime(values).astype("datetime64[ns]")
        elif position == 0 and target.casefold:
            values = values.astype(str).str.lower()
        arrays.append(values.to_numpy())
    return pd.MultiIndex.from_arrays(arrays)


def _default(column: Column[Any], defaults: Mapping[str, Any]) -> Any:
    """What a new row gets for a column the file left out: the importer's or the model's default."""
    if column.name in defaults:
        return defaults[column.name]
    return model_default(column)


def model_default(column: Column[Any]) -> Any:
    """The model's default for `column` (None if nullable without one), so no default is retyped."""
    default = column.default
    if default is not None and default.is_scalar:
        return default.arg  # type: ignore[attr-defined]
    if default is not None and default.is_callable:
        return default.arg(None)  # type: ignore[attr-defined]
    if column.nullable:
        return None
    raise ValueError(f"{column.table.name}.{column.name} has no default; the import must set it")


def _fill(value: Any, length: int) -> Any:
    # Mutable defaults (a dict) are given one object per row, never one object shared by all.
    if isinstance(value, dict | list):
        return [type(value)(value) for _ in range(length)]
    return value

"""Insert new rows, update changed ones and leave unchanged ones alone, counting each.

A file rarely has every column, and a column it leaves out must not wipe what other
imports or the service stored (an accounts file without `lifecycle_stage` must not
un-churn accounts). So existing rows are looked up by their natural key first: columns
the frame lacks are carried over from the stored row, and new rows get the model's
default. Existing rows whose values all equal the stored ones are not written at all, so
re-importing yesterday's export changes nothing (and invalidates no cached answer); the
others are rewritten by primary key, which also makes a key that differs only in case
(emails) update the stored row instead of adding a second one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Enum,
    Integer,
    Numeric,
    Table,
    func,
    select,
)

from metrics_core.importing.references import in_chunks
from metrics_core.store.bulk import write_frame
from metrics_core.store.models import UtcDateTime


@dataclass(frozen=True)
class Counts:
    """Rows of a file that were new, changed (and rewritten), or equal to what is stored.

    `written` marks, per row of the frame given to `upsert`, whether it was written: a
    kind whose rows feed other tables (contracts → ARR history) rebuilds only for those.
    """

    inserted: int
    updated: int
    unchanged: int = 0
    written: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def changed(self) -> bool:
        return self.inserted + self.updated > 0


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
    not_compared: Sequence[str] = (),
    changed_elsewhere: np.ndarray | None = None,
) -> Counts:
    """Write `frame` (columns named as the table's) into the target table.

    `defaults` are for new rows where the model has none; `narrow` adds conditions that
    bound the look-up of stored rows (usage: the file's date range, so a re-import of one
    month does not read years of history). Columns in `not_compared` (bookkeeping such as
    `updated_at`) do not make a row changed; `changed_elsewhere` marks rows the caller
    knows changed in another table (a contract's churn status), which are written anyway.
    """
    table = target.table
    surrogate = _surrogate_key(table, target)
    carried = [c for c in table.columns if c.name not in frame.columns and c.name != surrogate]
    compared = [
        name for name in frame.columns if name not in target.key and name not in not_compared
    ]
    fetched = [surrogate] if surrogate else []
    fetched += [c.name for c in carried]
    stored = _stored_rows(connection, target, frame, [*fetched, *compared], narrow)
    positions = _positions(target, stored, frame)
    exists = positions >= 0

    inserts = frame[~exists].copy()
    for column in carried:
        inserts[column.name] = _fill(_default(column, defaults or {}), len(inserts))
    matched = stored.iloc[positions[exists]].reset_index(drop=True)
    same = _same_rows(table, matched, frame[exists].reset_index(drop=True), compared)
    if changed_elsewhere is not None:
        same &= ~np.asarray(changed_elsewhere, dtype=bool)[exists]
    updates = frame[exists][~same].copy()
    for name in fetched:
        updates[name] = matched[name].to_numpy()[~same]

    write_frame(connection, table, inserts, progress=progress)
    conflict = [surrogate] if surrogate else list(target.key)
    write_frame(connection, table, updates, conflict=conflict, progress=progress)
    if progress is not None and same.any():
        progress(int(same.sum()))  # looked at and left alone: done all the same
    written = ~exists
    written[np.flatnonzero(exists)[~same]] = True
    return Counts(
        inserted=len(inserts),
        updated=len(updates),
        unchanged=int(same.sum()),
        written=written,
    )


def _same_rows(
    table: Table, stored: pd.DataFrame, incoming: pd.DataFrame, columns: Sequence[str]
) -> np.ndarray:
    """Per row, whether every compared column holds what is stored already."""
    same = np.ones(len(incoming), dtype=bool)
    for name in columns:
        if not same.any():
            break
        same &= _same_values(stored[name], incoming[name], table.c[name].type)
    return same


def _plain(value: Any) -> Any:
    """A value as Python compares it: None for every kind of missing, enums by their value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _same_values(stored: pd.Series, incoming: pd.Series, column_type: Any) -> np.ndarray:
    """Elementwise equality of stored and incoming values of one column, type-aware.

    Timestamps compare as instants, dates as days and amounts to the column's precision
    (a money column keeps cents, so 12.001 in a file is 12.00 stored, not a change).
    """
    if isinstance(column_type, UtcDateTime | DateTime | Date):
        instants = isinstance(column_type, UtcDateTime | DateTime)
        old, new = (pd.to_datetime(side, utc=instants) for side in (stored, incoming))
        if not instants:
            old, new = old.dt.normalize(), new.dt.normalize()
        both_missing: np.ndarray = (old.isna() & new.isna()).to_numpy()
        equal: np.ndarray = (old == new).to_numpy(dtype=bool, na_value=False)
        same: np.ndarray = both_missing | equal
        return same
    if isinstance(column_type, Numeric | Integer):
        old_numbers, new_numbers = (
            pd.to_numeric(side, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            for side in (stored, incoming)
        )
        scale = getattr(column_type, "scale", None)
        tolerance = 0.5 * 10.0**-scale if isinstance(scale, int) else 0.0
        close: np.ndarray = np.abs(old_numbers - new_numbers) <= tolerance
        missing: np.ndarray = np.isnan(old_numbers) & np.isnan(new_numbers)
        within: np.ndarray = close | missing
        return within
    old_values = [_plain(v) for v in stored.tolist()]
    new_values = [_plain(v) for v in incoming.tolist()]
    return np.fromiter(
        (a == b for a, b in zip(old_values, new_values, strict=True)),
        dtype=bool,
        count=len(new_values),
    )


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
        column_type = target.table.c[name].type
        if isinstance(column_type, Date):
            values = pd.to_datetime(values).astype("datetime64[ns]")
        elif isinstance(column_type, Enum):  # stored members, file values: compare values
            values = pd.Series([_plain(v) for v in values], index=values.index, dtype=object)
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

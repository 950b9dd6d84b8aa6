"""From bytes on disk to a table of text values, each row knowing its physical line.

The file is decoded strictly (a wrong encoding is reported, never guessed) and parsed by
pandas' C reader with every value kept as text, so the checks that follow see exactly
what the user typed. Line numbers are physical lines: a quoted value spanning lines
pushes the rows after it down, as an editor shows them.

Leniencies, so that spreadsheet exports work as they come: a UTF-8 byte order mark,
CRLF line ends, header names in any case, spaces around values, blank (or all-empty)
rows, and rows missing trailing empty fields. Columns the kind does not know (a CRM
export's `industry`) are left out, never stored, and named in the import's summary, so a
misspelt optional column is seen rather than silently lost. A row with more fields than
the header is an error: it usually means a value with a comma and no quotes.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

from metrics_core.importing.columns import COLUMNS, FEATURE_PREFIX, expected_columns
from metrics_core.importing.problems import ProblemLog

_NEWLINES = r"\r\n|\r|\n"
_LINE_BREAK = re.compile(_NEWLINES)
_PADDING = tuple(f"{a}{b}" for a, b in (*product(',"\n', " \t"), *product(" \t", ',"\r\n')))
"""Space or tab next to a separator or quote: only then are values stripped, which is
slow on millions of values and needless for machine-written exports."""


@dataclass(frozen=True)
class Rows:
    """The data rows of one file: raw, stripped text per known column, each row's line,
    and the header's columns the kind does not know (left out of `frame`)."""

    file: str
    frame: pd.DataFrame
    lines: np.ndarray
    ignored: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.frame)

    def has(self, column: str) -> bool:
        return column in self.frame.columns

    def text(self, column: str) -> pd.Series:
        """The column's values, "" where empty or where the file has no such column."""
        if self.has(column):
            return self.frame[column]
        return pd.Series("", index=self.frame.index, dtype=str)


def read_rows(path: Path, kind: str, log: ProblemLog) -> Rows:
    """Read and check the file's shape and header; any problem stops the import here."""
    text = _decode(path, log)
    raw = None if text is None else _parse(text, log)
    if text is None or raw is None:
        log.raise_if_any()
        raise AssertionError("unreachable: a file that was not read has a problem logged")
    header = [str(name).strip().lower() for name in raw.iloc[0]]
    ignored = _check_header(header, kind, log)
    log.raise_if_any()
    lines = _physical_lines(raw, quoted='"' in text)
    rows = _data_rows(raw, header, tuple(ignored), lines, _padded(text), log)
    log.raise_if_any()
    return rows


def _decode(path: Path, log: ProblemLog) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as error:
        log.add(None, None, f"cannot be read: {error.strerror or error}")
        return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        log.add(None, None, "is UTF-16, not UTF-8; re-save the file as UTF-8 (CSV UTF-8)")
        return None
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        position = start + error.start
        line_start = data.rfind(b"\n", 0, position) + 1
        log.add(
            data.count(b"\n", 0, position) + 1,
            None,
            f"byte {position - line_start + 1} of the line (0x{data[position]:02X}) is "
            "not UTF-8; re-save the file as UTF-8",
        )
        return None
    if (nul := text.find("\x00")) != -1:
        # Not text, and PostgreSQL cannot store it (SQLite would): refused on every
        # database, at its line, before anything is parsed.
        before = _LINE_BREAK.split(text[:nul])
        log.add(
            len(before),
            None,
            f"character {len(before[-1]) + 1} of the line is a NUL character (0x00), "
            "which is not text; remove it",
        )
        return None
    if not text.strip():
        log.add(None, None, "the file is empty; the first line must name the columns")
        return None
    if not text.partition("\n")[0].strip():
        log.add(1, None, "the first line must name the columns, but it is empty")
        return None
    return text


def _parse(text: str, log: ProblemLog) -> pd.DataFrame | None:
    """All records including the header, as text; None after reporting unreadable CSV."""
    try:
        return pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.ParserError as error:
        _report_unparsable(text, str(error).strip(), log)
    except pd.errors.EmptyDataError:
        log.add(None, None, "the file is empty; the first line must name the columns")
    return None


def _report_unparsable(text: str, reason: str, log: ProblemLog) -> None:
    """Find the rows that broke pandas' reader with the slower csv module, to name lines."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        width = len(next(reader))
        consumed = start = reader.line_num
        for record in reader:
            start, consumed = consumed + 1, reader.line_num
            if len(record) > width:
                log.add(
                    start,
                    None,
                    f"has {len(record)} values but the header has {width} columns "
                    "(a value containing a comma must be in double quotes)",
                )
    except csv.Error as error:
        log.add(None, None, f"is not valid CSV: {error}")
    if "EOF inside string" in reason:
        log.add(start, None, "a double quote opened on this line is never closed")
    if not log.problems:
        log.add(None, None, f"is not valid CSV: {reason}")


def _padded(text: str) -> bool:
    return (
        text[:1] in (" ", "\t")
        or text.rstrip("\r\n")[-1:] in (" ", "\t")
        or any(pair in text for pair in _PADDING)
    )


def _physical_lines(raw: pd.DataFrame, quoted: bool) -> np.ndarray:
    """The line on which each record starts (the header's is 1)."""
    lines = np.arange(1, len(raw) + 1, dtype=np.int64)
    if quoted:
        breaks = sum(raw[column].str.count(_NEWLINES).to_numpy(dtype=np.int64) for column in raw)
        lines[1:] += np.cumsum(breaks)[:-1]
    return lines


def _data_rows(
    raw: pd.DataFrame,
    header: list[str],
    ignored: tuple[str, ...],
    lines: np.ndarray,
    padded: bool,
    log: ProblemLog,
) -> Rows:
    body = raw.iloc[1:]
    stripped = pd.DataFrame(
        {
            name: body[position].str.strip() if padded else body[position]
            for position, name in enumerate(header)
            if name not in ignored
        },
        index=body.index,
    ).reset_index(drop=True)
    filled = (stripped != "").any(axis=1).to_numpy()
    if not filled.any():
        log.add(None, None, "has a header but no data rows")
    return Rows(log.file, stripped[filled].reset_index(drop=True), lines[1:][filled], ignored)


def _check_header(header: list[str], kind: str, log: ProblemLog) -> list[str]:
    """Log what is wrong with the header; return the columns the kind does not know."""
    separator = _other_separator(header)
    if separator:
        log.add(1, None, f"values are separated by {separator}; save the file as comma-separated")
        return []
    known = [spec.name for spec in COLUMNS[kind] if not spec.name.endswith("*")]
    seen: set[str] = set()
    ignored: list[str] = []
    for position, name in enumerate(header, start=1):
        if not name:
            log.add(1, None, f"column {position} of the header has no name")
        elif name in seen:
            log.add(1, name, "appears twice in the header")
        elif name not in known and not _is_feature(kind, name):
            ignored.append(name)
        seen.add(name)
    missing = [spec.name for spec in COLUMNS[kind] if spec.required and spec.name not in seen]
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        lookalikes = [
            f"'{close[0]}' looks like '{name}'"
            for name in missing
            if (close := difflib.get_close_matches(name, ignored, n=1))
        ]
        hint = f" ({'; '.join(lookalikes)})" if lookalikes else ""
        log.add(
            1,
            None,
            f"missing required column{'s' if len(missing) > 1 else ''} {names}{hint}; "
            f"the columns for {kind} are: {expected_columns(kind)} (* = required)",
        )
    return ignored


def describe_ignored(kind: str, ignored: tuple[str, ...]) -> str:
    """The ignored columns for a summary, with the known column a misspelt one resembles:
    `industry, owner_emial (did you mean 'owner_email'?)`."""
    known = [spec.name for spec in COLUMNS[kind] if not spec.name.endswith("*")]
    described = []
    for name in ignored:
        close = difflib.get_close_matches(name, known, n=1)
        described.append(f"{name} (did you mean '{close[0]}'?)" if close else name)
    return ", ".join(described)


def _is_feature(kind: str, name: str) -> bool:
    return kind == "usage" and name.startswith(FEATURE_PREFIX) and len(name) > len(FEATURE_PREFIX)


def _other_separator(header: list[str]) -> str | None:
    """ "semicolons" for a one-column header like "email;name" (a European Excel export)."""
    if len(header) == 1:
        for mark, name in ((";", "semicolons"), ("\t", "tabs")):
            if mark in header[0]:
                return name
    return None

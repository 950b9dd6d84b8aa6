"""Any file `closeloop import` is given either imports cleanly or is refused whole.

For every kind, files are drawn from what spreadsheets and CRM exports really hold (valid
values, near misses, wrong types, quotes, commas, line breaks, markup and SQL, columns
missing, repeated or unknown) and from arbitrary bytes. The import must then either
succeed or raise `ImportFailed` whose every problem names the file (and the line and
column when the problem has one); any other exception is a traceback a user would see.
A refused file must leave every table exactly as it was. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.entrypoints.cli import app
from metrics_core.importing import COLUMNS, KINDS, ColumnSpec, ImportFailed, import_csv
from metrics_core.store.db import Database
from metrics_core.store.models import Account, Base, Contact, SurveyResponse
from tests.hostile import SQL, examples, hostile_text, import_book, printable_hostile_text

NEAR = {
    "date": ["2026-01-31", "2026-02-30", "2026-13-01", "31/01/2026", "2026-1-5", "0000-00-00"],
    "timestamp": [
        *("2026-11-20T09:30:00Z", "2026-11-20T09:30:00", "2026-11-20 09:30:00+02:00"),
        *("2026-11-20T25:00:00Z", "yesterday", "1763630000", "9999-12-31T23:59:59-14:00"),
    ],
    "integer": ["0", "7", "-1", "1.5", "1e3", "99999999999999999999", "NaN", "１２", "0x10"],
    "number": ["0", "1200.50", "-5", "1e309", "inf", "NaN", "1,200", "€1200"],
    "email": ["ann@example.com", "BOB@example.com", "jane@acme.example", "not-an-email", "@x"],
    "text": ["ACME", "GLOBEX", "NOPE", "x" * 300, SQL, "Acme, Inc.", 'say "hi"', "a\nb", "a\x00b"],
}


def near_values(kind: str) -> st.SearchStrategy[str]:
    """A column's wrong values: near misses of its type, empties and hostile text."""
    if kind.startswith("enum: "):
        known = kind.removeprefix("enum: ").split("|")
        near = st.sampled_from([*known, *(v.upper() for v in known), "other", "nps "])
    else:
        near = st.sampled_from(NEAR[kind])
    return st.one_of(near, near, st.just(""), hostile_text(max_parts=2))


_ID = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,11}", fullmatch=True)
_FREE = printable_hostile_text(max_parts=3)
_MEMBER = st.sampled_from(["ann@example.com", "BOB@example.com"])
_DAY = st.dates(dt.date(2025, 1, 1), dt.date(2025, 12, 31)).map(str)
_LATER_DAY = st.dates(dt.date(2026, 1, 1), dt.date(2026, 6, 30)).map(str)
_COUNT = st.integers(0, 500).map(str)
VALID: dict[str, st.SearchStrategy[str]] = {
    "external_id": _ID | _FREE.filter(str.strip),
    "response_id": _ID | _FREE.filter(str.strip),
    "email": st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True),
    "respondent_email": st.sampled_from(["jane@acme.example", ""]),
    "owner_email": _MEMBER | st.just(""),
    "manager_email": _MEMBER | st.just(""),
    "csm_email": _MEMBER | st.just(""),
    "account_external_id": st.sampled_from(["ACME", "GLOBEX"]),
    "slack_user_id": st.just(""),
    "teams_aad_object_id": st.just(""),
    "created_on": _DAY,
    "start_date": _DAY,
    "period_start": _DAY,
    "date": _DAY,
    "end_date": _LATER_DAY,
    "period_end": _LATER_DAY,
    "domain": st.sampled_from(["", "initech.example", "ACME.example"]),
    "seats": _COUNT,
    "feature_export": _COUNT,
    "feature_api": _COUNT,
    "active_users": _COUNT,
    "sessions": _COUNT,
    "events": _COUNT,
    "arr": st.sampled_from(["0", "1200.50", "250000"]),
    "amount": st.sampled_from(["0", "1200.50", "250000"]),
    "score": st.integers(1, 5).map(str),
    "opened_at": st.just("2026-11-20T09:30:00Z"),
    "submitted_at": st.sampled_from(["2026-11-20T09:30:00Z", "2026-11-20 10:30:00+01:00"]),
    "occurred_at": st.just("2026-11-20T09:30:00"),
    "closed_at": st.sampled_from(["", "2026-11-21T10:00:00Z"]),
}


def valid_values(spec: ColumnSpec) -> st.SearchStrategy[str]:
    """Values the column accepts, free text included: that is where customer text goes."""
    if spec.name in VALID:
        return VALID[spec.name]
    if spec.kind.startswith("enum: "):
        return st.sampled_from(spec.kind.removeprefix("enum: ").split("|"))
    return _FREE.filter(str.strip) if spec.required else _FREE


@st.composite
def csv_files(draw: st.DrawFn, kind: str) -> bytes:
    """A file of `kind`: half the time one a person meant to be right (the kind's columns,
    values it accepts with an odd one here and there), else anything a header and rows
    can be, quoted properly or not at all."""
    known = [spec for spec in COLUMNS[kind] if not spec.name.endswith("*")]
    meant_right = draw(st.booleans())
    if meant_right:
        chosen = [spec for spec in known if spec.required or draw(st.booleans())]
        columns = list(draw(st.permutations(chosen)))
    else:
        columns = draw(st.lists(st.sampled_from(known), max_size=len(known) + 1))
    if kind == "usage" and draw(st.booleans()):
        feature = draw(st.sampled_from(["feature_export", "feature_", "FEATURE_Api"]))
        columns.append(ColumnSpec(feature, False, "integer", ""))
    if draw(st.booleans()):
        extra = draw(st.sampled_from(["industry", "owner_emial", "", "Name", SQL]))
        columns.append(ColumnSpec(extra, False, "text", ""))
    names = [spec.name for spec in columns]

    def cell(spec: ColumnSpec) -> st.SearchStrategy[str]:
        if meant_right and draw(st.integers(0, 29)):  # one value in thirty is wrong
            return valid_values(spec)
        return near_values(spec.kind)

    rows = draw(
        st.lists(st.tuples(*(cell(spec) for spec in columns)), min_size=meant_right, max_size=4)
    )
    out = io.StringIO()
    if meant_right or draw(st.booleans()):
        writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
        writer.writerow(names)
        writer.writerows(rows)
    else:  # written by hand: no quoting, whatever the values hold
        out.write("\n".join(",".join(row) for row in [tuple(names), *rows]))
    prefix = draw(st.sampled_from(["", "\ufeff", " "]))
    return (prefix + out.getvalue()).encode("utf-8")


def snapshot(db: Database) -> dict[str, list[str]]:
    """Every row of every table, as text, in a stable order."""
    with db.reading() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def book(db: Database, tmp_path: Path) -> Database:
    """Two team members, two accounts and a contact, imported as a user would."""
    import_book(db, tmp_path)
    return db


def check_import(db: Database, kind: str, path: Path) -> None:
    """Import; a refusal must name the file for each problem and change nothing."""
    before = snapshot(db)
    try:
        import_csv(db.engine, kind, path)
    except ImportFailed as error:
        failure = error
    else:
        event("imported")
        return
    event("refused")
    assert failure.problems, failure
    # Physical lines as an editor counts them: CR LF, LF and a lone CR each end one.
    lines = len(re.split(rb"\r\n|\r|\n", path.read_bytes()))
    for problem in failure.problems:
        assert str(problem).startswith(f"{path.name}:" if problem.line else path.name)
        assert problem.line is None or 1 <= problem.line <= lines, problem
        assert problem.message.strip(), problem
    assert failure.summary().endswith("Nothing was imported.")
    assert snapshot(db) == before, "a refused file changed the database"


@pytest.mark.parametrize("kind", KINDS)
def test_any_file_of_a_kind_imports_cleanly_or_is_refused_whole(
    book: Database, tmp_path: Path, kind: str
) -> None:
    @settings(max_examples=examples(12))
    @given(content=csv_files(kind))
    def check(content: bytes) -> None:
        path = tmp_path / f"{kind}.csv"
        path.write_bytes(content)
        check_import(book, kind, path)

    check()


@settings(max_examples=examples(25))
@given(content=st.binary(max_size=200), kind=st.sampled_from(KINDS))
def test_arbitrary_bytes_are_refused_with_a_reason(
    sqlite_db: Database, tmp_path: Path, content: bytes, kind: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    check_import(sqlite_db, kind, path)


def test_sql_and_markup_are_stored_as_written(book: Database, tmp_path: Path) -> None:
    """A name or comment that looks like SQL or chat markup is data, stored verbatim."""
    name = f"{SQL} <!channel> [x](http://evil.example)"
    comment = "Robert'); DROP TABLE survey_responses;-- **now** <script>x</script>"
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        f'external_id,name,segment,created_on\n"{SQL}","{name.replace(chr(34), chr(34) * 2)}",'
        "SMB,2024-03-01\n",
        encoding="utf-8",
    )
    import_csv(book.engine, "accounts", accounts)
    surveys = tmp_path / "surveys.csv"
    header = "response_id,survey,score,comment,respondent_name,account_external_id,submitted_at"
    rows: list[Any] = [
        header.split(","),
        [SQL, "nps", "3", comment, SQL, SQL, "2026-11-20T09:30:00Z"],
    ]
    with surveys.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    import_csv(book.engine, "surveys", surveys)
    with book.reading() as session:
        account = session.scalars(select(Account).where(Account.external_id == SQL)).one()
        answer = session.scalars(select(SurveyResponse)).one()
        assert session.scalars(select(Contact.email)).all() == ["jane@acme.example"]
        assert account.name == name
        assert (answer.provider_response_id, answer.comment, answer.respondent_name) == (
            SQL,
            comment,
            SQL,
        )
        assert answer.account_id == account.id


def test_a_nul_character_is_refused_at_its_line_on_every_database(
    book: Database, tmp_path: Path
) -> None:
    """SQLite would store a NUL and PostgreSQL refuses it: the file is refused either way,
    at the line that holds it, so the same file never imports on one and fails on the other."""
    path = tmp_path / "accounts.csv"
    path.write_bytes(
        b"external_id,name,segment,created_on\n"
        b"INITECH,Initech,SMB,2024-03-01\n"
        b"NUL,Nul\x00Corp,SMB,2024-03-01\n"
    )
    before = snapshot(book)
    with pytest.raises(ImportFailed) as refused:
        import_csv(book.engine, "accounts", path)
    (problem,) = refused.value.problems
    assert (problem.file, problem.line) == ("accounts.csv", 3), problem
    assert "NUL" in problem.message
    assert snapshot(book) == before


def test_the_terminal_shows_a_refused_file_as_written(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file name with rich markup and a value with an escape sequence are printed as text:
    no markup error, no colour change, no cleared screen."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    folder = tmp_path / "["
    folder.mkdir()
    path = folder / "bold]accounts.csv"  # the path reads `…/[/bold]accounts.csv`
    path.write_text(
        "external_id,name,segment,owner_email,created_on\nACME,Acme,SMB,\x1b[2Jnobody,2024-01-01\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["import", "accounts", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert f"{path}: nothing was imported." in result.output
    assert "\x1b" not in result.output
    assert "\\x1b[2Jnobody" in result.output

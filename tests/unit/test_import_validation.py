"""The parts of importing that need no database: messages, limits and the respondent rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from metrics_core.accounts.respondents import ContactRef, Directory
from metrics_core.importing import COLUMNS, KINDS, ImportFailed, Problem, import_csv
from metrics_core.store.models import SCORE_RANGES, SurveyKind


def test_problem_reads_like_a_compiler_message() -> None:
    assert str(Problem("usage.csv", 17, "date", "'2026-13-01' is not a date (YYYY-MM-DD)")) == (
        "usage.csv:17: column 'date': '2026-13-01' is not a date (YYYY-MM-DD)"
    )
    assert str(Problem("usage.csv", 1, None, "missing required column 'date'")) == (
        "usage.csv:1: missing required column 'date'"
    )
    assert str(Problem("usage.csv", None, None, "the file is empty")) == (
        "usage.csv: the file is empty"
    )


def test_failure_message_lists_problems_and_what_was_left_out() -> None:
    failure = ImportFailed([Problem("a.csv", 2, "x", "bad")], more=3, stopped=True)

    assert str(failure).splitlines() == [
        "a.csv:2: column 'x': bad",
        "… and at least 3 more problems",
        "Checking stopped after 1 problem.",
        "Nothing was imported.",
    ]


def test_every_kind_has_columns_and_a_required_key() -> None:
    assert tuple(COLUMNS) == KINDS
    for kind, columns in COLUMNS.items():
        names = [c.name for c in columns]
        assert len(names) == len(set(names)), kind
        assert columns[0].required, f"{kind}: the identifying column comes first"
        assert all(c.description for c in columns), kind


def test_survey_scales_cover_every_survey_kind() -> None:
    assert set(SCORE_RANGES) == set(SurveyKind)


def test_unknown_kind_and_bad_limit_are_programming_errors(tmp_path: Path) -> None:
    engine = create_engine("sqlite://")
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")

    with pytest.raises(ValueError, match="unknown import kind 'account'"):
        import_csv(engine, "account", path)
    with pytest.raises(ValueError, match="max_problems must be at least 1"):
        import_csv(engine, "accounts", path, max_problems=0)


DIRECTORY = Directory(
    account_by_external_id={"ACME": 1, "GLOBEX": 2},
    contact_by_email={"jane@partner.example": ContactRef(contact_id=10, account_id=2)},
    account_by_domain={"acme.example": 1, "shared.example": None},
)


@pytest.mark.parametrize(
    ("email", "external_id", "expected"),
    [
        ("jane@partner.example", "ACME", (1, None, "account_external_id")),
        ("jane@partner.example", "GLOBEX", (2, 10, "account_external_id")),
        ("Jane@Partner.Example", None, (2, 10, "contact_email")),
        ("bob@ACME.example", "", (1, None, "domain")),
        ("bob@acme.example", "NOPE", (1, None, "domain")),
        ("bob@shared.example", None, (None, None, "unmatched")),
        ("bob@elsewhere.example", None, (None, None, "unmatched")),
        (None, None, (None, None, "unmatched")),
    ],
    ids=[
        "external-id-wins",
        "external-id-keeps-its-contact",
        "contact-email-any-case",
        "domain",
        "unknown-external-id-falls-back",
        "ambiguous-domain",
        "no-match",
        "nothing-given",
    ],
)
def test_respondent_matching_rule(
    email: str | None, external_id: str | None, expected: tuple[int | None, int | None, str]
) -> None:
    match = DIRECTORY.match(email, external_id)

    assert (match.account_id, match.contact_id, match.matched_by) == expected

"""Hostile input for the property-based tests: markup that must stay text, and odd text.

Account names, survey comments and respondent names come from CSV files and survey tools,
that is from anyone. `MARKUP` holds what each surface would act on if it were passed
through as markup (Slack mentions and links, Adaptive Card markdown, HTML, terminal
control sequences) and what a careless store would execute (SQL); `hostile_text` mixes
them with arbitrary text.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import strategies as st

from metrics_core.importing import import_csv
from metrics_core.store.db import Database

MASS_MENTIONS = ("<!channel>", "<!here>", "<!everyone>", "<!subteam^S0CS>")
SLACK_MARKUP = (*MASS_MENTIONS, "<@U0CSM1>", "<#C0ALERTS>", "<http://evil.example|click>")
CARD_MARKDOWN = (
    "[click](http://evil.example)",
    "[x]( http://evil.example )",
    "**bold**",
    "_italic_",
    "*em*",
    "- item\n- item",
    "1. first\r2. second",
    "{{DATE(2026-11-20T09:30:00Z, SHORT)}}",
)
HTML = ("<script>alert(1)</script>", "<b>bold</b>", "<img src=x onerror=alert(1)>", "&amp;")
TERMINAL = ("\x1b[2J\x1b[31mRED", "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07", "\r", "\x08")
SQL = "'; DROP TABLE accounts; --"
MARKUP: tuple[str, ...] = (*SLACK_MARKUP, *CARD_MARKDOWN, *HTML, *TERMINAL, SQL)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")


def examples(count: int) -> int:
    """A test's example count: as written for `make test`, ten times that when exploring."""
    return count * 10 if PROFILE == "explore" else count


def hostile_text(*, max_parts: int = 6) -> st.SearchStrategy[str]:
    """Text made of markup fragments and arbitrary characters, in any order."""
    part = st.one_of(st.sampled_from(MARKUP), st.text(max_size=12))
    return st.lists(part, max_size=max_parts).map("".join)


def printable_hostile_text(*, max_parts: int = 6) -> st.SearchStrategy[str]:
    """`hostile_text` that a CSV file or a database text column can hold (no NUL)."""
    return hostile_text(max_parts=max_parts).map(lambda text: text.replace("\x00", ""))


BOOK_TEAM = (
    "email,name,role,slack_user_id\n"
    "ann@example.com,Ann Csm,csm,U0CSM1\n"
    "bob@example.com,Bob Boss,manager,U0BOSS\n"
)
BOOK_ACCOUNTS = (
    "external_id,name,segment,owner_email,created_on\n"
    "ACME,Acme Corp,Enterprise,ann@example.com,2024-01-01\n"
    "GLOBEX,Globex,SMB,,2024-02-01\n"
)
BOOK_CONTACTS = "email,name,account_external_id\njane@acme.example,Jane Doe,ACME\n"


def import_book(db: Database, folder: Path) -> None:
    """Two team members, two accounts (Acme Corp is `ACME`) and a contact, as CSV imports."""
    files = (("team", BOOK_TEAM), ("accounts", BOOK_ACCOUNTS), ("contacts", BOOK_CONTACTS))
    for kind, content in files:
        path = folder / f"book-{kind}.csv"
        path.write_text(content, encoding="utf-8")
        import_csv(db.engine, kind, path)

"""Hostile input for the property-based tests: markup that must stay text, and odd text.

Account names, survey comments and respondent names come from CSV files and survey tools,
that is from anyone. `MARKUP` holds what each surface would act on if it were passed
through as markup (Slack mentions and links, Adaptive Card markdown, HTML, terminal
control sequences) and what a careless store would execute (SQL); `hostile_text` mixes
them with arbitrary text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def json_values(*words: str) -> st.SearchStrategy[Any]:
    """Any JSON value, small: what a field may be replaced by, with `words` a sender's
    format gives meaning to (a survey kind, a call type) among the odd ones."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats()
        | st.text(max_size=10)
        | st.sampled_from([*MARKUP, "x" * 400, "\x00", "2026-11-20T09:30:00Z", *words]),
        _containers,
        max_leaves=6,
    )


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=8), children, max_size=3
    )


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and index path inside a JSON document."""
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def mutate(draw: st.DrawFn, document: Any, values: st.SearchStrategy[Any]) -> bytes:
    """`document` with up to three fields replaced by `values` or removed, as JSON bytes."""
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(list(paths(document))))
        parent = document
        for key in where[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(values)
    return json.dumps(document, ensure_ascii=draw(st.booleans())).encode("utf-8")

"""A whole answer is reused only until the database changes, on SQLite and PostgreSQL: a
commit by this process or by another (an import from the command line, another replica)
makes the next question computed afresh, and a rolled-back write changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from sqlalchemy import select

from bot.answers import AnswerCache
from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import Reply
from bot.router import Router
from metrics_core.config import Config
from metrics_core.importing import import_csv
from metrics_core.store import input_versions
from metrics_core.store.db import Database, is_sqlite, make_engine
from metrics_core.store.models import Account
from tests import factories as f
from tests.routing import context_for

AS_OF = dt.date(2026, 11, 20)
ME = Actor(Platform.SLACK, user_id="U1", display_name="jane")
NOTICE_SECONDS = 5.0
"""How long PostgreSQL's notification of a commit may take to arrive here, at most."""


def _book(db: Database) -> None:
    with db.writing() as session:
        acme = f.account(session, seats=100)
        f.daily_usage(session, acme.id, AS_OF, 30, 5, {"reports": 3})


def _settled(db: Database, before: int | None) -> int:
    """The change counter once it has moved past `before` (at once on SQLite; when the
    notification has arrived on PostgreSQL)."""
    deadline = time.monotonic() + NOTICE_SECONDS
    while True:
        now = db.changes.generation()
        if now is not None and now != before:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"the change counter stayed at {before}")
        time.sleep(0.01)


def _listening(db: Database) -> int:
    """The counter, once it can tell (PostgreSQL's listener connects on first use)."""
    return _settled(db, None)


def _bump(db: Database, *, commit: bool) -> None:
    with db.writing() as session:
        input_versions.bump(session)
        if not commit:
            session.rollback()


def test_a_commit_moves_the_counter_and_a_rollback_does_not(db: Database) -> None:
    _book(db)
    start = _listening(db)
    _bump(db, commit=False)
    _bump(db, commit=True)
    moved = _settled(db, start)
    if is_sqlite(db.engine):
        assert moved != start
    else:
        # One notification: the rolled-back bump sent none.
        assert moved == start + 1


def test_a_commit_by_another_process_is_seen(db: Database, migrated_url: str) -> None:
    _book(db)
    start = _listening(db)
    other = make_engine(migrated_url)  # another connection pool, as another process has
    try:
        with other.begin() as connection:
            input_versions.bump(connection)
    finally:
        other.dispose()
    _settled(db, start)


def _ask(router: Router, text: str) -> Reply:
    return asyncio.run(router.handle(CommandRequest.parse(text, ME)))


def test_health_is_answered_from_memory_until_an_import_changes_it(
    db: Database, tmp_path: Path
) -> None:
    _book(db)
    _listening(db)
    answers = AnswerCache(db.changes)
    router = Router(context_for(db, Config(), today=AS_OF, answers=answers))
    first = _ask(router, "health acme")
    assert _ask(router, "health acme") is first
    assert answers.hits == 1
    # Another question is another answer; `health validity` is never kept.
    assert _ask(router, "health ACME") is not first
    _ask(router, "health validity")
    assert _ask(router, "health validity") is not _ask(router, "health validity")

    before = db.changes.generation()
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "account_external_id,date,active_users\nACME,2026-11-20,95\n", encoding="utf-8"
    )
    import_csv(db.engine, "usage", usage)
    _settled(db, before)
    after = _ask(router, "health acme")
    fresh = _ask(Router(context_for(db, Config(), today=AS_OF)), "health acme")
    assert after == fresh != first


def test_a_new_day_is_a_new_question(db: Database) -> None:
    _book(db)
    _listening(db)
    answers = AnswerCache(db.changes)
    monday = _ask(Router(context_for(db, Config(), today=AS_OF, answers=answers)), "health acme")
    tuesday = Router(context_for(db, Config(), today=AS_OF + dt.timedelta(days=1), answers=answers))
    assert _ask(tuesday, "health acme") is not monday


def test_a_renamed_account_is_found_under_its_new_name(db: Database) -> None:
    """The account's own row is an input too: its name decides which account is meant."""
    _book(db)
    _listening(db)
    answers = AnswerCache(db.changes)
    router = Router(context_for(db, Config(), today=AS_OF, answers=answers))
    assert "Acme" in _ask(router, "health acme").heading
    before = db.changes.generation()
    with db.writing() as session:
        account = session.scalars(select(Account)).one()
        account.name = "Zenith Ltd"
        input_versions.bump(session, [account.id])
    _settled(db, before)
    assert "Zenith" in _ask(router, "health zenith").heading


def test_an_answer_in_memory_is_given_without_waiting_for_anything(db: Database) -> None:
    """What a chat adapter with a deadline asks first (`Router.remembered`)."""
    _book(db)
    _listening(db)
    router = Router(context_for(db, Config(), today=AS_OF, answers=AnswerCache(db.changes)))
    health = CommandRequest.parse("health acme", ME)
    assert router.remembered(health) is None  # never asked
    first = _ask(router, "health acme")
    assert router.remembered(health) is first
    assert router.remembered(CommandRequest.parse("closeloop health acme", ME)) is first
    _ask(router, "health validity")
    assert router.remembered(CommandRequest.parse("health validity", ME)) is None
    assert router.remembered(CommandRequest.parse("nps acme", ME)) is None
    before = db.changes.generation()
    _bump(db, commit=True)
    _settled(db, before)
    assert router.remembered(health) is None

"""A health answer is reused only while the account's inputs are unchanged, on SQLite and
PostgreSQL: every way data arrives (a CSV import, a survey webhook, a stored snapshot)
makes the next question see it, and a change to one account leaves the others' answers
alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from metrics_core.config import Config
from metrics_core.followups.intake import record_answer
from metrics_core.health.cache import HealthCache
from metrics_core.health.scorecard import HealthResult, account_health, store_snapshots
from metrics_core.importing import import_csv
from metrics_core.store.db import Database
from metrics_core.store.models import SurveyKind
from metrics_core.surveys.answers import SurveyAnswer
from tests import factories as f

AS_OF = dt.date(2026, 11, 20)
CONFIG = Config()


def _book(db: Database) -> tuple[int, int]:
    with db.writing() as session:
        acme = f.account(session, seats=100)
        beta = f.account(session, "BETA", "Beta GmbH", seats=10, domain="beta.example")
        for account in (acme, beta):
            f.daily_usage(session, account.id, AS_OF, 30, 5, {"reports": 3})
        f.nps(session, acme.id, "first", 9, f.utc(2026, 11, 1))
        return acme.id, beta.id


def _ask(db: Database, cache: HealthCache, account_id: int, day: dt.date = AS_OF) -> HealthResult:
    with db.reading() as session:
        result = cache.get(session, account_id, day)
    assert result is not None
    return result


def _fresh(db: Database, account_id: int, day: dt.date = AS_OF) -> HealthResult:
    with db.reading() as session:
        result = account_health(session, account_id, day, CONFIG)
    assert result is not None
    return result


def _component(result: HealthResult, name: str) -> float | None:
    return next(c.score for c in result.components if c.name == name)


def _detractor(db: Database, response_id: str, email: str) -> None:
    answer = SurveyAnswer(
        "generic", response_id, SurveyKind.NPS, 1, f.utc(2026, 11, 19), respondent_email=email
    )
    with db.writing() as session:
        record_answer(session, answer, config=CONFIG, fallback=None, now=f.utc(2026, 11, 19))


def test_an_answer_is_reused_while_nothing_changed(db: Database) -> None:
    acme, _ = _book(db)
    cache = HealthCache(CONFIG)
    first = _ask(db, cache, acme)
    assert first == _fresh(db, acme)
    assert _ask(db, cache, acme) is first
    # A new day is a new question.
    assert _ask(db, cache, acme, AS_OF + dt.timedelta(days=1)) is not first


def test_a_survey_answer_is_seen_at_once_and_only_by_its_account(db: Database) -> None:
    acme, beta = _book(db)
    cache = HealthCache(CONFIG)
    before, beta_before = _ask(db, cache, acme), _ask(db, cache, beta)
    _detractor(db, "r-1", "jane@acme.example")
    after = _ask(db, cache, acme)
    assert _component(after, "sentiment") == _component(_fresh(db, acme), "sentiment")
    assert _component(after, "sentiment") != _component(before, "sentiment")
    assert _ask(db, cache, beta) is beta_before


def test_an_imported_file_is_seen_at_once(db: Database, tmp_path: Path) -> None:
    acme, beta = _book(db)
    cache = HealthCache(CONFIG)
    before, beta_before = _ask(db, cache, acme), _ask(db, cache, beta)
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "account_external_id,date,active_users\nACME,2026-11-20,90\n", encoding="utf-8"
    )
    import_csv(db.engine, "usage", usage)
    after = _ask(db, cache, acme)
    assert after == _fresh(db, acme)
    assert after.score > before.score
    # An import may touch any account, so all are recomputed; the answer stays right.
    assert _ask(db, cache, beta) == beta_before


def test_a_stored_snapshot_gives_the_change_it_is_measured_against(db: Database) -> None:
    acme, _ = _book(db)
    cache = HealthCache(CONFIG)
    assert _ask(db, cache, acme).change_7d is None
    store_snapshots(db.engine, AS_OF - dt.timedelta(days=7), CONFIG)
    assert _ask(db, cache, acme).change_7d == _fresh(db, acme).change_7d is not None


def test_an_unknown_account_has_no_answer(db: Database) -> None:
    _book(db)
    with db.reading() as session:
        assert HealthCache(CONFIG).get(session, 999_999, AS_OF) is None


def test_the_oldest_answers_make_room(db: Database) -> None:
    acme, beta = _book(db)
    cache = HealthCache(CONFIG, capacity=1)
    first = _ask(db, cache, acme)
    _ask(db, cache, beta)
    assert _ask(db, cache, acme) is not first
    assert _ask(db, cache, acme) == first

"""The command line, run in-process against a real SQLite file."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from metrics_core.db import Database, make_engine
from metrics_core.migrate import current_revision, head_revision
from tests import factories as f


@pytest.fixture
def runner(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    return CliRunner()


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("migrate", "seed", "import", "ask", "serve"):
        assert command in result.output


def test_migrate_creates_then_reports_the_schema(runner: CliRunner, sqlite_url: str) -> None:
    first = runner.invoke(app, ["migrate"])
    assert first.exit_code == 0, first.output
    assert "upgraded from empty" in first.output
    engine = make_engine(sqlite_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    second = runner.invoke(app, ["migrate"])
    assert "already at the latest revision" in second.output


def test_ask_health_answers_about_the_account(runner: CliRunner, sqlite_url: str) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    db = Database(make_engine(sqlite_url))
    today = dt.datetime.now(dt.UTC).date()
    with db.writing() as session:
        owner = f.team_member(session, name="Jo Csm")
        acme = f.account(session, owner=owner)
        f.daily_usage(session, acme.id, today, days=30, active_users=60)
    db.close()
    result = runner.invoke(app, ["ask", "health", "acme"])
    assert result.exit_code == 0, result.output
    assert "Acme Corp — health" in result.output
    assert "Health score: 100/100" in result.output
    assert "Jo Csm" in result.output


def test_ask_with_an_unknown_account_says_so(runner: CliRunner) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["ask", "health", "nobody"])
    assert result.exit_code == 0
    assert "No account matches “nobody”" in result.output


def test_ask_help(runner: CliRunner) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["ask", "help"])
    assert "health <account>" in result.output

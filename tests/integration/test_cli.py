"""The command line, run in-process against a real SQLite file."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from adapters.entrypoints.cli import app
from metrics_core.store.db import Database, make_engine
from metrics_core.store.migrate import current_revision, head_revision, upgrade
from metrics_core.store.models import HealthSnapshot, Ticket
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


def _one_account(url: str) -> None:
    db = Database(make_engine(url))
    with db.writing() as session:
        f.account(session, owner=f.team_member(session, name="Jo Csm"))
    db.close()


def test_ask_with_an_unknown_account_says_so_and_exits_1(
    runner: CliRunner, sqlite_url: str
) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    _one_account(sqlite_url)
    result = runner.invoke(app, ["ask", "health", "nobody"])
    assert result.exit_code == 1  # not an answer: a script must be able to tell
    assert "No account matches “nobody”" in result.output
    assert "Share in channel" not in result.output


def test_ask_help(runner: CliRunner, sqlite_url: str) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    _one_account(sqlite_url)
    result = runner.invoke(app, ["ask", "help"])
    assert result.exit_code == 0
    assert "health <account>" in result.output


def test_help_reads_at_100_columns_and_keeps_every_form(runner: CliRunner, sqlite_url: str) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    _one_account(sqlite_url)
    listing = runner.invoke(app, ["ask", "help"])
    assert listing.exit_code == 0
    assert max(len(line) for line in listing.output.splitlines()) <= 100
    assert "help digest" in listing.output  # where the rest of the syntax is
    digest = runner.invoke(app, ["ask", "help", "digest"])
    assert digest.exit_code == 0
    assert max(len(line) for line in digest.output.splitlines()) <= 100
    for form in (
        "digest subscribe daily HH:MM [Area/City] [segment=… | owner=@user | mine]",
        "digest subscribe weekly mon HH:MM",
        "digest list",
        "digest unsubscribe ID",
        "digest preview [daily | weekly] [scope]",
    ):
        assert form in digest.output


def test_an_empty_command_answers_with_help(runner: CliRunner, sqlite_url: str) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    _one_account(sqlite_url)
    result = runner.invoke(app, ["ask", ""])
    assert result.exit_code == 0
    assert "Closeloop commands" in result.output
    assert "health <account>" in result.output


def test_a_huge_command_is_not_echoed_back(runner: CliRunner, sqlite_url: str) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    _one_account(sqlite_url)
    pasted = "x" * 100_000
    for command in (pasted, f"health {pasted[:500]}", f"frobnicate{pasted[:500]}"):
        result = runner.invoke(app, ["ask", command])
        assert result.exit_code == 1
        heading = result.output.splitlines()[0]
        assert len(heading) <= 100, heading
        assert len(result.output) < 3_000


def test_ask_never_creates_a_database(runner: CliRunner, tmp_path: Path) -> None:
    """Run where there is no database, `ask` says how to make one instead of making it."""
    path = tmp_path / "elsewhere" / "closeloop.db"
    path.parent.mkdir()
    env = {"DATABASE_URL": f"sqlite:///{path}"}
    for command in (["ask", "health", "acme"], ["model", "evaluate"], ["snapshot"]):
        result = runner.invoke(app, command, env=env)
        assert result.exit_code == 1, (command, result.output)
        assert f"no database at {path}" in result.output
        assert "`closeloop migrate`" in result.output and "`closeloop seed`" in result.output
        assert "Traceback" not in result.output
        assert not path.exists()


def test_ask_on_a_database_without_data_says_how_to_load_it(runner: CliRunner) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["ask", "health", "acme"])
    assert result.exit_code == 1
    assert "has no accounts yet" in result.output
    assert "`closeloop seed`" in result.output and "`closeloop import KIND FILE`" in result.output


def test_ask_on_an_empty_database_file_says_how_to_create_the_schema(
    runner: CliRunner, sqlite_url: str
) -> None:
    Path(sqlite_url.removeprefix("sqlite:///")).touch()  # e.g. left by an older version
    result = runner.invoke(app, ["ask", "help"])
    assert result.exit_code == 1
    assert "has no Closeloop schema" in result.output
    assert "`closeloop migrate`" in result.output


def test_a_failing_command_answers_with_an_incident_and_no_traceback(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A real process: what the person at the terminal sees, stdout and stderr."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    _one_account(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.begin() as connection:  # a damaged database: the health inputs are gone
        connection.execute(text("DROP TABLE usage_daily"))
    engine.dispose()
    result = subprocess.run(
        [sys.executable, "-m", "adapters.entrypoints.cli", "ask", "health", "acme"],
        env={**os.environ, "DATABASE_URL": sqlite_url, "CLOSELOOP_LOG_LEVEL": "INFO"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Something went wrong" in result.stdout and "incident id" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    incident = result.stdout.split("`")[-2]
    (logged,) = [line for line in result.stderr.splitlines() if incident in line]
    assert "OperationalError" in logged and "usage_daily" in logged  # the cause, on one line


def test_an_unexpected_error_is_one_line_and_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    unreachable = f"sqlite:///{tmp_path / 'no' / 'such' / 'directory' / 'closeloop.db'}"
    result = runner.invoke(app, ["migrate"], env={"DATABASE_URL": unreachable})
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # handled, not a crash
    assert "error: OperationalError" in result.output
    assert "unable to open database file" in result.output


def test_a_bad_setting_is_named_without_its_value(runner: CliRunner) -> None:
    result = runner.invoke(app, ["serve"], env={"CLOSELOOP_PORT": "s3cret-port"})
    assert result.exit_code == 1
    assert "CLOSELOOP_PORT" in result.output
    assert "s3cret-port" not in result.output


def test_snapshot_backfills_only_missing_days(runner: CliRunner, sqlite_url: str) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    db = Database(make_engine(sqlite_url))
    with db.writing() as session:
        f.account(session)
    first = runner.invoke(app, ["snapshot", "--as-of", "2026-11-20", "--backfill", "3"])
    assert first.exit_code == 0, first.output
    assert "for 4 day(s), up to 2026-11-20" in first.output
    again = runner.invoke(app, ["snapshot", "--as-of", "2026-11-20", "--backfill", "3"])
    assert "for 1 day(s)" in again.output  # only the as-of day is scored again
    with db.reading() as session:
        assert session.query(HealthSnapshot).count() == 4
    db.close()


def test_a_bad_config_file_stops_with_its_name(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "closeloop.toml"
    config.write_text("[health.weights]\nusage = 'lots'\n", encoding="utf-8")
    monkeypatch.setenv("CLOSELOOP_CONFIG", str(config))
    result = runner.invoke(app, ["ask", "help"])
    assert result.exit_code == 1
    assert f"{config}: health.weights.usage" in result.output


def test_seed_refuses_data_unless_told_then_answers_about_acme(runner: CliRunner) -> None:
    args = ["seed", "--accounts", "30", "--days", "40", "--as-of", "2026-11-20"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Seeded 30 accounts" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "already has 30 accounts" in again.output
    assert "--replace" in again.output
    skipped = runner.invoke(app, [*args, "--if-empty"])
    assert skipped.exit_code == 0
    assert "Nothing loaded: the database already has 30 accounts." in skipped.output
    replaced = runner.invoke(app, [*args, "--replace", "--seed", "8"])
    assert replaced.exit_code == 0, replaced.output
    assert "Seeded 30 accounts" in replaced.output
    answer = runner.invoke(app, ["ask", "health", "acme"])
    assert "Acme Corp — health" in answer.output


def test_import_reports_every_problem_and_writes_nothing(
    runner: CliRunner, sqlite_url: str, tmp_path: Path
) -> None:
    good = tmp_path / "accounts.csv"
    good.write_text(
        "external_id,name,segment,created_on\nACME,Acme Corp,Enterprise,2024-01-01\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", "accounts", str(good)])
    assert result.exit_code == 0, result.output
    assert "Imported 1 accounts rows" in result.output
    bad = tmp_path / "tickets.csv"
    bad.write_text(
        "external_id,account_external_id,priority,status,opened_at\n"
        "T1,ACME,high,open,2026-11-01T10:00:00Z\n"
        "T2,NOPE,high,open,2026-11-01T10:00:00Z\n"
        "T3,ACME,sky-high,open,2026-11-01T10:00:00Z\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", "tickets", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: nothing was imported." in result.output
    assert "tickets.csv:3: column 'account_external_id': account 'NOPE'" in result.output
    assert "tickets.csv:4: column 'priority'" in result.output
    db = Database(make_engine(sqlite_url))
    with db.reading() as session:
        assert session.query(Ticket).count() == 0
    db.close()
    unknown = runner.invoke(app, ["import", "invoices", str(good)])
    assert unknown.exit_code == 2
    assert "choose one of: team, accounts" in unknown.output

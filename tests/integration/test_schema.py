"""The migration builds exactly the models' schema, and SQLite behaves like a server database."""

from __future__ import annotations

import asyncio
import datetime as dt
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import (
    Account,
    Base,
    Contact,
    Segment,
    SurveyKind,
    SurveyResponse,
    TeamMember,
)


def test_migration_builds_exactly_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection, warnings.catch_warnings():
            # SQLite's reflection cannot read an index on an expression (lower(email)); the
            # test below reads those from the database itself.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        assert migrate.current_revision(engine) == migrate.head_revision()
        migrate.upgrade(engine)  # a second run is harmless
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def _account(external_id: str = "ACME") -> Account:
    return Account(
        external_id=external_id,
        name="Acme Corp",
        domain="acme.example",
        segment=Segment.ENTERPRISE,
        seats=500,
        created_on=dt.date(2024, 1, 1),
    )


def test_round_trip_keeps_types_and_utc(db: Database) -> None:
    submitted = dt.datetime(2026, 11, 20, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with db.writing() as session:
        account = _account()
        session.add(account)
        session.flush()
        session.add(
            SurveyResponse(
                provider="generic",
                provider_response_id="r-1",
                kind=SurveyKind.NPS,
                score=3,
                comment="Too slow",
                account_id=account.id,
                submitted_at=submitted,
                received_at=submitted,
                updated_at=submitted,
            )
        )
    with db.reading() as session:
        response = session.scalars(select(SurveyResponse)).one()
        assert response.submitted_at == submitted
        assert response.submitted_at.tzinfo == dt.UTC
        assert response.kind is SurveyKind.NPS
        assert session.scalars(select(Account)).one().segment is Segment.ENTERPRISE


def test_naive_timestamps_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.writing() as session:
        session.add(
            SurveyResponse(
                provider="generic",
                provider_response_id="r-1",
                kind=SurveyKind.NPS,
                score=3,
                submitted_at=dt.datetime(2026, 1, 1),
                received_at=dt.datetime(2026, 1, 1),
                updated_at=dt.datetime(2026, 1, 1),
            )
        )
        session.flush()


def test_constraints_hold(db: Database) -> None:
    with pytest.raises(IntegrityError), db.writing() as session:
        session.add_all([_account("A"), _account("A")])
        session.flush()
    with pytest.raises(IntegrityError), db.writing() as session:
        session.execute(
            text(
                "INSERT INTO accounts (external_id, name, segment, seats, lifecycle_stage,"
                " created_on) VALUES ('B', 'B', 'Galactic', 1, 'mature', '2024-01-01')"
            )
        )
    with pytest.raises(IntegrityError), db.writing() as session:
        account = _account("C")
        account.owner_id = 999  # no such team member: foreign keys are enforced
        session.add(account)
        session.flush()
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 0


def test_failed_write_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.writing() as session:
        session.add(_account())
        session.flush()
        raise RuntimeError("boom")
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 0


async def test_concurrent_async_writers_never_see_database_locked(db: Database) -> None:
    """Fifty read-modify-write transactions race on one row: all commit, none is lost.

    On SQLite this holds because writers take the lock up front (BEGIN IMMEDIATE); a
    deferred transaction would fail with "database is locked". On PostgreSQL the row
    lock of SELECT … FOR UPDATE does it (SQLite ignores that clause).
    """
    with db.writing() as session:
        session.add(TeamMember(email="csm@closeloop.example", name="CSM"))

    def bump(session: Session) -> None:
        member = session.scalars(select(TeamMember).with_for_update()).one()
        member.name = f"{member.name}+"

    await asyncio.gather(*(db.write(bump) for _ in range(50)))
    with db.reading() as session:
        assert session.scalars(select(TeamMember)).one().name == "CSM" + "+" * 50


def test_sqlite_connections_are_configured(sqlite_url: str) -> None:
    database = Database(make_engine(sqlite_url))
    try:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        database.close()


def test_respondents_are_found_through_case_blind_indexes(database_url: str) -> None:
    """A survey answer's address and domain are matched by lower(…): indexes on exactly
    those expressions keep that a seek at 100,000 accounts, on both databases."""
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        email = select(func.lower(Contact.email)).where(
            func.lower(Contact.email).in_(["jane@acme.example"])
        )
        domain = select(Account.id).where(func.lower(Account.domain).in_(["acme.example"]))
        with engine.connect() as connection:
            for query, index in (
                (email, "ix_contacts_email_lower"),
                (domain, "ix_accounts_domain_lower"),
            ):
                compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
                if engine.dialect.name == "sqlite":
                    plan = " ".join(
                        str(row[-1])
                        for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
                    )
                else:
                    connection.exec_driver_sql("SET enable_seqscan = off")
                    plan = " ".join(
                        str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {compiled}")
                    )
                assert index in plan, plan
    finally:
        engine.dispose()

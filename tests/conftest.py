"""Shared fixtures: a migrated database on SQLite and, where the test asks, PostgreSQL.

PostgreSQL tests get a schema of their own (dropped afterwards), so tests never see each
other's rows. Without a reachable server they skip locally; with `CI` set they fail,
because CI must prove both databases.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from metrics_core import migrate
from metrics_core.db import Database, make_engine

POSTGRES_URL = os.environ.get(
    "CLOSELOOP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as error:
        return str(error).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    problem = _postgres_available()
    if problem is not None:
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def postgres_schema_url(postgres_server: str) -> Iterator[str]:
    """A URL whose connections live in a fresh, empty schema."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres_server}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'closeloop.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty database, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database (SQLite, then PostgreSQL)."""
    database = Database(make_engine(database_url))
    migrate.upgrade(database.engine)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    """A migrated SQLite database, for tests whose subject is not storage."""
    database = Database(make_engine(sqlite_url))
    migrate.upgrade(database.engine)
    try:
        yield database
    finally:
        database.close()

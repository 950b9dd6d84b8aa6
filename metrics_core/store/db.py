"""Engines and transactions for SQLite and PostgreSQL.

The service is async, the metrics are pandas and SQL: one synchronous SQLAlchemy engine
serves both, and the async side runs each unit of work on a bounded thread pool
(`Database.read` / `Database.write`), so neither the event loop nor the numbers wait on
each other and the same code runs under the CLI, the tests and the service.

SQLite gets what a concurrent service needs from it on every connection: WAL (readers
never block the writer), a busy timeout, foreign keys, and `BEGIN IMMEDIATE` for write
transactions. The last one matters most: a deferred transaction that reads and then
writes must upgrade its lock, and two of them deadlock, which SQLite reports at once as
"database is locked" whatever the busy timeout. Taking the write lock up front makes
writers queue on the busy timeout instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from metrics_core.store.changes import Changes, PostgresChanges, SqliteChanges, Unwatched

T = TypeVar("T")

Query: TypeAlias = Callable[[Session], T]
"""A query or command of the metrics: work done in one transaction on a session."""

_BEGIN_OPTION = "closeloop_sqlite_begin"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str | URL) -> URL:
    """Accept the spellings operators use and pick the driver we ship (psycopg 3)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _install_sqlite_behaviour(engine: Engine, *, file_backed: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN, instead of pysqlite guessing.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if file_backed:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _in_memory(url: URL) -> bool:
    """Whether a SQLite URL names a database in memory rather than a file."""
    database = url.database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:")


def make_engine(url: str | URL, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """An engine configured for this service; the only place engines are created."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_memory = _in_memory(parsed)
        if in_memory:
            # One shared connection, or each thread would see its own empty database.
            engine = create_engine(
                parsed,
                echo=echo,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
            )
        else:
            engine = create_engine(
                parsed,
                echo=echo,
                pool_size=pool_size,
                max_overflow=pool_size,
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            )
        _install_sqlite_behaviour(engine, file_backed=not in_memory)
        return engine
    return create_engine(
        parsed, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def writer(engine: Engine) -> Engine:
    """The same engine, beginning its transactions ready to write (`BEGIN IMMEDIATE` on SQLite).

    Batch code that reads before it writes (seeding, snapshots) must use this, or two
    such transactions can deadlock on the lock upgrade.
    """
    return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}) if is_sqlite(engine) else engine


def reader(engine: Engine) -> Engine:
    """The same engine, beginning plain read transactions even if `engine` is a `writer`."""
    return engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"}) if is_sqlite(engine) else engine


class Database:
    """Sessions for reads and writes, sync for batch code and async for the service."""

    def __init__(self, engine: Engine, *, workers: int = 8) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        writer = (
            engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            if is_sqlite(engine)
            else engine
        )
        self._write = sessionmaker(writer, expire_on_commit=False)
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._changes: Changes | None = None

    @property
    def changes(self) -> Changes:
        """What tells, without a query, whether the database may have changed (made on
        first use: a command-line run that never asks starts no listener)."""
        if self._changes is None:
            self._changes = _watch(self.engine.url)
        return self._changes

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only unit of work; rolled back at the end so it can never write by accident."""
        with self._read() as session, session.begin():
            yield session
            session.rollback()

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._write() as session, session.begin():
            yield session

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="closeloop-db")
        return self._executor

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in a read transaction without blocking the event loop."""
        return await self._run(self.reading, work)

    async def write(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in a write transaction; the await returns after the commit."""
        return await self._run(self.writing, work)

    async def _run(
        self,
        unit: Callable[[], contextlib.AbstractContextManager[Session]],
        work: Callable[[Session], T],
    ) -> T:
        def run() -> T:
            with unit() as session:
                return work(session)

        loop = asyncio.get_running_loop()
        # The caller's context (which request this work is for) goes with it to the thread.
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._pool(), context.run, run)

    def close(self) -> None:
        if self._changes is not None:
            self._changes.close()
            self._changes = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.engine.dispose()


def other_connections(session: Session) -> Engine | None:
    """The engine to open connections on beside `session`'s own, for reads that run at the
    same time; None for a SQLite in memory, whose one shared connection is the session's."""
    engine = session.get_bind()
    if not isinstance(engine, Engine) or isinstance(engine.pool, StaticPool):
        return None
    return engine


_BESIDE = ThreadPoolExecutor(4, thread_name_prefix="closeloop-beside")
"""The threads `beside` runs its work on, shared by every caller; started on first use."""


def beside(session: Session, work: Callable[[Session], T]) -> Future[T]:
    """Start `work` in a read session of its own on another thread; the caller goes on.

    For a whole-book read with parts that do not depend on each other (a digest's ARR
    beside its snapshots): the database works on both at once, and Python waits on
    neither, so both cores are used. The other session may see commits that landed after
    the caller's transaction began, which such a read tolerates. A database in memory has
    one connection: there the work runs at once, in `session`.
    """
    engine = other_connections(session)
    if engine is None:
        done: Future[T] = Future()
        try:
            done.set_result(work(session))
        except Exception as error:  # delivered by `result()`, as from a thread
            done.set_exception(error)
        return done

    def run() -> T:
        with Session(reader(engine)) as own, own.begin():
            try:
                return work(own)
            finally:
                own.rollback()

    return _BESIDE.submit(contextvars.copy_context().run, run)


def _watch(url: URL) -> Changes:
    """The right watcher for the database: SQLite's commit counter for a file, PostgreSQL's
    notifications, and none for a SQLite in memory, whose one shared connection never sees
    "another" commit."""
    if url.get_backend_name() == "sqlite":
        return Unwatched() if _in_memory(url) else SqliteChanges(url.database or "")
    if url.get_backend_name() == "postgresql":
        plain = url.set(drivername="postgresql")
        return PostgresChanges(plain.render_as_string(hide_password=False))
    return Unwatched()


def insert_or_ignore(
    session: Session, table: Any, values: dict[str, Any], *, unique: tuple[str, ...]
) -> int | None:
    """Insert one row unless one with the same `unique` columns exists; the new id or None.

    This is how concurrent duplicates (a webhook delivered twice at once) are decided: by
    the database's unique index, never by a read-then-write that two transactions can both
    pass. On PostgreSQL the second insert waits for the first to commit, then yields.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.id)
    )
    return session.execute(statement).scalar_one_or_none()

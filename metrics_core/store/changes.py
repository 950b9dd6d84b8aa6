"""Whether the database has changed since an answer was computed, known without a query.

An answer kept in memory stays right until a write it was computed from commits. Asking
the database "has anything changed?" before every reuse costs a thread hop and a round
trip, which is most of what answering from memory saves. So each database says so itself:

- SQLite counts commits for us: `PRAGMA data_version` on a connection of its own changes
  whenever any other connection (this process's pool, `closeloop import`, a migration)
  commits. Reading it costs a couple of microseconds and reads no table, so it is read at
  every reuse and an answer is never one write behind.
- PostgreSQL has no such counter. Every write of health inputs already bumps
  `accounts.inputs_version` (`metrics_core.store.input_versions`), and that bump also
  sends a notification on `CHANNEL`, which PostgreSQL delivers when, and only if, the
  transaction commits, to every replica. A thread of each process listens; the count of
  notifications is the generation. The notification names the schema written to, so
  deployments that share a database in schemas of their own do not disturb each other.
  A replica learns of a commit within the time a notification takes (milliseconds on one
  network); while the listening connection is down, nothing is reused.

`generation()` returning None means "cannot tell": the caller must not reuse anything.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
from typing import Any, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "closeloop_inputs"
"""The PostgreSQL notification channel a commit of new health inputs is announced on."""

NOTIFY_SQL = f"SELECT pg_notify('{CHANNEL}', current_schema())"
"""The announcement, as SQL for writers that bypass the SQL toolkit (the usage ingester)."""

RECONNECT_SECONDS = 1.0
"""How long the PostgreSQL listener waits before reconnecting after losing its connection."""


PROBE_SECONDS = 2.0
"""How long the listener waits for its own first notification before it trusts none."""

PROBE_AGAIN_SECONDS = 60.0
"""How long it waits before trying again when its own notification did not come back."""


class Changes(Protocol):
    """A number that moves whenever the database may have changed; None if unknown."""

    def generation(self) -> int | None: ...

    def close(self) -> None: ...


class Unwatched:
    """For a database nobody else can write to unseen, or that cannot be watched (an
    in-memory SQLite shares one connection, so it never sees "another" commit): nothing
    is ever reused."""

    def generation(self) -> int | None:
        return None

    def close(self) -> None:
        return None


class SqliteChanges:
    """`PRAGMA data_version` of a connection that only ever reads that pragma."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def generation(self) -> int | None:
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = sqlite3.connect(
                        self._path, isolation_level=None, check_same_thread=False
                    )
                row = self._connection.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error as error:
                log.warning("cannot tell whether the database changed: %s", error)
                return None
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class PostgresChanges:
    """Counts notifications on `CHANNEL`, listened for by a thread started on first use."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._lock = threading.Lock()
        self._generation = 0
        self._listening = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def generation(self) -> int | None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._listen, name="closeloop-changes", daemon=True
                )
                self._thread.start()
            return self._generation if self._listening else None

    def _moved(self, listening: bool) -> None:
        with self._lock:
            self._generation += 1
            self._listening = listening

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    row = connection.execute("SELECT current_schema()").fetchone()
                    schema = str(row[0]) if row else ""
                    connection.execute(f"LISTEN {CHANNEL}")
                    if not _hears_itself(connection):
                        log.warning(
                            "change notifications do not arrive (a pool in transaction mode?):"
                            " every answer is computed afresh"
                        )
                        self._stop.wait(PROBE_AGAIN_SECONDS)
                        continue
                    # Anything may have committed while nobody listened: a new generation.
                    self._moved(listening=True)
                    while not self._stop.is_set():
                        for notice in connection.notifies(timeout=RECONNECT_SECONDS):
                            if notice.payload == schema:
                                self._moved(listening=True)
            except psycopg.Error as error:
                log.warning("lost the database's change notifications: %s", type(error).__name__)
            self._moved(listening=False)
            self._stop.wait(RECONNECT_SECONDS)

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=2 * RECONNECT_SECONDS + 1)


def _hears_itself(connection: Any) -> bool:
    """Whether a notification sent on `CHANNEL` comes back to this connection: not through
    a pool that hands each statement to another server connection, where a LISTEN is
    accepted and then hears nothing."""
    probe = f"probe-{secrets.token_hex(8)}"
    connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, probe))
    return any(n.payload == probe for n in connection.notifies(timeout=PROBE_SECONDS))


def announce(connection: Connection | Session) -> None:
    """Tell other processes, at commit, that health inputs changed (PostgreSQL only;
    SQLite's own commit counter needs no telling). Part of the caller's transaction: a
    rollback sends nothing."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    if bind.dialect.name == "postgresql":
        connection.execute(text(NOTIFY_SQL))

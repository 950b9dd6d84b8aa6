"""Which replica runs the scheduler: one leader at a time, and another when it dies.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own.
The lock lives exactly as long as that connection: a replica that crashes or loses the
database loses the lock with it, and the next replica that asks gets it. On SQLite
there is one process by design (one writer), so it always leads.

Leadership only saves work: the digest claim (`digest_runs`) is what guarantees a digest
is sent once, even if two replicas briefly both believe they lead.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Protocol

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

# A fixed 32-bit key for this lock (advisory lock keys are application-chosen integers).
SCHEDULER_LOCK = zlib.crc32(b"closeloop:scheduler")


class Leadership(Protocol):
    async def acquire(self) -> bool:
        """Become the leader if nobody is; True if this process leads now."""

    async def still_leading(self) -> bool:
        """Whether the leadership held is still valid (the lock's connection is alive)."""

    async def release(self) -> None: ...


class SoleLeader:
    """One process, one scheduler: SQLite, or a deployment that knows it has one replica."""

    async def acquire(self) -> bool:
        return True

    async def still_leading(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class PostgresLeader:
    """Leadership as a PostgreSQL advisory lock held on a dedicated connection."""

    def __init__(self, engine: Engine, key: int = SCHEDULER_LOCK) -> None:
        self._engine = engine
        self._key = key
        self._connection: Connection | None = None

    def _try(self) -> bool:
        if self._connection is None:
            self._connection = self._engine.connect()
        got = bool(
            self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            ).scalar_one()
        )
        self._connection.commit()  # end the implicit transaction; the session lock stays
        if not got:
            self._close()
        return got

    def _alive(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except Exception:
            log.warning("lost the scheduler lock's database connection")
            self._close()
            return False
        return True

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # already broken: closing it is all we wanted
                log.debug("closing a broken connection failed", exc_info=True)
            self._connection = None

    def _unlock(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
                self._connection.commit()
            finally:
                self._close()

    async def acquire(self) -> bool:
        return await asyncio.to_thread(self._try)

    async def still_leading(self) -> bool:
        return await asyncio.to_thread(self._alive)

    async def release(self) -> None:
        await asyncio.to_thread(self._unlock)


def leadership_for(engine: Engine) -> Leadership:
    return PostgresLeader(engine) if engine.dialect.name == "postgresql" else SoleLeader()

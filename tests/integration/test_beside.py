"""Work started beside a read runs in a session of its own, on its own connection."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.store.db import Database, beside, make_engine
from metrics_core.store.models import Account, Base
from tests import factories as f


def _names(session: Session) -> tuple[list[str], int, str]:
    names = list(session.scalars(select(Account.name).order_by(Account.name)))
    return (
        names,
        id(session.connection().connection.dbapi_connection),
        threading.current_thread().name,
    )


def test_work_beside_a_read_sees_the_data_on_another_connection(db: Database) -> None:
    with db.writing() as session:
        f.account(session, "A", "Acme", domain=None)
        f.account(session, "B", "Beta", domain=None)
    with db.reading() as session:
        mine = _names(session)  # the session holds its connection from here to the end
        theirs = beside(session, _names).result(timeout=30)
    assert theirs[0] == mine[0] == ["Acme", "Beta"]
    assert theirs[1] != mine[1]  # a connection of its own, while this one is held
    assert theirs[2] != mine[2]  # on a thread of its own


def test_a_failure_beside_is_raised_where_the_result_is_asked_for(db: Database) -> None:
    def fails(session: Session) -> None:
        raise LookupError("nothing there")

    with db.reading() as session:
        started = beside(session, fails)
        with pytest.raises(LookupError, match="nothing there"):
            started.result(timeout=30)


def test_a_database_in_memory_runs_the_work_at_once_in_the_same_session() -> None:
    database = Database(make_engine("sqlite://"))
    try:
        Base.metadata.create_all(database.engine)
        with database.reading() as session:
            started = beside(session, _names)
            assert started.done()
            assert started.result()[1:] == _names(session)[1:]
    finally:
        database.close()

"""Retention has one definition with two forms: over a frame of movements, and summed in
the database. On a seeded book they must give the same result, to the cent and count."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from metrics_core.revenue.rates import (
    arr_by_account,
    retention,
    retention_and_arr_in_db,
)
from metrics_core.store.db import Database
from metrics_core.store.frames import movements
from metrics_core.store.models import Account, Segment
from metrics_core.synthetic import seed_database

AS_OF = dt.date(2026, 11, 20)
PERIODS = [
    (AS_OF - dt.timedelta(days=365), AS_OF + dt.timedelta(days=1)),
    (dt.date(2025, 1, 1), dt.date(2025, 4, 1)),
    (dt.date(2019, 1, 1), dt.date(2030, 1, 1)),  # before the first movement to after the last
]


@pytest.fixture
def seeded(db: Database) -> Database:
    seed_database(db.engine, accounts=120, days=60, seed=5, as_of=AS_OF)
    return db


@pytest.mark.parametrize(("start", "end"), PERIODS)
@pytest.mark.parametrize("segment", [None, *(s.value for s in Segment)])
def test_the_database_and_the_frame_agree(
    seeded: Database, start: dt.date, end: dt.date, segment: str | None
) -> None:
    with seeded.reading() as session:
        moves = movements(session)
        in_db, arr = retention_and_arr_in_db(session, start, end, segment)
    period_moves = moves[moves["effective_on"] < end]
    assert in_db == retention(period_moves, start, end, segment)
    assert in_db.accounts > 0 or start.year == 2019
    of_segment = period_moves if segment is None else moves[moves["segment"] == segment]
    expected_arr = arr_by_account(of_segment[of_segment["effective_on"] < end], end)
    assert arr.to_dict() == expected_arr.to_dict()


def test_one_owners_book(seeded: Database) -> None:
    start, end = PERIODS[0]
    with seeded.reading() as session:
        owner = session.scalar(select(Account.owner_id).where(Account.owner_id.is_not(None)))
        ids = list(session.scalars(select(Account.id).where(Account.owner_id == owner)))
        in_db, arr = retention_and_arr_in_db(
            session, start, end, accounts=Account.owner_id == owner
        )
        moves = movements(session, ids)
    assert in_db == retention(moves, start, end)
    assert arr.to_dict() == arr_by_account(moves, end).to_dict()


def test_an_empty_book_has_no_ratios(db: Database) -> None:
    with db.reading() as session:
        result, _ = retention_and_arr_in_db(session, *PERIODS[0])
    assert (result.accounts, result.nrr, result.grr, result.new_arr) == (0, None, None, 0.0)


def test_an_empty_period_is_refused(db: Database) -> None:
    with db.reading() as session, pytest.raises(ValueError, match="empty period"):
        retention_and_arr_in_db(session, AS_OF, AS_OF)

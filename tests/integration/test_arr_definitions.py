"""ARR has one definition with two forms (pandas and SQL); they must agree to the cent."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from metrics_core.revenue.rates import arr_by_account, arr_sql
from metrics_core.store.db import Database
from metrics_core.store.frames import movements
from metrics_core.synthetic import seed_database

AS_OF = dt.date(2026, 11, 20)


@pytest.mark.parametrize("day", [dt.date(2024, 1, 1), dt.date(2026, 1, 1), AS_OF])
def test_sql_and_pandas_arr_agree_on_a_seeded_book(db: Database, day: dt.date) -> None:
    seed_database(db.engine, accounts=80, days=60, seed=3, as_of=AS_OF)
    with db.reading() as session:
        expected = arr_by_account(movements(session), day)
        rows = session.execute(select(arr_sql(day).subquery())).all()
    actual = {account_id: float(arr) for account_id, arr, _ in rows}
    assert len(expected) > 0
    assert actual == pytest.approx(expected.to_dict(), abs=0.005)

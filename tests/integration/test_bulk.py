"""Bulk writes land the same values the ORM would, and upserts update in place."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select

from metrics_core.store.bulk import write_frame
from metrics_core.store.db import Database
from metrics_core.store.models import Activity, ActivityKind, UsageDaily
from tests import factories as f


def test_typed_values_round_trip_and_upsert(db: Database) -> None:
    with db.writing() as session:
        acme = f.account(session).id
    frame = pd.DataFrame(
        {
            "account_id": [acme, acme],
            "day": [dt.date(2026, 11, 1), dt.date(2026, 11, 2)],
            "active_users": [10, 12],
            "sessions": [20, 24],
            "events": [200, 240],
            "feature_counts": [{"reports": 3}, {}],
        }
    )
    with db.engine.begin() as connection:
        assert write_frame(connection, UsageDaily.__table__, frame) == 2  # type: ignore[arg-type]
    changed = frame.iloc[[1]].assign(active_users=[99], feature_counts=[{"api": 1}])
    with db.engine.begin() as connection:
        write_frame(connection, UsageDaily.__table__, changed, conflict=["account_id", "day"])  # type: ignore[arg-type]
    with db.reading() as session:
        rows = session.scalars(select(UsageDaily).order_by(UsageDaily.day)).all()
        assert [(r.day, r.active_users, r.feature_counts) for r in rows] == [
            (dt.date(2026, 11, 1), 10, {"reports": 3}),
            (dt.date(2026, 11, 2), 99, {"api": 1}),
        ]


def test_timestamps_enums_and_nulls(db: Database) -> None:
    with db.writing() as session:
        acme = f.account(session).id
    when = pd.Timestamp("2026-11-20T09:30:00+01:00")
    frame = pd.DataFrame(
        {
            "external_id": ["A1", "A2"],
            "account_id": [acme, acme],
            "kind": [ActivityKind.QBR, ActivityKind.CALL],
            "occurred_at": [when, when],
            "note": ["Quarterly review", None],
        }
    )
    with db.engine.begin() as connection:
        write_frame(connection, Activity.__table__, frame)  # type: ignore[arg-type]
    with db.reading() as session:
        rows = session.scalars(select(Activity).order_by(Activity.external_id)).all()
        assert rows[0].occurred_at == dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)
        assert rows[0].kind is ActivityKind.QBR
        assert rows[1].note is None
        assert rows[1].team_member_id is None

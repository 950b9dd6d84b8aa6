"""A whole portfolio's digest reads its snapshot days and trend in one pass; a narrower scope
asks for each alone. Both must find the same days and the same numbers."""

from __future__ import annotations

import datetime as dt

from metrics_core.config import Config, Digests
from metrics_core.digests.facts import DigestFacts, digest_facts
from metrics_core.digests.subscriptions import Scope
from metrics_core.store.db import Database
from metrics_core.store.models import DigestCadence, DigestScope, HealthSnapshot, Segment
from tests import factories

CONFIG = Config(digests=Digests(snapshot_at="off"))
AS_OF = dt.date(2026, 11, 23)


def _account(db: Database, name: str, scores: dict[int, float]) -> None:
    """An SMB account with a snapshot `n` days before AS_OF for each `n` in `scores`."""
    with db.writing() as session:
        account = factories.account(session, name, f"{name.title()} Inc", segment=Segment.SMB)
        for days_before, score in scores.items():
            session.add(
                HealthSnapshot(
                    account_id=account.id,
                    day=AS_OF - dt.timedelta(days=days_before),
                    score=score,
                    band="red" if score < 40 else "yellow" if score < 70 else "green",
                    components={"usage": score},
                    churn_probability=None,
                )
            )


def _facts(db: Database, scope: Scope, cadence: DigestCadence) -> DigestFacts:
    now = dt.datetime.combine(AS_OF, dt.time(9), dt.UTC)
    with db.reading() as session:
        return digest_facts(
            session,
            cadence=cadence,
            scope=scope,
            as_of=AS_OF,
            window_end=now,
            config=CONFIG,
            now=now,
            previous=None,
        )


def _same_story(db: Database, cadence: DigestCadence) -> DigestFacts:
    """The portfolio's facts, checked against those of the one segment every account is in."""
    portfolio = _facts(db, Scope(DigestScope.PORTFOLIO), cadence)
    segment = _facts(db, Scope(DigestScope.SEGMENT, segment=Segment.SMB), cadence)
    for field in ("snapshot_day", "compared", "trend", "health", "movers", "risks"):
        assert getattr(portfolio, field) == getattr(segment, field), field
    return portfolio


async def test_a_portfolio_finds_the_days_a_segment_finds(db: Database) -> None:
    _account(db, "sliding", {9: 80.0, 7: 76.0, 3: 70.0, 1: 64.0, 0: 58.0})
    _account(db, "steady", {9: 60.0, 7: 60.0, 3: 61.0, 1: 60.0, 0: 60.0})
    daily = _same_story(db, DigestCadence.DAILY)
    assert daily.snapshot_day == AS_OF
    assert [c.day for c in daily.compared] == [AS_OF - dt.timedelta(days=1), daily.compared[1].day]
    assert [d for d, _ in daily.trend] == [AS_OF - dt.timedelta(days=n) for n in (9, 7, 3, 1, 0)]
    assert daily.movers.drops[0].account == "Sliding Inc"
    weekly = _same_story(db, DigestCadence.WEEKLY)
    assert [c.day for c in weekly.compared] == [AS_OF - dt.timedelta(days=7)]


async def test_a_missed_day_compares_with_the_last_snapshot_within_the_week(
    db: Database,
) -> None:
    _account(db, "gappy", {7: 70.0, 4: 66.0, 0: 50.0})
    daily = _same_story(db, DigestCadence.DAILY)
    assert [(c.day, c.available) for c in daily.compared] == [
        (AS_OF - dt.timedelta(days=4), True),
        (AS_OF - dt.timedelta(days=7), True),
    ]


async def test_a_latest_snapshot_older_than_the_trend_is_still_the_one_reported(
    db: Database,
) -> None:
    """Only snapshots from 33 and 40 days ago: no trend, but the day and its comparison."""
    _account(db, "quiet", {40: 70.0, 33: 50.0})
    daily = _same_story(db, DigestCadence.DAILY)
    assert daily.snapshot_day == AS_OF - dt.timedelta(days=33)
    assert daily.trend == ()
    assert [(c.day, c.available) for c in daily.compared] == [
        (AS_OF - dt.timedelta(days=34), False),
        (AS_OF - dt.timedelta(days=40), True),
    ]
    assert daily.movers.drops[0].move == -20.0

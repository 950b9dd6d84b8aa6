"""Digests on SQLite and PostgreSQL: subscriptions, the once-per-period claim, the
scheduler with a controllable clock (due, catch-up, unsubscribe, two schedulers, leader
failover) and what a digest says for empty and full portfolios."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, text

from adapters.leader import PostgresLeader, SoleLeader
from adapters.scheduler import DigestScheduler
from bot.catalog import build_registry
from bot.context import BotContext
from bot.digest import build_digest
from bot.digest_runs import Outcome
from bot.reply_codec import decode
from metrics_core.config import Config, Digests
from metrics_core.db import Database, make_engine
from metrics_core.digest_data import gather
from metrics_core.digests import DIGEST, Schedule, Scope, subscribe, unsubscribe
from metrics_core.health_cache import HealthCache
from metrics_core.models import (
    Delivery,
    DigestCadence,
    DigestRun,
    DigestScope,
    HealthSnapshot,
    Segment,
)
from metrics_core.outbox import Target
from metrics_core.risk import RiskModels
from tests import factories

CONFIG = Config(digests=Digests(snapshot_at="off", catch_up_hours=6))
CHANNEL = Target("slack", "C0DIGEST")
# Monday 23 November 2026; 09:00 in Berlin is 08:00 UTC.
DUE = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
SUBSCRIBED = DUE - dt.timedelta(days=2)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _context(db: Database) -> BotContext:
    return BotContext(
        db=db,
        config=CONFIG,
        registry=build_registry(),
        risk=RiskModels(CONFIG),
        health=HealthCache(CONFIG),
    )


def _scheduler(db: Database, clock: Clock, leadership: Any = None) -> DigestScheduler:
    return DigestScheduler(
        _context(db),
        leadership or SoleLeader(),
        RiskModels(CONFIG),
        clock=clock,
        identity=f"test-{id(clock)}",
    )


def _subscribe(db: Database, hhmm: str = "09:00", when: dt.datetime = SUBSCRIBED) -> int:
    hour, minute = map(int, hhmm.split(":"))
    with db.writing() as session:
        subscription, _ = subscribe(
            session,
            target=CHANNEL,
            schedule=Schedule(DigestCadence.DAILY, dt.time(hour, minute), "Europe/Berlin"),
            scope=Scope(DigestScope.PORTFOLIO),
            created_by="U0CSM1",
            now=when,
        )
        return subscription.id


def _digests_owed(db: Database) -> list[tuple[str, dict[str, Any]]]:
    """(target, details) of each digest in the outbox."""
    with db.reading() as session:
        rows = session.execute(
            select(Delivery.target, Delivery.details).where(Delivery.kind == DIGEST)
        )
        return [(row[0], row[1]) for row in rows]


def _runs(db: Database) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(DigestRun)) or 0)


async def test_asking_twice_for_the_same_digest_gives_one_subscription(db: Database) -> None:
    first, second = _subscribe(db), _subscribe(db)
    assert first == second
    other = _subscribe(db, "10:00")
    assert other != first


async def test_a_digest_is_not_due_before_its_time_and_due_once_after(db: Database) -> None:
    _subscribe(db)
    clock = Clock(DUE - dt.timedelta(minutes=1))
    scheduler = _scheduler(db, clock)
    await scheduler.tick()  # becomes leader, builds jobs, sweeps
    assert scheduler.scheduler.get_jobs() != []
    assert _digests_owed(db) == []
    clock.now = DUE + dt.timedelta(seconds=30)
    assert await scheduler.sweep() == [Outcome.SENT]
    assert await scheduler.sweep() == []  # claimed: nothing left to do
    ((target, details),) = _digests_owed(db)
    assert target == "C0DIGEST"
    assert details["period"] == "2026-11-23"
    reply = decode(details["reply"])
    assert reply.heading.startswith("Daily digest · whole portfolio")


async def test_a_subscription_made_after_todays_time_starts_tomorrow(db: Database) -> None:
    _subscribe(db, "09:00", when=DUE + dt.timedelta(hours=1))
    scheduler = _scheduler(db, Clock(DUE + dt.timedelta(hours=2)))
    await scheduler.tick()
    assert _digests_owed(db) == []


async def test_a_digest_missed_while_down_is_sent_once_on_start(db: Database) -> None:
    _subscribe(db)
    clock = Clock(DUE + dt.timedelta(hours=3))  # the service was down at 09:00
    await _scheduler(db, clock).tick()
    assert len(_digests_owed(db)) == 1
    await _scheduler(db, clock).tick()  # a restart: found claimed
    assert len(_digests_owed(db)) == 1


async def test_a_digest_older_than_the_catch_up_window_is_skipped(db: Database) -> None:
    _subscribe(db)
    await _scheduler(db, Clock(DUE + dt.timedelta(hours=7))).tick()  # window: 6 hours
    assert _digests_owed(db) == []


async def test_unsubscribing_mid_day_stops_the_digest(db: Database) -> None:
    subscription_id = _subscribe(db)
    clock = Clock(DUE - dt.timedelta(hours=2))
    scheduler = _scheduler(db, clock)
    await scheduler.tick()
    with db.writing() as session:
        elsewhere = Target("slack", "C0ELSE")  # only from the conversation it posts to
        assert unsubscribe(session, subscription_id, allowed=elsewhere, now=clock()) is None
        assert unsubscribe(session, subscription_id, allowed=CHANNEL, now=clock()) is not None
    clock.now = DUE + dt.timedelta(minutes=1)
    assert await scheduler.fire(subscription_id) is Outcome.GONE
    await scheduler.tick()
    assert scheduler.scheduler.get_job(f"digest:{subscription_id}") is None
    assert _digests_owed(db) == []


async def test_concurrent_fires_of_one_digest_send_it_once(db: Database) -> None:
    """What a second scheduler, a retry and a cron job racing a sweep all come down to."""
    subscription_id = _subscribe(db)
    clock = Clock(DUE + dt.timedelta(seconds=5))
    schedulers = [_scheduler(db, clock) for _ in range(4)]
    outcomes = await asyncio.gather(*(s.fire(subscription_id) for s in schedulers))
    assert sorted(outcomes) == sorted([Outcome.SENT, *[Outcome.TAKEN] * 3])
    assert len(_digests_owed(db)) == 1
    assert _runs(db) == 1


@pytest.mark.postgres
async def test_two_schedulers_on_one_postgres_database_one_leads_and_one_sends(
    postgres_schema_url: str,
) -> None:
    from metrics_core.migrate import upgrade

    engines = [make_engine(postgres_schema_url) for _ in range(2)]
    upgrade(engines[0])
    dbs = [Database(engine) for engine in engines]
    try:
        _subscribe(dbs[0])
        clock = Clock(DUE + dt.timedelta(minutes=1))
        leaders = [PostgresLeader(engine, key=424242) for engine in engines]
        first, second = (_scheduler(dbs[i], clock, leaders[i]) for i in range(2))
        await asyncio.gather(first.tick(), second.tick())
        assert [first.leading, second.leading].count(True) == 1
        assert len(_digests_owed(dbs[0])) == 1

        # Failover: the leader's database connection dies (a crashed replica).
        leader, follower = (first, second) if first.leading else (second, first)
        lead_lock = leaders[0] if leader is first else leaders[1]
        assert lead_lock._connection is not None
        pid = lead_lock._connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        lead_lock._connection.commit()
        with engines[0].connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await leader.tick()
        assert not leader.leading  # it noticed and stepped down
        assert leader.scheduler.get_jobs() == []
        clock.now = DUE + dt.timedelta(days=1, minutes=1)
        await follower.tick()
        assert follower.leading
        assert len(_digests_owed(dbs[0])) == 2  # the next day's, sent by the new leader
        await leader.tick()
        assert not leader.leading
        await follower.leadership.release()
    finally:
        for database in dbs:
            database.close()


def _account_with_history(
    db: Database,
    external_id: str,
    before: tuple[float, str, float | None],
    now: tuple[float, str, float | None],
) -> None:
    with db.writing() as session:
        account = factories.account(
            session, external_id, f"{external_id.title()} Inc", domain=None, segment=Segment.SMB
        )
        for day, (score, band, risk) in (
            (dt.date(2026, 11, 22), before),
            (dt.date(2026, 11, 23), now),
        ):
            session.add(
                HealthSnapshot(
                    account_id=account.id,
                    day=day,
                    score=score,
                    band=band,
                    components={"usage": score, "support": 80.0},
                    churn_probability=risk,
                    churn_driver="usage per seat" if risk else None,
                )
            )


def _digest(db: Database, previous: dict[str, Any] | None = None) -> Any:
    with db.reading() as session:
        facts = gather(
            session,
            Scope(DigestScope.PORTFOLIO),
            as_of=dt.date(2026, 11, 23),
            days=1,
            window=(DUE - dt.timedelta(days=1), DUE),
            config=CONFIG,
            now=DUE,
        )
    return build_digest(
        facts, title="Daily digest", days=1, config=CONFIG, now=DUE, previous=previous
    )


async def test_an_empty_portfolio_says_so_in_one_line(db: Database) -> None:
    digest = _digest(db)
    assert digest.reply.paragraphs == (
        "Nothing to report: no health snapshot yet (the service takes one each day).",
    )
    assert digest.reply.tables == ()
    assert digest.reply.metrics == ()


async def test_a_full_portfolio_shows_movers_new_risks_and_kpis(db: Database) -> None:
    _account_with_history(db, "falling", (72.0, "green", 0.2), (35.0, "red", 0.8))
    _account_with_history(db, "rising", (50.0, "yellow", 0.3), (65.0, "yellow", 0.1))
    _account_with_history(db, "steady", (90.0, "green", 0.05), (90.0, "green", 0.05))
    digest = _digest(db)
    reply = digest.reply
    metrics = {m.label: m for m in reply.metrics}
    assert metrics["Accounts"].value == "3"
    assert metrics["Average health"].value == "63/100"
    assert metrics["Average health"].delta == "-7.3"  # 70.7 → 63.3
    tables = {t.title: t for t in reply.tables}
    assert tables["Entered the red band (1)"].rows[0][0] == "Falling Inc"
    assert tables["Newly at high churn risk, ≥ 50% (1)"].rows[0][:2] == ("Falling Inc", "80 %")
    drops = tables["Biggest drops in health"].rows
    assert drops == (("Falling Inc", "35 red", "-37", "usage -37"),)
    assert tables["Biggest gains in health"].rows[0][0] == "Rising Inc"
    assert digest.details["red"] and digest.details["high_risk"]
    assert any("no follow-ups past SLA" in note for note in reply.notes)
    assert [c.title for c in reply.charts] == ["Average health, last 2 days"]
    labels = [a.label for a in reply.actions]
    assert labels == ["Renewals", "Churn risks", "Follow-ups", "KPIs"]

    # The next digest does not announce the same risks again.
    again = _digest(db, previous=digest.details)
    titles = [t.title or "" for t in again.reply.tables]
    assert not any(t.startswith(("Entered the red", "Newly at high")) for t in titles)

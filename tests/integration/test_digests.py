"""Digests on SQLite and PostgreSQL: subscriptions, the once-per-period claim, the
scheduler with a controllable clock (due, catch-up, unsubscribe, two schedulers, leader
failover) and what a digest says for empty and full portfolios."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, text

from adapters.workers.digest_runs import Outcome
from adapters.workers.leader import PostgresLeader, SoleLeader
from adapters.workers.scheduler import DigestScheduler
from bot.context import BotContext
from bot.messages.digest import build_digest
from bot.reply import Reply, Table
from bot.reply_codec import decode
from metrics_core.churn.daily_model import RiskModels
from metrics_core.config import Config, Digests
from metrics_core.delivery.targets import Target
from metrics_core.digests.facts import digest_facts
from metrics_core.digests.subscriptions import DIGEST, Schedule, Scope, subscribe, unsubscribe
from metrics_core.health.scorecard import account_health, band_for, store_snapshots
from metrics_core.revenue.arr import Term
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import (
    Delivery,
    DigestCadence,
    DigestRun,
    DigestScope,
    HealthSnapshot,
    Segment,
)
from tests import factories
from tests.routing import context_for

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
    return context_for(db, CONFIG)


def _scheduler(db: Database, clock: Clock, leadership: Any = None) -> DigestScheduler:
    return DigestScheduler(
        _context(db),
        db,
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
    from metrics_core.store.migrate import upgrade

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


AS_OF = dt.date(2026, 11, 23)
State = tuple[float, str, float | None]
"""A snapshot's health score, band and churn risk (None: no risk stored that day)."""


def _account_with_days(db: Database, external_id: str, days: dict[int, State]) -> int:
    """An account with a snapshot `n` days before AS_OF for each `n` in `days`."""
    with db.writing() as session:
        account = factories.account(
            session, external_id, f"{external_id.title()} Inc", domain=None, segment=Segment.SMB
        )
        for days_before, (score, band, risk) in days.items():
            session.add(
                HealthSnapshot(
                    account_id=account.id,
                    day=AS_OF - dt.timedelta(days=days_before),
                    score=score,
                    band=band,
                    components={"usage": score, "support": 80.0},
                    churn_probability=risk,
                    churn_driver="usage per seat" if risk else None,
                )
            )
        return account.id


def _account_with_history(db: Database, external_id: str, before: State, now: State) -> None:
    _account_with_days(db, external_id, {1: before, 0: now})


def _digest(
    db: Database,
    previous: dict[str, Any] | None = None,
    *,
    days: int = 1,
    as_of: dt.date = AS_OF,
) -> Any:
    due = dt.datetime.combine(as_of, DUE.timetz())
    with db.reading() as session:
        facts = digest_facts(
            session,
            cadence=DigestCadence.WEEKLY if days == 7 else DigestCadence.DAILY,
            scope=Scope(DigestScope.PORTFOLIO),
            as_of=as_of,
            window_end=due,
            config=CONFIG,
            now=due,
            previous=previous,
        )
    return build_digest(facts, config=CONFIG, now=due)


def _table(reply: Reply, title: str) -> Table | None:
    """The reply's table whose title starts with `title`, if any."""
    return next((t for t in reply.tables if (t.title or "").startswith(title)), None)


def _column(table: Table, name: str) -> list[str]:
    return [row[table.columns.index(name)] for row in table.rows]


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
    assert metrics["Average health"].delta == "-7.3 in 1 day"  # 70.7 → 63.3
    tables = {t.title: t for t in reply.tables}
    assert tables["Entered the red band (1)"].rows[0][0] == "Falling Inc"
    assert tables["Newly at high churn risk, ≥ 50% (1)"].rows[0][:2] == ("Falling Inc", "80 %")
    drops = tables["Biggest drops in health, ≥ 5 points (1)"]
    assert drops.columns == ("Account", "Health", "1 day", "Why")  # no snapshot a week ago
    assert drops.rows == (("Falling Inc", "35 red", "-37", "usage 72 → 35"),)
    assert tables["Biggest gains in health, ≥ 5 points (1)"].rows[0][0] == "Rising Inc"
    assert digest.details["red"] and digest.details["high_risk"]
    assert any("no follow-ups past SLA" in note for note in reply.notes)
    trend, moves = reply.charts
    assert trend.title == "Average health, last 2 days"
    assert dict(zip(moves.categories, moves.series[0].values, strict=True)) == {
        "Falling Inc": -37.0,
        "Rising Inc": float(tables["Biggest gains in health, ≥ 5 points (1)"].rows[0][2]),
    }
    labels = [a.label for a in reply.actions]
    assert labels == ["Renewals", "Churn risks", "Follow-ups", "KPIs"]

    # The next digest does not announce the same risks again.
    again = _digest(db, previous=digest.details)
    titles = [t.title or "" for t in again.reply.tables]
    assert not any(t.startswith(("Entered the red", "Newly at high")) for t in titles)


async def test_the_biggest_moves_come_first_and_small_ones_are_not_movers(db: Database) -> None:
    for name, before, now in (
        ("slip", 70.0, 69.0),
        ("drop", 70.0, 62.0),
        ("crash", 80.0, 55.0),
        ("nudge", 60.0, 61.0),
        ("lift", 50.0, 58.0),
        ("leap", 45.0, 65.0),
    ):
        _account_with_history(db, name, (before, "yellow", None), (now, "yellow", None))
    reply = _digest(db).reply
    drops, gains = _table(reply, "Biggest drops"), _table(reply, "Biggest gains")
    assert drops is not None and gains is not None
    assert _column(drops, "Account") == ["Crash Inc", "Drop Inc"]
    assert _column(drops, "1 day") == ["-25", "-8"]
    assert _column(drops, "Why") == ["usage 80 → 55", "usage 70 → 62"]
    assert _column(gains, "Account") == ["Leap Inc", "Lift Inc"]


def _customer(db: Database) -> int:
    """A paying customer whose health the scorecard computes from its own inputs."""
    with db.writing() as session:
        acme = factories.account(session, seats=100)
        factories.daily_usage(session, acme.id, AS_OF, 60, 30, {"reports": 5, "api": 2})
        factories.contracts(
            session, acme.id, [Term("C1", dt.date(2026, 1, 1), dt.date(2027, 3, 31), 120_000)]
        )
        return acme.id


async def test_a_slow_slide_is_a_mover_with_the_change_the_health_answer_gives(
    db: Database,
) -> None:
    """Two points a day is noise each morning, but 15 points in a week is what a CSM must
    hear about: the daily digest shows the 7-day change that `health acme` shows."""
    acme = _customer(db)
    store_snapshots(db.engine, AS_OF, CONFIG)
    with db.writing() as session:
        today = session.get(HealthSnapshot, (acme, AS_OF))
        assert today is not None
        for days_before, higher in ((7, 15), (6, 13), (5, 11), (4, 9), (3, 6), (2, 4), (1, 2)):
            score = today.score + higher
            session.add(
                HealthSnapshot(
                    account_id=acme,
                    day=AS_OF - dt.timedelta(days=days_before),
                    score=score,
                    band=band_for(score, CONFIG).value,
                    components=today.components,
                )
            )
    with db.reading() as session:
        answer = account_health(session, acme, AS_OF, CONFIG)
    assert answer is not None and answer.change_7d is not None
    said = f"{answer.change_7d:+.0f}"  # as the health answer shows it: "-15 in 7 days"
    assert said == "-15"

    daily = _table(_digest(db).reply, "Biggest drops in health")
    assert daily is not None
    assert _column(daily, "Account") == ["Acme Corp"]
    assert _column(daily, "1 day") == ["-2"]
    assert _column(daily, "7 days") == [said]
    weekly = _table(_digest(db, days=7).reply, "Biggest drops in health")
    assert weekly is not None
    assert _column(weekly, "Account") == ["Acme Corp"]
    assert _column(weekly, "7 days") == [said]


async def test_a_week_is_measured_against_the_snapshot_exactly_7_days_earlier(
    db: Database,
) -> None:
    """As the health answer says "no snapshot 7 days ago" rather than measuring from 9."""
    _account_with_days(db, "gap", {9: (80.0, "green", None), 0: (60.0, "yellow", None)})
    reply = _digest(db, days=7).reply
    assert _table(reply, "Biggest drops") is None
    assert any("2026-11-16" in note for note in reply.notes)


async def test_no_earlier_churn_risk_calls_no_account_newly_high_risk(db: Database) -> None:
    """Backfilled days have health but no churn risk: nothing to say what is new."""
    risky = _account_with_days(db, "risky", {1: (60.0, "yellow", None), 0: (55.0, "yellow", 0.8)})
    _account_with_days(db, "calm", {1: (80.0, "green", None), 0: (80.0, "green", 0.1)})
    digest = _digest(db)
    assert _table(digest.reply, "Newly at high churn risk") is None
    assert any("churn risk" in note and "compare" in note for note in digest.reply.notes)
    assert not any("no new risks" in note for note in digest.reply.notes)
    assert digest.details["high_risk"] == [risky]  # what tomorrow's digest compares with


async def test_only_accounts_that_crossed_into_high_risk_are_new(db: Database) -> None:
    _account_with_days(
        db, "stays", {7: (40.0, "yellow", 0.7), 1: (40.0, "yellow", 0.7), 0: (40.0, "yellow", 0.8)}
    )
    _account_with_days(
        db,
        "midweek",
        {7: (60.0, "yellow", 0.2), 1: (50.0, "yellow", 0.6), 0: (50.0, "yellow", 0.6)},
    )
    _account_with_days(
        db, "today", {7: (70.0, "green", 0.1), 1: (70.0, "green", 0.2), 0: (65.0, "yellow", 0.55)}
    )
    _account_with_days(
        db, "easing", {7: (50.0, "yellow", 0.6), 1: (50.0, "yellow", 0.6), 0: (55.0, "yellow", 0.4)}
    )
    daily = _table(_digest(db).reply, "Newly at high churn risk")
    assert daily is not None and _column(daily, "Account") == ["Today Inc"]
    weekly = _table(_digest(db, days=7).reply, "Newly at high churn risk")
    assert weekly is not None
    assert sorted(_column(weekly, "Account")) == ["Midweek Inc", "Today Inc"]


async def test_a_digest_after_one_with_nothing_to_report_does_not_call_every_risk_new(
    db: Database,
) -> None:
    """The digest before the first snapshot knew of no risk; that is not "none were at risk"."""
    _account_with_days(db, "stays", {1: (30.0, "red", 0.7), 0: (30.0, "red", 0.8)})
    empty = _digest(db, as_of=AS_OF - dt.timedelta(days=2))
    assert empty.reply.paragraphs[0].startswith("Nothing to report")
    reply = _digest(db, previous=empty.details).reply
    assert _table(reply, "Entered the red band") is None
    assert _table(reply, "Newly at high churn risk") is None


async def test_renewals_show_the_most_arr_at_risk_first(db: Database) -> None:
    """Of many renewals this month, the table's few rows are the ones worth a call."""
    with db.writing() as session:
        for key, arr, renews_in, risk in (
            ("small", 5_000, 3, 0.1),
            ("big", 400_000, 20, 0.4),
            ("safe", 600_000, 10, 0.01),
        ):
            account = factories.account(session, key.upper(), f"{key.title()} Inc", domain=None)
            end = AS_OF + dt.timedelta(days=renews_in)
            factories.contracts(session, account.id, [Term(key, dt.date(2026, 1, 1), end, arr)])
            session.add(
                HealthSnapshot(
                    account_id=account.id,
                    day=AS_OF,
                    score=70.0,
                    band="green",
                    components={},
                    churn_probability=risk,
                )
            )
    table = _table(_digest(db).reply, "Renewing in the next 30 days")
    assert table is not None
    assert _column(table, "Account") == ["Big Inc", "Safe Inc", "Small Inc"]


async def test_a_move_that_rounds_to_nothing_reads_plus_zero(db: Database) -> None:
    _account_with_days(
        db, "flat", {7: (80.0, "green", None), 1: (60.3, "yellow", None), 0: (60.0, "yellow", None)}
    )
    drops = _table(_digest(db).reply, "Biggest drops")
    assert drops is not None
    assert (_column(drops, "1 day"), _column(drops, "7 days")) == (["+0"], ["-20"])

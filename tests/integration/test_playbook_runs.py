"""Playbook runs on real SQLite and PostgreSQL: each trigger on constructed books, one run
per episode, plays worked through, late plays reminded and escalated once, digests.

Each book is built by hand (a few accounts, their snapshots, usage, renewals, touchpoints)
so every test states the condition a trigger reads and what a CSM would see happen.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.workers.playbooks import PlaybookSweeps
from bot.messages.playbooks import run_reply
from metrics_core.accounts.team import Member
from metrics_core.config import Config, FollowUps, Play, Playbook, Plays, Trigger
from metrics_core.delivery.targets import Target
from metrics_core.digests.facts import digest_facts
from metrics_core.digests.subscriptions import Scope
from metrics_core.followups.intake import record_answer
from metrics_core.playbooks import runs
from metrics_core.playbooks.overdue import overdue_plays, run_overdue
from metrics_core.playbooks.runs import Outcome, drop_run, mark_play, run_view, start_run
from metrics_core.playbooks.triggers import run_triggers
from metrics_core.revenue.arr import Term
from metrics_core.store.db import Database
from metrics_core.store.models import (
    Account,
    Delivery,
    DigestCadence,
    DigestScope,
    HealthSnapshot,
    LifecycleStage,
    PlaybookPlay,
    PlaybookRun,
    PlaybookRunStatus,
    PlayStatus,
    Segment,
    SurveyKind,
    TeamMember,
    TeamRole,
)
from metrics_core.surveys.answers import SurveyAnswer
from tests import factories

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 0, 20, tzinfo=dt.UTC)
ALERTS = Target("slack", "C0ALERTS")
"""The operator's fallback alerts target (`CLOSELOOP_SLACK_ALERTS_CHANNEL`)."""
PLAYS = [Play(title="Call the champion", due_days=2), Play(title="Send a plan", due_days=10)]


def playbook(key: str, trigger: Trigger, segments: Sequence[Segment] = ()) -> Playbook:
    return Playbook(
        key=key, name=key.title(), trigger=trigger, plays=PLAYS, segments=list(segments)
    )


def config(*playbooks: Playbook, **rest: object) -> Config:
    return Config.model_validate({"playbooks": list(playbooks), **rest})


def _member(row: TeamMember) -> Member:
    return Member(row.id, row.name, row.role)


def _owner(session: Session) -> TeamMember:
    """Dana, a CSM with a Slack id: the owner of the accounts that have one."""
    return factories.team_member(session, slack_user_id="U0CSM1", name="Dana Whitfield")


def _admin(db: Database) -> Member:
    with db.writing() as session:
        return _member(
            factories.team_member(session, "admin@c.example", name="Ada", role=TeamRole.ADMIN)
        )


def _snapshot(
    session: Session,
    account_id: int,
    day: dt.date,
    score: float,
    band: str,
    churn: float | None = None,
) -> None:
    session.add(
        HealthSnapshot(
            account_id=account_id,
            day=day,
            score=score,
            band=band,
            components={},
            churn_probability=churn,
        )
    )


def _runs(db: Database, key: str | None = None) -> list[PlaybookRun]:
    with db.reading() as session:
        statement = select(PlaybookRun).order_by(PlaybookRun.id)
        if key is not None:
            statement = statement.where(PlaybookRun.playbook == key)
        found = list(session.scalars(statement))
        session.expunge_all()
        return found


def _sweep(db: Database, cfg: Config, day: dt.date = TODAY) -> int:
    at = dt.datetime.combine(day, dt.time(0, 20), tzinfo=dt.UTC)
    with db.writing() as session:
        return run_triggers(session, cfg, day, at, fallback=ALERTS)


def _drop(db: Database, run_id: int, member: Member, day: dt.date = TODAY) -> None:
    at = dt.datetime.combine(day, dt.time(15), tzinfo=dt.UTC)
    with db.writing() as session:
        change = drop_run(session, run_id=run_id, member=member, note="not now", now=at)
    assert change.outcome is Outcome.DONE


# --- health_red ------------------------------------------------------------------------


def test_health_red_fires_once_per_red_spell_within_its_segments(db: Database) -> None:
    red = playbook("red", Trigger(kind="health_red"))
    smb_only = playbook("red-smb", Trigger(kind="health_red"), [Segment.SMB])
    both = config(red, smb_only)
    with db.writing() as session:
        dana = _owner(session)
        acme = factories.account(session, owner=dana)  # Enterprise: enters red today
        smol = factories.account(session, "SMOL", "Smol Ltd", segment=Segment.SMB, domain=None)
        for back, score, band in ((2, 55.0, "yellow"), (1, 45.0, "yellow"), (0, 34.0, "red")):
            _snapshot(session, acme.id, TODAY - dt.timedelta(days=back), score, band)
        for back in (3, 2, 1, 0):  # SMB: red before the playbooks existed
            _snapshot(session, smol.id, TODAY - dt.timedelta(days=back), 30.0, "red")

    assert _sweep(db, both, TODAY - dt.timedelta(days=5)) == 0  # no snapshot that day
    assert _sweep(db, both) == 3  # both accounts, and the SMB playbook for Smol only
    started = {(r.playbook, r.account_id): r for r in _runs(db)}
    assert set(started) == {("red", acme.id), ("red", smol.id), ("red-smb", smol.id)}
    run = started[("red", acme.id)]
    assert (run.owner_id, run.trigger, run.health_at_start) == (dana.id, "health_red", 34.0)
    assert run.trigger_details["before"] == {
        "day": (TODAY - dt.timedelta(days=1)).isoformat(),
        "score": 45.0,
        "band": "yellow",
    }
    assert started[("red", smol.id)].trigger_details["red_since"] == (
        (TODAY - dt.timedelta(days=3)).isoformat()
    )
    assert _sweep(db, both) == 0  # no second run while one is open

    # Dropped, and still red the next day: the same spell had its run.
    for each in started.values():
        _drop(db, each.id, _member(dana))
    tomorrow = TODAY + dt.timedelta(days=1)
    with db.writing() as session:
        _snapshot(session, acme.id, tomorrow, 33.0, "red")
        _snapshot(session, smol.id, tomorrow, 30.0, "red")
    assert _sweep(db, both, tomorrow) == 0

    # Acme leaves the red band and enters it again: a new spell, a new run. Smol, red
    # all along, does not start another.
    later = tomorrow + dt.timedelta(days=2)
    with db.writing() as session:
        _snapshot(session, acme.id, tomorrow + dt.timedelta(days=1), 44.0, "yellow")
        _snapshot(session, acme.id, later, 31.0, "red")
        _snapshot(session, smol.id, later, 30.0, "red")
    assert _sweep(db, both, later) == 1
    newest = _runs(db)[-1]
    assert (newest.account_id, newest.status) == (acme.id, PlaybookRunStatus.OPEN)


# --- usage_drop ------------------------------------------------------------------------


def test_usage_drop_fires_at_its_own_threshold(db: Database) -> None:
    with db.writing() as session:
        acme = factories.account(session)
        # Four weeks at 20 active users a day, then a week at 9: 55 % down.
        factories.daily_usage(session, acme.id, TODAY - dt.timedelta(days=7), 28, 20)
        factories.daily_usage(session, acme.id, TODAY, 7, 9)
        _snapshot(session, acme.id, TODAY, 60.0, "yellow")
    assert _sweep(db, config(playbook("deep", Trigger(kind="usage_drop", drop=0.6)))) == 0
    assert _sweep(db, config(playbook("drop", Trigger(kind="usage_drop", drop=0.5)))) == 1
    (run,) = _runs(db)
    assert run.trigger_details["drop"] == pytest.approx(0.55, abs=0.001)
    # Still down tomorrow: the same drop, measured over the same window.
    with db.writing() as session:
        factories.daily_usage(session, acme.id, TODAY + dt.timedelta(days=1), 1, 9)
        _snapshot(session, acme.id, TODAY + dt.timedelta(days=1), 58.0, "yellow")
    drop = config(playbook("drop", Trigger(kind="usage_drop", drop=0.5)))
    _drop(db, run.id, _admin(db))
    assert _sweep(db, drop, TODAY + dt.timedelta(days=1)) == 0


# --- renewal_risk ----------------------------------------------------------------------


def test_renewal_risk_fires_once_per_renewal(db: Database) -> None:
    save = config(playbook("save", Trigger(kind="renewal_risk", within_days=90, min_risk=0.3)))
    renews = TODAY + dt.timedelta(days=40)
    with db.writing() as session:
        acme = factories.account(session)
        calm = factories.account(session, "CALM", "Calm Inc", domain=None)
        far = factories.account(session, "FAR", "Far Inc", domain=None)
        for account, end in ((acme, renews), (calm, renews), (far, TODAY + dt.timedelta(200))):
            start = end - dt.timedelta(days=364)
            factories.contracts(
                session, account.id, [Term(account.external_id, start, end, 120_000.0)]
            )
        _snapshot(session, acme.id, TODAY, 50.0, "yellow", churn=0.42)
        _snapshot(session, calm.id, TODAY, 80.0, "green", churn=0.12)
        _snapshot(session, far.id, TODAY, 50.0, "yellow", churn=0.8)
    assert _sweep(db, save) == 1
    (run,) = _runs(db)
    assert run.account_id == acme.id
    assert run.trigger_details["probability"] == pytest.approx(0.42)
    assert run.trigger_details["arr"] == pytest.approx(120_000.0)
    _drop(db, run.id, _admin(db))
    with db.writing() as session:
        _snapshot(session, acme.id, TODAY + dt.timedelta(days=1), 50.0, "yellow", churn=0.45)
    assert _sweep(db, save, TODAY + dt.timedelta(days=1)) == 0  # the same renewal


# --- no_touchpoint and onboarding_stalled ----------------------------------------------


def test_no_touchpoint_and_stalled_onboarding_fire_again_after_another_spell(
    db: Database,
) -> None:
    reconnect = playbook("touch", Trigger(kind="no_touchpoint", days=45))
    go_live = playbook("live", Trigger(kind="onboarding_stalled", days=60))
    both = config(reconnect, go_live)
    with db.writing() as session:
        quiet = factories.account(session)
        busy = factories.account(session, "BUSY", "Busy Inc", domain=None)
        slow = factories.account(session, "SLOW", "Slow Inc", domain=None)
        fresh = factories.account(session, "NEW", "New Inc", domain=None)
        factories.activity(session, quiet.id, "a-1", NOW - dt.timedelta(days=50))
        for account in (busy, slow, fresh):
            factories.activity(session, account.id, f"a-{account.id}", NOW - dt.timedelta(days=9))
        slow.lifecycle_stage = fresh.lifecycle_stage = LifecycleStage.ONBOARDING
        slow.created_on, fresh.created_on = TODAY - dt.timedelta(70), TODAY - dt.timedelta(20)
        for account in (quiet, busy, slow, fresh):
            _snapshot(session, account.id, TODAY, 70.0, "green")
    assert _sweep(db, both) == 2
    started = {r.playbook: r for r in _runs(db)}
    assert (started["touch"].account_id, started["touch"].trigger_details["days"]) == (
        quiet.id,
        50,
    )
    assert (started["live"].account_id, started["live"].trigger_details["days"]) == (slow.id, 70)
    admin = _admin(db)
    for run in started.values():
        _drop(db, run.id, admin)

    def later(days: int, account: Account) -> dt.date:
        """A day on which only `account` is a customer (has a snapshot)."""
        day = TODAY + dt.timedelta(days=days)
        with db.writing() as session:
            _snapshot(session, account.id, day, 70.0, "green")
        return day

    # Still no touchpoint, still onboarding: again once another spell has passed since the
    # last run started, not before.
    assert _sweep(db, config(reconnect), later(45, quiet)) == 0
    assert _sweep(db, config(reconnect), later(46, quiet)) == 1
    assert _sweep(db, config(go_live), later(60, slow)) == 0
    assert _sweep(db, config(go_live), later(61, slow)) == 1


# --- detractor / promoter: from the survey intake --------------------------------------


def _answer(db: Database, cfg: Config, response_id: str, score: int, **kw: object) -> int:
    answer = SurveyAnswer(
        "generic",
        response_id,
        kw.pop("kind", SurveyKind.NPS),  # type: ignore[arg-type]
        score,
        NOW,
        kw.pop("comment", "Exports keep failing"),  # type: ignore[arg-type]
        "jane@acme.example",
        "Jane Doe",
    )
    with db.writing() as session:
        intake = record_answer(session, answer, config=cfg, fallback=ALERTS, now=NOW)
    return intake.playbook_runs


def test_a_detractor_answer_starts_its_run_with_the_answer_and_tells_the_owner(
    db: Database,
) -> None:
    recover = config(playbook("recover", Trigger(kind="detractor")))
    with db.writing() as session:
        dana = _owner(session)
        factories.account(session, owner=dana)
    assert _answer(db, recover, "r-1", 3) == 1
    (run,) = _runs(db)
    assert run.trigger_details["score"] == 3
    assert run.trigger_details["comment"] == "Exports keep failing"
    with db.reading() as session:
        owed = session.execute(
            select(Delivery.kind, Delivery.target).where(Delivery.key.startswith("playbook:"))
        ).all()
        plays = session.scalars(select(PlaybookPlay.title).order_by(PlaybookPlay.position)).all()
    assert owed == [(runs.RUN_MESSAGE, "U0CSM1")]  # Dana's DMs
    assert plays == ["Call the champion", "Send a plan"]

    assert _answer(db, recover, "r-1", 3, comment="Still failing") == 0  # the same answer
    assert _answer(db, recover, "r-2", 2) == 0  # a second detractor while the run is open
    _drop(db, run.id, _member(dana))
    assert _answer(db, recover, "r-3", 1) == 1  # after the run ended: a new run
    assert len(_runs(db)) == 2


def test_promoter_playbooks_read_only_their_survey_kinds(sqlite_db: Database) -> None:
    db = sqlite_db
    advocate = config(playbook("advocate", Trigger(kind="promoter", surveys=[SurveyKind.NPS])))
    with db.writing() as session:
        factories.account(session)
    assert _answer(db, advocate, "c-1", 5, kind=SurveyKind.CSAT) == 0
    assert _answer(db, advocate, "n-1", 3) == 0  # a detractor
    assert _answer(db, advocate, "n-2", 10) == 1
    (run,) = _runs(db)
    assert run.owner_id is None
    with db.reading() as session:
        (owed,) = session.scalars(
            select(Delivery.target).where(Delivery.key.startswith("playbook:"))
        ).all()
    assert owed == "C0ALERTS"  # nobody owns the account: the operator's alerts channel


# --- two starts at once ----------------------------------------------------------------


def test_two_concurrent_starts_make_one_run(db: Database) -> None:
    red = playbook("red", Trigger(kind="health_red"))
    with db.writing() as session:
        dana = _owner(session)
        account_id, owner_id = factories.account(session, owner=dana).id, dana.id
    barrier = threading.Barrier(2)
    started: list[int | None] = []

    def start() -> None:
        with db.writing() as session:
            barrier.wait(timeout=10)
            started.append(
                start_run(
                    session,
                    playbook=red,
                    account_id=account_id,
                    owner_id=owner_id,
                    details={},
                    health=None,
                    now=NOW,
                    fallback=None,
                )
            )

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(started) == 2
    assert started.count(None) == 1  # the second start found the run open
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(PlaybookRun)) == 1
        assert session.scalar(select(func.count()).select_from(PlaybookPlay)) == 2
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1


# --- working through a run -------------------------------------------------------------


def _started(db: Database) -> tuple[int, Member, Member, Member]:
    with db.writing() as session:
        dana = _owner(session)
        marco = factories.team_member(session, "marco@c.example", name="Marco", slack_user_id="U2")
        boss = factories.team_member(
            session, "boss@c.example", name="Boss", role=TeamRole.MANAGER, slack_user_id="U9"
        )
        acme = factories.account(session, owner=dana)
        run_id = start_run(
            session,
            playbook=playbook("red", Trigger(kind="health_red")),
            account_id=acme.id,
            owner_id=dana.id,
            details={},
            health=34.0,
            now=NOW,
            fallback=ALERTS,
        )
        assert run_id is not None
        return run_id, _member(dana), _member(marco), _member(boss)


def _mark(
    db: Database,
    run_id: int,
    position: int,
    who: Member,
    status: PlayStatus,
    note: str | None = None,
) -> runs.RunChange:
    with db.writing() as session:
        return mark_play(
            session, run_id=run_id, position=position, member=who, status=status, note=note, now=NOW
        )


def _message_version(db: Database, run_id: int) -> int:
    with db.reading() as session:
        return int(
            session.scalar(
                select(Delivery.version).where(Delivery.key.startswith(f"playbook:{run_id}:run"))
            )
            or 0
        )


def test_the_owner_works_the_plays_and_the_run_completes(db: Database) -> None:
    run_id, dana, marco, boss = _started(db)
    assert _mark(db, run_id, 1, marco, PlayStatus.DONE).outcome is Outcome.NOT_ALLOWED
    assert _mark(db, run_id, 1, dana, PlayStatus.SKIPPED).outcome is Outcome.INVALID  # no note
    before = _message_version(db, run_id)
    change = _mark(db, run_id, 1, dana, PlayStatus.DONE, "Called Jane")
    assert change.outcome is Outcome.DONE and not change.completed
    assert _message_version(db, run_id) == before + 1  # the checklist in chat gets edited
    assert _mark(db, run_id, 1, dana, PlayStatus.DONE).outcome is Outcome.ALREADY
    assert _message_version(db, run_id) == before + 1
    change = _mark(db, run_id, 2, boss, PlayStatus.SKIPPED, "Plan agreed by phone")
    assert change.completed and change.run is not None
    assert change.run.status is PlaybookRunStatus.COMPLETED
    assert [(p.status, p.done_by, p.note) for p in change.run.plays] == [
        (PlayStatus.DONE, "Dana Whitfield", "Called Jane"),
        (PlayStatus.SKIPPED, "Boss", "Plan agreed by phone"),
    ]
    (run,) = _runs(db)
    assert run.open_key is None and run.closed_by_id == boss.id
    assert _mark(db, run_id, 2, dana, PlayStatus.DONE).outcome is Outcome.CLOSED


def test_a_done_note_is_kept_on_the_play_and_shown_in_the_checklist(db: Database) -> None:
    run_id, dana, _, _ = _started(db)
    assert _mark(db, run_id, 1, dana, PlayStatus.DONE, "  ").outcome is Outcome.DONE
    change = _mark(db, run_id, 2, dana, PlayStatus.DONE, " Sent the plan; Jane signed off ")
    assert change.run is not None and change.completed
    with db.reading() as session:
        notes = session.scalars(
            select(PlaybookPlay.note)
            .where(PlaybookPlay.run_id == run_id)
            .order_by(PlaybookPlay.position)
        ).all()
    assert notes == [None, "Sent the plan; Jane signed off"]  # a blank note is no note
    (table,) = run_reply(change.run, NOW).tables
    assert table.columns[-1] == "Note"
    assert [row[-1] for row in table.rows] == ["—", "Sent the plan; Jane signed off"]


def test_dropping_needs_a_note_and_frees_the_account_for_a_new_run(sqlite_db: Database) -> None:
    db = sqlite_db
    run_id, dana, _, _ = _started(db)
    with db.writing() as session:
        refused = drop_run(session, run_id=run_id, member=dana, note="  ", now=NOW)
    assert refused.outcome is Outcome.INVALID
    _drop(db, run_id, dana)
    with db.reading() as session:
        view = run_view(session, run_id)
    assert view is not None and (view.status, view.note) == (PlaybookRunStatus.DROPPED, "not now")
    (run,) = _runs(db)
    with db.writing() as session:
        again = start_run(
            session,
            playbook=playbook("red", Trigger(kind="health_red")),
            account_id=run.account_id,
            owner_id=dana.id,
            details={},
            health=None,
            now=NOW,
            fallback=None,
        )
    assert again is not None and again != run_id


# --- late plays ------------------------------------------------------------------------


def test_a_late_play_reminds_once_then_escalates_once(db: Database) -> None:
    managers = config(
        follow_ups=FollowUps(escalation_slack_channels=["C0MANAGERS"]),
        plays=Plays(escalate_after_overdue_days=3),
    )
    run_id, dana, _, _ = _started(db)
    # Play 1 is due by the end of 22 Nov (2 days after the 20th).
    with db.reading() as session:
        due = session.scalar(select(PlaybookPlay.due_at).where(PlaybookPlay.position == 1))
    assert due == dt.datetime(2026, 11, 23, tzinfo=dt.UTC)

    def sweep(at: dt.datetime) -> tuple[int, int]:
        with db.writing() as session:
            done = run_overdue(session, managers, at, fallback=ALERTS)
        return done.reminded, done.escalated

    assert sweep(dt.datetime(2026, 11, 22, 23, 59, tzinfo=dt.UTC)) == (0, 0)
    assert sweep(dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)) == (1, 0)
    assert sweep(dt.datetime(2026, 11, 23, 9, 1, tzinfo=dt.UTC)) == (0, 0)
    assert sweep(dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)) == (0, 1)
    assert sweep(dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)) == (0, 0)
    with db.reading() as session:
        owed = session.execute(
            select(Delivery.kind, Delivery.target)
            .where(Delivery.kind.in_((runs.PLAY_REMINDER, runs.PLAY_ESCALATION)))
            .order_by(Delivery.id)
        ).all()
    assert owed == [(runs.PLAY_REMINDER, "U0CSM1"), (runs.PLAY_ESCALATION, "C0MANAGERS")]
    # Done now: no reminder is owed for it, and its messages are edited to say so.
    _mark(db, run_id, 1, dana, PlayStatus.DONE)
    with db.reading() as session:
        versions = session.scalars(
            select(Delivery.version).where(Delivery.kind != runs.RUN_MESSAGE)
        ).all()
    assert versions == [2, 2]


# --- the scheduler's sweep and digests -------------------------------------------------


async def test_the_daily_sweep_waits_for_the_snapshot_and_runs_once_a_day(
    sqlite_db: Database,
) -> None:
    db = sqlite_db
    red = config(playbook("red", Trigger(kind="health_red")))
    clock = [dt.datetime.combine(TODAY, dt.time(0, 5), tzinfo=dt.UTC)]
    sweeps = PlaybookSweeps(db, red, clock=lambda: clock[0], fallback=ALERTS)
    with db.writing() as session:
        acme = factories.account(session)
    assert await sweeps.triggers() is None  # no snapshot today yet
    with db.writing() as session:
        _snapshot(session, acme.id, TODAY, 30.0, "red")
    clock[0] += dt.timedelta(minutes=15)
    assert await sweeps.triggers() == 1
    assert await sweeps.triggers() is None  # today's ran


def test_digests_count_overdue_plays_in_their_scope(db: Database) -> None:
    _started(db)
    with db.writing() as session:
        smol = factories.account(session, "SMOL", "Smol Ltd", segment=Segment.SMB, domain=None)
        _snapshot(session, smol.id, TODAY, 70.0, "green")
        acme_id = session.scalar(select(Account.id).where(Account.external_id == "ACME"))
        assert acme_id is not None
        _snapshot(session, acme_id, TODAY, 34.0, "red")
    late = dt.datetime(2026, 11, 25, 8, tzinfo=dt.UTC)  # play 1 two days late, play 2 not due
    with db.reading() as session:
        book = overdue_plays(session, late)
        smb = overdue_plays(session, late, segment=Segment.SMB)
        facts = digest_facts(
            session,
            cadence=DigestCadence.DAILY,
            scope=Scope(DigestScope.PORTFOLIO),
            as_of=TODAY,
            window_end=late,
            config=Config(),
            now=late,
            previous=None,
        )
    assert (book.open_runs, book.plays, book.runs, book.by_owner) == (
        1,
        1,
        1,
        (("Dana Whitfield", 1),),
    )
    assert book.most_days_late == 3  # due by the end of 22 Nov, on 25 Nov
    assert smb.open_runs == 0
    assert facts.overdue_plays == book

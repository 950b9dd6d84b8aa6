"""Playbook effectiveness against a history built by hand, on SQLite and PostgreSQL.

One playbook, "usage-drop", three plays. Every run's account used 10 active users a day
before the trigger (day 0 = 5 Jan 2026) and 5 in the week up to it. Afterwards:

    pattern     days 11–60   days 61–     recovered at 30   sustained (30 and 90)
    sustained   10           10           yes               yes
    spike       10           5            yes               no
    none        5            5            no                no
    gone        no usage (churned)        no                no

    run   group               usage      health Δ30/Δ90  renewal   expansion ≤ 180 d  play 3
    F1–6  finished            sustained  +12|+8 / +10|+6  renewed   F1–F4 yes          done
    F7–9  finished            spike      alternating      renewed   F5 at day 200: no  skipped
    F10   finished            none                        renewed                      skipped
    F11–12 finished           none                        churned                      skipped
    N1–2  dropped             sustained  +4|0 / 0|−4      renewed   N1 yes             done
    N3–4  dropped             spike                       renewed                      todo
    N5–7  dropped             none                        N5 renewed, N6–N7 churned    todo
    N8    dropped             gone       (no snapshots)   churned                      todo
    N9    open, past due      none                        churned                      todo
    N10   dropped             no usage before the trigger churned                      todo
    N11   dropped             none                        churned                      todo
    Y     finished, day 0 = as-of − 40: sustained so far, renewal upcoming
    P     open, plays not yet due (in progress): in neither group
    L     triggered after the as-of day: ignored

By hand: recovered at 30 days: finished 10 of 13 (F1–F9 and Y), not finished 4 of 10
(N1–N4; N10 has no baseline); sustained: 6 of 12 against 2 of 10 (Y is too young).
Renewed: 10 of 12 (Y's renewal is not decided) against 5 of 11. Expanded within 180
days: 4 of 12 against 1 of 11.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from scipy import stats
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from metrics_core.config import Config
from metrics_core.health.usage_signals import usage_drops
from metrics_core.playbooks.effectiveness import (
    MIN_RUNS,
    PlaybookEffect,
    PlaybookStats,
    playbook_effectiveness,
)
from metrics_core.playbooks.starter import starter_playbooks
from metrics_core.store import watermarks
from metrics_core.store.db import Database
from metrics_core.store.models import (
    Account,
    AnswerBand,
    ArrMovement,
    ArrMovementKind,
    Contract,
    HealthSnapshot,
    PlaybookPlay,
    PlaybookRun,
    PlaybookRunStatus,
    PlayStatus,
    Renewal,
    RenewalStatus,
    Segment,
    SurveyResponse,
    TeamMember,
    UsageDaily,
)
from metrics_core.surveys.scores import band_of
from metrics_core.synthetic.playbooks import demo_config
from metrics_core.synthetic.surveys import ACME_NPS_SCORE
from tests import factories as f
from tests.integration.conftest import DEMO_AS_OF

DAY0 = dt.date(2026, 1, 5)
AS_OF = dt.date(2026, 8, 1)  # 208 days later: every horizon but Y's has passed
PLAYS = ("Find which teams stopped", "Ask the admin why", "Run a re-enablement session")


@dataclass(frozen=True)
class Spec:
    name: str
    status: PlaybookRunStatus
    usage: str  # sustained, spike, none, gone, late (no usage before the trigger)
    health: tuple[float | None, float | None]  # change at 30 and 90 days; None: no snapshot
    renewed: bool | None  # None: the renewal is still ahead
    expanded_on: int | None = None  # day of an expansion, relative to the trigger
    play_3_done: bool = False
    day0: dt.date = DAY0
    due_in: int = 14  # last play due this many days after the trigger
    segment: Segment = Segment.ENTERPRISE


def _finished(n: int, usage: str, renewed: bool, **more: object) -> Spec:
    gain = ((8.0, 6.0), (12.0, 10.0))[n % 2]
    return Spec(f"F{n}", PlaybookRunStatus.COMPLETED, usage, gain, renewed, **more)  # type: ignore[arg-type]


def _dropped(n: int, usage: str, renewed: bool, **more: object) -> Spec:
    status = more.pop("status", PlaybookRunStatus.DROPPED)
    gain = ((0.0, -4.0), (4.0, 0.0))[n % 2]
    return Spec(f"N{n}", status, usage, gain, renewed, **more)  # type: ignore[arg-type]


SPECS = (
    *(
        _finished(n, "sustained", True, play_3_done=True, expanded_on=60 if n <= 4 else None)
        for n in range(1, 7)
    ),
    _finished(7, "spike", True, expanded_on=200),
    _finished(8, "spike", True),
    _finished(9, "spike", True),
    _finished(10, "none", True),
    _finished(11, "none", False),
    _finished(12, "none", False),
    _dropped(1, "sustained", True, play_3_done=True, expanded_on=30),
    _dropped(2, "sustained", True, play_3_done=True),
    _dropped(3, "spike", True),
    _dropped(4, "spike", True),
    _dropped(5, "none", True),
    _dropped(6, "none", False),
    _dropped(7, "none", False),
    Spec("N8", PlaybookRunStatus.DROPPED, "gone", (None, None), False),
    _dropped(9, "none", False, status=PlaybookRunStatus.OPEN),
    _dropped(10, "late", False),
    _dropped(11, "none", False, segment=Segment.SMB),
    Spec(
        "Y",
        PlaybookRunStatus.COMPLETED,
        "sustained",
        (10.0, None),
        None,
        play_3_done=True,
        day0=AS_OF - dt.timedelta(days=40),
    ),
    Spec(
        "P",
        PlaybookRunStatus.OPEN,
        "none",
        (None, None),
        None,
        day0=AS_OF - dt.timedelta(days=3),
        due_in=20,
    ),
    Spec("L", PlaybookRunStatus.OPEN, "none", (None, None), None, day0=AS_OF + dt.timedelta(1)),
)


def _level(pattern: str, offset: int) -> int | None:
    """Active users on day `offset` after the trigger; None: no usage row that day."""
    if offset <= -7:
        return None if pattern == "late" else 10
    if offset <= 10:
        return None if pattern == "late" and offset < 0 else 5
    if pattern == "gone":
        return None
    if pattern == "none" or (pattern == "spike" and offset > 60):
        return 5
    return 10


def _instant(day: dt.date, hour: int = 15) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


def _build(session: Session) -> None:
    usage_rows = []
    snapshots = []
    for number, spec in enumerate(SPECS, start=1):
        account = f.account(
            session, f"A{number}", f"Account {spec.name}", segment=spec.segment, domain=None
        )
        for offset in range(-40, 100):
            day = spec.day0 + dt.timedelta(days=offset)
            level = _level(spec.usage, offset)
            if level is not None and day <= AS_OF:
                usage_rows.append(
                    {"account_id": account.id, "day": day, "active_users": level, "sessions": 0}
                    | {"events": 0, "feature_counts": {}}
                )
        start_health = 40.0
        stored_start: float | None = start_health
        if spec.name == "N1":  # no health stored on the run: the snapshot before it stands in
            stored_start = None
            snapshots.append((account.id, spec.day0 - dt.timedelta(days=2), start_health))
        for horizon, change in zip((30, 90), spec.health, strict=True):
            if change is not None:
                # F1's 30-day snapshot is five days late: still within the tolerance.
                late = 5 if spec.name == "F1" and horizon == 30 else 0
                day = spec.day0 + dt.timedelta(days=horizon + late)
                snapshots.append((account.id, day, start_health + change))
        # Far from both horizons: must never stand in for one.
        snapshots.append((account.id, spec.day0 + dt.timedelta(days=60), 99.0))
        open_ = spec.status is PlaybookRunStatus.OPEN
        run = PlaybookRun(
            playbook="usage-drop",
            playbook_name="Usage dropped",
            trigger="usage_drop",
            account_id=account.id,
            status=spec.status,
            open_key=f"usage-drop:{account.id}" if open_ else None,
            triggered_at=_instant(spec.day0, 9),
            health_at_start=stored_start,
        )
        session.add(run)
        session.flush()
        for position, title in enumerate(PLAYS, start=1):
            due = _instant(spec.day0 + dt.timedelta(days=spec.due_in * position // 3))
            if position == 3:
                finished = spec.status is PlaybookRunStatus.COMPLETED
                other = PlayStatus.SKIPPED if finished else PlayStatus.TODO
                status = PlayStatus.DONE if spec.play_3_done else other
            elif position == 2 and spec.status is not PlaybookRunStatus.COMPLETED:
                status = PlayStatus.TODO
            else:
                status = PlayStatus.DONE if spec.name != "P" else PlayStatus.TODO
            session.add(
                PlaybookPlay(
                    run_id=run.id, position=position, title=title, due_at=due, status=status
                )
            )
        _contract(session, account.id, spec, number)
    session.execute(insert(UsageDaily), usage_rows)
    session.add_all(
        HealthSnapshot(account_id=a, day=d, score=s, band="yellow", components={})
        for a, d, s in snapshots
    )
    watermarks.advance(session.connection(), watermarks.USAGE, AS_OF)


def _contract(session: Session, account_id: int, spec: Spec, number: int) -> None:
    """A renewal before the trigger (renewed: not the one that counts) and the next one."""
    renewals = [(spec.day0 - dt.timedelta(days=100), RenewalStatus.RENEWED)]
    if spec.renewed is None:
        renewals.append((spec.day0 + dt.timedelta(days=200), RenewalStatus.UPCOMING))
    else:
        outcome = RenewalStatus.RENEWED if spec.renewed else RenewalStatus.CHURNED
        renewals.append((spec.day0 + dt.timedelta(days=100), outcome))
    for position, (day, status) in enumerate(renewals):
        contract = Contract(
            external_id=f"C{number}-{position}",
            account_id=account_id,
            start_date=day - dt.timedelta(days=365),
            end_date=day,
            arr=1000.0,
        )
        session.add(contract)
        session.flush()
        session.add(
            Renewal(
                account_id=account_id,
                contract_id=contract.id,
                renewal_date=day,
                arr=1000.0,
                status=status,
            )
        )
    if spec.expanded_on is not None:
        session.add(
            ArrMovement(
                account_id=account_id,
                kind=ArrMovementKind.EXPANSION,
                amount=100.0,
                effective_on=spec.day0 + dt.timedelta(days=spec.expanded_on),
            )
        )


CONFIG = Config(playbooks=starter_playbooks())


def _read(db: Database, **asked: object) -> PlaybookStats:
    with db.reading() as session:
        return playbook_effectiveness(session, as_of=AS_OF, config=CONFIG, **asked)  # type: ignore[arg-type]


def _stats(db: Database, **asked: object) -> PlaybookStats:
    with db.writing() as session:
        _build(session)
    return _read(db, **asked)


def _usage_drop(stats: PlaybookStats) -> PlaybookEffect:
    return next(p for p in stats.playbooks if p.key == "usage-drop")


def test_runs_grouped_and_usage_recovery_with_its_sustained_headline(db: Database) -> None:
    effect = _usage_drop(_stats(db))
    groups = (effect.runs, effect.finished, effect.dropped, effect.stalled, effect.in_progress)
    assert groups == (25, 13, 10, 1, 1)
    assert effect.finished_share == pytest.approx(13 / 24)
    recovered, sustained = effect.outcomes.recovered, effect.outcomes.sustained
    assert (recovered.done.events, recovered.done.n) == (10, 13)
    assert (recovered.not_done.events, recovered.not_done.n) == (4, 10)
    assert (sustained.done.events, sustained.done.n) == (6, 12)
    assert (sustained.not_done.events, sustained.not_done.n) == (2, 10)
    # Spikes that fade count at 30 days but not as sustained recovery.
    change = sustained.difference
    assert change is not None
    assert change.estimate == pytest.approx(0.5 - 0.2)
    # Newcombe's interval by hand from the Wilson limits of 6/12 (0.2538–0.7462) and 2/10
    # (0.0567–0.5098): 0.3 − √(0.2462² + 0.3098²) to 0.3 + √(0.2462² + 0.1433²).
    assert change.ci_low == pytest.approx(-0.0958, abs=5e-4)
    assert change.ci_high == pytest.approx(0.5849, abs=5e-4)
    assert not change.clear  # 12 and 10 runs: a 30-point gap may still be chance
    assert recovered.difference is not None
    assert recovered.difference.estimate == pytest.approx(10 / 13 - 0.4)


def test_health_change_renewal_and_expansion(db: Database) -> None:
    outcomes = _usage_drop(_stats(db)).outcomes
    finished_30 = [12.0, 8.0] * 6 + [10.0]  # F1–F12 alternate; Y
    not_finished_30 = [4.0, 0.0] * 3 + [4.0, 4.0, 0.0, 4.0]  # N1–N7, N9–N11 (N8: churned)
    health = outcomes.health_30
    assert (health.done.n, health.not_done.n) == (13, 10)
    assert health.difference == pytest.approx(10.0 - 2.4)
    interval = stats.ttest_ind(finished_30, not_finished_30, equal_var=False).confidence_interval()
    assert health.low == pytest.approx(interval.low)
    assert health.high == pytest.approx(interval.high)
    assert outcomes.health_90.done.mean == pytest.approx(8.0)
    assert outcomes.health_90.not_done.mean == pytest.approx(-1.6)
    assert outcomes.health_90.done.n == 12  # Y's 90 days have not passed

    assert (outcomes.renewed.done.events, outcomes.renewed.done.n) == (10, 12)
    assert (outcomes.renewed.not_done.events, outcomes.renewed.not_done.n) == (5, 11)
    assert (outcomes.expanded.done.events, outcomes.expanded.done.n) == (4, 12)
    assert (outcomes.expanded.not_done.events, outcomes.expanded.not_done.n) == (1, 11)


def test_plays_compared_and_filters_narrow_the_runs(db: Database) -> None:
    plays = _usage_drop(_stats(db)).plays
    assert [p.title for p in plays] == list(PLAYS)
    enable = plays[2]
    assert (enable.done, enable.not_done) == (9, 15)  # F1–F6, N1, N2 and Y
    sustained = enable.outcomes.sustained
    assert (sustained.done.events, sustained.done.n) == (8, 8)
    assert (sustained.not_done.events, sustained.not_done.n) == (0, 14)
    assert sustained.done.n < MIN_RUNS
    assert sustained.difference is None

    narrowed = _read(db, playbook="usage-drop", segment=Segment.SMB)
    assert [p.key for p in narrowed.playbooks] == ["usage-drop"]
    effect = narrowed.playbooks[0]
    assert (effect.runs, effect.dropped) == (1, 1)
    assert effect.outcomes.sustained.difference is None
    # Every configured playbook stays known, so an answer can list them.
    assert ("red-health", "Health turned red") in narrowed.known


def test_a_book_without_runs_lists_the_configured_playbooks_empty(db: Database) -> None:
    stats_ = _read(db)
    assert [p.key for p in stats_.playbooks] == [p.key for p in CONFIG.playbooks]
    assert all(p.runs == 0 and p.outcomes.sustained.done.n == 0 for p in stats_.playbooks)


# --- the demo book ------------------------------------------------------------------------


def test_the_demo_history_shows_real_results(demo: Database) -> None:
    """`playbooks stats` on the demo: enough finished and unfinished runs for differences."""
    with demo.reading() as session:
        stats_ = playbook_effectiveness(session, as_of=DEMO_AS_OF, config=demo_config())
    effects = {effect.key: effect for effect in stats_.playbooks}
    assert sum(1 for effect in effects.values() if effect.runs >= 100) >= 4
    usage = effects["usage-drop"]
    share = usage.finished_share
    assert share is not None and 0.5 <= share <= 0.8
    for comparison in (usage.outcomes.recovered, usage.outcomes.sustained):
        assert min(comparison.done.n, comparison.not_done.n) >= 5 * MIN_RUNS
        change = comparison.difference
        assert change is not None
        assert change.ci_low < change.estimate < change.ci_high
        for rate in (comparison.done, comparison.not_done):
            assert rate.share is not None and 0.15 < rate.share < 0.95
    # A spike that fades counts at 30 days, not at 90: sustained is the rarer outcome.
    recovered, sustained = usage.outcomes.recovered, usage.outcomes.sustained
    assert sustained.done.events / sustained.done.n < recovered.done.events / recovered.done.n
    assert usage.outcomes.renewed.difference is not None
    assert [play.position for play in usage.plays] == [1, 2, 3]


def test_the_demo_runs_agree_with_the_stored_data(demo: Database) -> None:
    """Runs fire where the stored data fires their trigger, and the team's open runs show."""
    with demo.reading() as session:
        runs = session.scalars(select(PlaybookRun).order_by(PlaybookRun.id)).all()
        assert runs
        assert max(run.triggered_at for run in runs) < _instant(DEMO_AS_OF, 0)
        owners = {row[0]: row[1] for row in session.execute(select(Account.id, Account.owner_id))}
        assert all(run.owner_id == owners[run.account_id] for run in runs)
        for run in runs:
            statuses = {play.status for play in run.plays}
            if run.status is PlaybookRunStatus.COMPLETED:
                assert PlayStatus.TODO not in statuses and run.closed_at is not None
            elif run.status is PlaybookRunStatus.DROPPED:
                assert PlayStatus.TODO in statuses and run.note
            else:
                assert run.open_key == f"{run.playbook}:{run.account_id}"
            assert all(p.note for p in run.plays if p.status is PlayStatus.SKIPPED)

        # Usage-drop runs start where the usage-drop signal flags the stored usage.
        drops = [run for run in runs if run.playbook == "usage-drop"][::40]
        for run in drops:
            day = run.triggered_at.date()
            measured = usage_drops(session, day, demo_config(), [run.account_id])
            assert bool(measured.loc[run.account_id, "flagged"])
            change = float(measured.loc[run.account_id, "change"])
            assert -change == pytest.approx(run.trigger_details["drop"], abs=1e-3)

        # Detractor runs start from stored detractor answers, when they arrived.
        detractors = [run for run in runs if run.playbook == "detractor-recovery"][::40]
        for run in detractors:
            answer = session.scalars(
                select(SurveyResponse).where(
                    SurveyResponse.account_id == run.account_id,
                    SurveyResponse.received_at == run.triggered_at,
                )
            ).one()
            assert band_of(answer.kind, answer.score) is AnswerBand.DETRACTOR

        # The demo team has open runs, some with plays overdue; Acme's detractor among them.
        now = _instant(DEMO_AS_OF, 9)
        team: dict[int | None, str | None] = {
            row[0]: row[1]
            for row in session.execute(
                select(TeamMember.id, TeamMember.slack_user_id).where(
                    TeamMember.slack_user_id.like("U0CSM%")
                )
            )
        }
        open_runs = [run for run in runs if run.status is PlaybookRunStatus.OPEN]
        assert {team.get(run.owner_id) for run in open_runs} >= {f"U0CSM{n}" for n in range(1, 9)}
        acme = session.scalars(select(Account).where(Account.external_id == "ACME")).one()
        [acme_run] = [
            run
            for run in open_runs
            if run.account_id == acme.id and run.playbook == "detractor-recovery"
        ]
        assert acme_run.trigger_details["score"] == ACME_NPS_SCORE  # the answer of 5 days ago
        assert acme_run.plays[0].status is PlayStatus.DONE
        assert any(p.status is PlayStatus.TODO and p.due_at <= now for p in acme_run.plays)

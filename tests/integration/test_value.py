"""Value and advocacy on SQLite and PostgreSQL: importing success plans and advocacy (all
or nothing), the `value` query, recording advocacy on a follow-up, the stages of `kpis`
and overdue promises in digests, each on a small book built by hand whose answers are
known; and the demo book's `value`, `kpis` and digest, which must show real values.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.inbound import Actor, CommandRequest, Platform
from bot.messages.digest import build_digest
from bot.reply import Reply
from metrics_core.accounts.team import Member
from metrics_core.config import Config
from metrics_core.delivery import outbox
from metrics_core.delivery.targets import Target
from metrics_core.digests.facts import digest_facts
from metrics_core.digests.subscriptions import Scope
from metrics_core.followups.work import ALERT, follow_up_view
from metrics_core.importing import ImportFailed, import_csv
from metrics_core.revenue.kpis import kpi_report
from metrics_core.store.db import Database
from metrics_core.store.models import (
    Account,
    ActivityKind,
    AdvocacyEvent,
    AdvocacyKind,
    AnswerBand,
    Delivery,
    DigestCadence,
    DigestScope,
    FollowUp,
    FollowUpStatus,
    HealthSnapshot,
    OutcomeStatus,
    Segment,
    SuccessOutcome,
    SurveyKind,
    SurveyResponse,
    TeamMember,
    TeamRole,
)
from metrics_core.value.advocacy import Recorded, advocacy_counts, record_advocacy
from metrics_core.value.report import value_report
from tests import factories as f
from tests.integration.conftest import DEMO_AS_OF
from tests.routing import router_for

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
D = dt.date


def _csv(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _book(session: Session) -> tuple[TeamMember, TeamMember, Account, Account]:
    """Dana owns Acme (Enterprise), Sam owns Globex (Mid-market)."""
    dana = f.team_member(session, "dana@closeloop.example", name="Dana Whitfield")
    sam = f.team_member(session, "sam@closeloop.example", name="Sam Ortiz")
    acme = f.account(session, owner=dana)
    globex = f.account(
        session, "GLOBEX", "Globex", segment=Segment.MID_MARKET, owner=sam, domain="globex.example"
    )
    return dana, sam, acme, globex


def _count(db: Database, model: type) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- importing ----------------------------------------------------------------------------

PLANS = """\
    external_id,account_external_id,title,owner_email,promised_on,target_date,status,delivered_on,acknowledged_on,note
    SP-1,ACME,Month-end close in 3 days,,2026-01-10,2026-06-30,Delivered,2026-06-20,2026-07-02,
    SP-2,ACME,Roll out to EMEA,SAM@closeloop.example,2026-01-10,2026-10-31,at_risk,,,waiting on SSO
    SP-3,GLOBEX,Board report in an hour,,2026-03-01,2027-01-31,,,,
    """


def test_success_plans_import_and_reimport(db: Database, tmp_path: Path) -> None:
    with db.writing() as session:
        _, sam, acme, _ = _book(session)
    first = import_csv(db.engine, "success_plans", _csv(tmp_path, "plans.csv", PLANS))
    assert (first.inserted, first.updated) == (3, 0)
    with db.reading() as session:
        rows = {r.external_id: r for r in session.scalars(select(SuccessOutcome))}
        assert rows["SP-1"].status is OutcomeStatus.DELIVERED
        assert (rows["SP-1"].delivered_on, rows["SP-1"].acknowledged_on) == (
            D(2026, 6, 20),
            D(2026, 7, 2),
        )
        assert rows["SP-2"].owner_id == sam.id and rows["SP-2"].note == "waiting on SSO"
        assert rows["SP-3"].status is OutcomeStatus.ON_TRACK  # the default
        assert rows["SP-3"].owner_id is None  # the account's owner answers for it
        assert rows["SP-1"].account_id == acme.id
    again = import_csv(db.engine, "success_plans", _csv(tmp_path, "plans.csv", PLANS))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    delivered = PLANS.replace("at_risk,,,waiting", "delivered,2026-11-02,,waiting")
    changed = import_csv(db.engine, "success_plans", _csv(tmp_path, "plans.csv", delivered))
    assert (changed.inserted, changed.updated) == (0, 1)


def test_a_bad_success_plan_file_names_each_problem_and_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    with db.writing() as session:
        _book(session)
    bad = _csv(
        tmp_path,
        "bad.csv",
        """\
        external_id,account_external_id,title,owner_email,promised_on,target_date,status,delivered_on,acknowledged_on
        SP-1,ACME,Good row,,2026-01-10,2026-06-30,on_track,,
        SP-2,ACME,Due before promised,,2026-01-10,2025-06-30,on_track,,
        SP-3,ACME,Delivered without a date,,2026-01-10,2026-06-30,delivered,,
        SP-4,ACME,Dated but open,,2026-01-10,2026-06-30,at_risk,2026-05-01,
        SP-5,NOPE,Unknown account,nobody@closeloop.example,2026-01-10,2026-06-30,on_track,,
        SP-6,ACME,Acknowledged first,,2026-01-10,2026-06-30,delivered,2026-06-01,2026-05-01
        SP-7,ACME,Bad status,,2026-01-10,2026-06-30,finished,2026-06-01,
        SP-1,ACME,Twice,,2026-01-10,2026-06-30,on_track,,
        """,
    )
    with pytest.raises(ImportFailed) as failed:
        import_csv(db.engine, "success_plans", bad)
    shown = [str(problem) for problem in failed.value.problems]
    assert shown == [
        "bad.csv:3: column 'target_date': '2025-06-30' is before promised_on '2026-01-10'",
        "bad.csv:4: column 'delivered_on': a delivered outcome needs the day it was delivered",
        "bad.csv:5: column 'delivered_on': is set but status is 'at_risk'; only a delivered "
        "outcome has it",
        "bad.csv:6: column 'account_external_id': account 'NOPE' is not in the database; "
        "import it with `closeloop import accounts` first",
        "bad.csv:6: column 'owner_email': 'nobody@closeloop.example' is not a team member; "
        "import it with `closeloop import team` first",
        "bad.csv:7: column 'acknowledged_on': '2026-05-01' is before delivered_on '2026-06-01'",
        "bad.csv:8: column 'status': 'finished' is not one of: on_track, at_risk, delivered, "
        "missed",
        "bad.csv:9: column 'external_id': duplicate: 'SP-1' is also on line 2",
    ]
    assert _count(db, SuccessOutcome) == 0  # the good row was not written either


def test_dates_without_a_status_column_are_refused(db: Database, tmp_path: Path) -> None:
    with db.writing() as session:
        _book(session)
    file = _csv(
        tmp_path,
        "dates.csv",
        """\
        external_id,account_external_id,title,promised_on,target_date,delivered_on
        SP-1,ACME,Close faster,2026-01-10,2026-06-30,2026-06-01
        """,
    )
    with pytest.raises(ImportFailed) as failed:
        import_csv(db.engine, "success_plans", file)
    assert str(failed.value.problems[0]).startswith(
        "dates.csv:1: delivered_on need the status column in the same file"
    )


def test_advocacy_import_and_its_refusals(db: Database, tmp_path: Path) -> None:
    with db.writing() as session:
        dana, _, acme, _ = _book(session)
    good = """\
        external_id,account_external_id,kind,occurred_on,csm_email,note
        ADV-1,ACME,Case_Study,2026-09-01,dana@closeloop.example,Published on the blog
        ADV-2,GLOBEX,review,2026-10-12,,
        """
    result = import_csv(db.engine, "advocacy", _csv(tmp_path, "advocacy.csv", good))
    assert result.inserted == 2
    with db.reading() as session:
        first = session.scalars(
            select(AdvocacyEvent).where(AdvocacyEvent.external_id == "ADV-1")
        ).one()
        assert (first.kind, first.team_member_id, first.account_id) == (
            AdvocacyKind.CASE_STUDY,
            dana.id,
            acme.id,
        )
    bad = _csv(
        tmp_path,
        "bad.csv",
        """\
        external_id,account_external_id,kind,occurred_on,csm_email
        ADV-3,ACME,referral,2026-10-01,
        follow-up:7:referral,ACME,referral,2026-10-01,
        ADV-4,ACME,tweet,2026-10-01,
        ADV-5,ACME,review,yesterday,ghost@closeloop.example
        """,
    )
    with pytest.raises(ImportFailed) as failed:
        import_csv(db.engine, "advocacy", bad)
    shown = [str(problem) for problem in failed.value.problems]
    assert shown == [
        "bad.csv:3: column 'external_id': 'follow-up:7:referral' starts with 'follow-up:', "
        "which is kept for acts recorded in chat; use an id of your own",
        "bad.csv:4: column 'kind': 'tweet' is not one of: referral, review, reference_call, "
        "case_study",
        "bad.csv:5: column 'occurred_on': 'yesterday' is not a date (YYYY-MM-DD)",
        "bad.csv:5: column 'csm_email': 'ghost@closeloop.example' is not a team member; "
        "import it with `closeloop import team` first",
    ]
    assert _count(db, AdvocacyEvent) == 2  # ADV-3 was good, and is not written either


# --- the value query ------------------------------------------------------------------------


def _outcome(
    session: Session,
    account: Account,
    key: str,
    target: dt.date,
    status: OutcomeStatus = OutcomeStatus.ON_TRACK,
    *,
    delivered: dt.date | None = None,
    acknowledged: dt.date | None = None,
    owner: TeamMember | None = None,
) -> None:
    session.add(
        SuccessOutcome(
            external_id=key,
            account_id=account.id,
            title=f"Outcome {key}",
            owner_id=owner.id if owner else None,
            promised_on=D(2026, 1, 5),
            target_date=target,
            status=status,
            delivered_on=delivered,
            acknowledged_on=acknowledged,
        )
    )


def _act(
    session: Session,
    account: Account,
    key: str,
    kind: AdvocacyKind,
    on: dt.date,
    by: TeamMember | None = None,
) -> None:
    session.add(
        AdvocacyEvent(
            external_id=key,
            account_id=account.id,
            kind=kind,
            occurred_on=on,
            team_member_id=by.id if by else None,
        )
    )


def _plans(session: Session) -> tuple[TeamMember, TeamMember, Account, Account]:
    """Acme: one overdue (Sam owns it), one missed, one open, four delivered (three in Q3,
    two of those acknowledged, one late). Globex: one overdue, Sam's as account owner."""
    dana, sam, acme, globex = _book(session)
    _outcome(session, acme, "A1", D(2026, 10, 30), OutcomeStatus.AT_RISK, owner=sam)
    _outcome(session, acme, "A2", D(2026, 9, 1), OutcomeStatus.MISSED)
    _outcome(session, acme, "A3", D(2027, 3, 1))
    _outcome(session, acme, "A4", TODAY)  # due today: not late yet
    for key, target, delivered, acknowledged in (
        ("A5", D(2026, 7, 31), D(2026, 7, 20), D(2026, 8, 1)),
        ("A6", D(2026, 8, 31), D(2026, 8, 30), D(2026, 9, 10)),
        ("A7", D(2026, 8, 31), D(2026, 9, 20), None),
        ("A8", D(2026, 3, 31), D(2026, 3, 1), D(2026, 3, 2)),
    ):
        _outcome(
            session,
            acme,
            key,
            target,
            OutcomeStatus.DELIVERED,
            delivered=delivered,
            acknowledged=acknowledged,
        )
    _outcome(session, globex, "G1", D(2026, 11, 1))
    _act(session, acme, "X1", AdvocacyKind.REFERRAL, D(2026, 7, 1), by=sam)
    _act(session, acme, "X2", AdvocacyKind.CASE_STUDY, D(2026, 9, 30))  # credited to Dana
    _act(session, globex, "X3", AdvocacyKind.REVIEW, D(2026, 8, 15))  # credited to Sam
    _act(session, globex, "X4", AdvocacyKind.REVIEW, D(2026, 10, 1))  # after Q3
    return dana, sam, acme, globex


def test_the_portfolio_value_counts_what_was_promised_delivered_and_acknowledged(
    db: Database,
) -> None:
    with db.writing() as session:
        _plans(session)
    with db.reading() as session:
        report = value_report(
            session,
            account_text=None,
            segment=None,
            start=D(2026, 7, 1),
            end=D(2026, 10, 1),
            today=TODAY,
        )
    value = report.portfolio
    assert value is not None
    summary = value.summary
    assert (summary.promised, summary.delivered, summary.overdue, summary.open) == (9, 4, 3, 2)
    assert [(p.external_id, p.days_overdue) for p in value.overdue] == [
        ("A2", 80),
        ("A1", 21),
        ("G1", 19),
    ]
    by_owner = {row.owner: (row.overdue, row.accounts, row.oldest_days) for row in value.by_owner}
    assert by_owner == {"Sam Ortiz": (2, 2, 21), "Dana Whitfield": (1, 1, 80)}
    # Delivered in Q3: A5, A6 (both acknowledged, on time) and A7 (late, not acknowledged).
    assert (value.acknowledged.events, value.acknowledged.n) == (2, 3)
    assert (value.on_time.events, value.on_time.n) == (2, 3)
    assert value.acknowledged.ci_low is None  # three deliveries are too few for an interval
    assert value.accounts == 2
    advocacy = value.advocacy
    assert advocacy.total.total == 3  # X4 fell after the period
    assert {t.label: t.total for t in advocacy.by_csm} == {"Sam Ortiz": 2, "Dana Whitfield": 1}
    assert {t.label: t.total for t in advocacy.by_segment} == {
        "Enterprise": 2,
        "Mid-market": 1,
        "SMB": 0,
    }
    with db.reading() as session:
        enterprise = advocacy_counts(
            session, D(2026, 7, 1), D(2026, 10, 1), segment=Segment.ENTERPRISE
        )
        assert (enterprise.total.of(AdvocacyKind.REFERRAL), enterprise.total.total) == (1, 2)
        assert [t.label for t in enterprise.by_segment] == ["Enterprise"]


def test_an_accounts_value_lists_its_plan_overdue_first(db: Database) -> None:
    with db.writing() as session:
        _plans(session)
    with db.reading() as session:
        report = value_report(
            session, account_text="acme", segment=None, start=D(2026, 1, 1), end=TODAY, today=TODAY
        )
    value = report.account
    assert value is not None and value.account.name == "Acme Corp"
    assert [p.external_id for p in value.promises][:3] == ["A2", "A1", "A4"]
    assert value.promises[0].owner == "Dana Whitfield"  # nobody named: the account's owner
    assert value.promises[1].owner == "Sam Ortiz"
    assert (value.summary.delivered, value.summary.on_time, value.summary.acknowledged) == (4, 3, 3)
    assert [act.kind for act in value.advocacy] == [AdvocacyKind.CASE_STUDY, AdvocacyKind.REFERRAL]
    assert value.advocacy_total.total == 2


# --- recording advocacy on a follow-up ------------------------------------------------------


def _follow_up(session: Session, account: Account | None, score: int, key: str) -> int:
    answer = SurveyResponse(
        provider="test",
        provider_response_id=key,
        kind=SurveyKind.NPS,
        score=score,
        account_id=account.id if account else None,
        submitted_at=NOW,
        received_at=NOW,
        updated_at=NOW,
    )
    session.add(answer)
    session.flush()
    band = AnswerBand.PROMOTER if score >= 9 else AnswerBand.DETRACTOR
    follow_up = FollowUp(
        survey_response_id=answer.id,
        account_id=account.id if account else None,
        status=FollowUpStatus.CLOSED,
        band=band,
        created_at=NOW,
    )
    session.add(follow_up)
    session.flush()
    return follow_up.id


def test_advocacy_is_recorded_once_per_follow_up_and_kind_and_edits_the_alert(
    db: Database,
) -> None:
    with db.writing() as session:
        dana, sam, acme, _ = _book(session)
        promoter = _follow_up(session, acme, 10, "r-1")
        detractor = _follow_up(session, acme, 3, "r-2")
        unmatched = _follow_up(session, None, 9, "r-3")
        outbox.enqueue(
            session,
            key=f"{ALERT}:{promoter}",
            kind=ALERT,
            target=Target("slack", "C0ALERTS"),
            follow_up_id=promoter,
            account_id=acme.id,
            now=NOW,
        )
    by_dana = Member(dana.id, dana.name, TeamRole.CSM)
    by_sam = Member(sam.id, sam.name, TeamRole.CSM)

    def record(follow_up: int, member: Member, kind: str) -> Recorded:
        with db.writing() as session:
            return record_advocacy(
                session, follow_up_id=follow_up, member=member, kind=kind, note=" Intro ", now=NOW
            ).outcome

    with db.reading() as session:
        version = session.scalars(select(Delivery.version)).one()
    assert record(promoter, by_dana, "referral") is Recorded.DONE
    with db.writing() as session:
        again = record_advocacy(
            session, follow_up_id=promoter, member=by_sam, kind="REFERRAL", note=None, now=NOW
        )
    assert (again.outcome, again.recorded_by, again.recorded_on) == (
        Recorded.ALREADY,
        "Dana Whitfield",
        TODAY,
    )
    assert record(promoter, by_sam, "case_study") is Recorded.DONE
    assert record(detractor, by_dana, "review") is Recorded.NOT_A_PROMOTER
    assert record(unmatched, by_dana, "review") is Recorded.NO_ACCOUNT
    assert record(promoter + 100, by_dana, "review") is Recorded.NOT_FOUND
    assert record(promoter, by_dana, "tweet") is Recorded.INVALID
    with db.reading() as session:
        events = session.scalars(select(AdvocacyEvent).order_by(AdvocacyEvent.id)).all()
        assert [(e.external_id, e.team_member_id, e.note) for e in events] == [
            (f"follow-up:{promoter}:referral", dana.id, "Intro"),
            (f"follow-up:{promoter}:case_study", sam.id, "Intro"),
        ]
        assert session.scalars(select(Delivery.version)).one() == version + 2
        view = follow_up_view(session, promoter)
        assert view is not None
        assert view.advocacy == (AdvocacyKind.REFERRAL, AdvocacyKind.CASE_STUDY)


# --- kpis by stage and digests --------------------------------------------------------------


def _snapshot(session: Session, account: Account, day: dt.date, score: float, band: str) -> None:
    session.add(
        HealthSnapshot(
            account_id=account.id,
            day=day,
            score=score,
            band=band,
            components={"usage": 50.0, "adoption": score - 10},
        )
    )


def test_kpis_stages_count_the_periods_activities_indicators_and_advocacy(
    db: Database,
) -> None:
    with db.writing() as session:
        dana, sam, acme, globex = _plans(session)
        for n, (kind, by) in enumerate(
            [("call", dana), ("call", sam), ("qbr", dana), ("email", sam), ("email", sam)]
        ):
            f.activity(
                session, acme.id, f"ACT-{n}", f.utc(2026, 8, 3 + n), kind=ActivityKind(kind), by=by
            )
        f.activity(session, acme.id, "ACT-LATE", f.utc(2026, 10, 2), by=dana)  # after Q3
        _snapshot(session, acme, D(2026, 9, 29), 35.0, "red")
        _snapshot(session, globex, D(2026, 9, 29), 75.0, "green")
        _snapshot(session, acme, D(2026, 10, 5), 90.0, "green")  # after Q3: not read
        for n, score in enumerate([10, 9, 9, 7, 2]):
            f.nps(session, acme.id, f"n-{n}", score, f.utc(2026, 9, 1 + n))
    with db.reading() as session:
        report = kpi_report(
            session,
            start=D(2026, 7, 1),
            end=D(2026, 10, 1),
            segment=None,
            today=TODAY,
            config=Config(),
            model=None,
        )
        enterprise = kpi_report(
            session,
            start=D(2026, 7, 1),
            end=D(2026, 10, 1),
            segment=Segment.ENTERPRISE,
            today=TODAY,
            config=Config(),
            model=None,
        )
    assert report.activities is not None and report.leading is not None
    activities = report.activities
    assert (activities.calls, activities.qbrs, activities.trainings, activities.emails) == (
        2,
        1,
        0,
        2,
    )
    assert activities.csms == 2
    leading = report.leading
    assert leading.snapshot_day == D(2026, 9, 29)
    assert (leading.customers, leading.red, leading.average_health) == (2, 1, 55.0)
    assert (leading.adoption, leading.adoption_customers) == (45.0, 2)
    assert (leading.nps.n, leading.nps.promoters, leading.nps.detractors) == (5, 3, 1)
    assert report.advocacy is not None and report.advocacy.total.total == 3
    assert enterprise.leading is not None and enterprise.leading.customers == 1
    assert enterprise.advocacy is not None and enterprise.advocacy.total.total == 2


def _digest(db: Database, scope: Scope) -> Reply:
    with db.reading() as session:
        facts = digest_facts(
            session,
            cadence=DigestCadence.DAILY,
            scope=scope,
            as_of=TODAY,
            window_end=NOW,
            config=Config(),
            now=NOW,
            previous=None,
        )
    return build_digest(facts, config=Config(), now=NOW).reply


def test_digests_list_overdue_promises_in_their_scope(db: Database) -> None:
    with db.writing() as session:
        _, _, acme, globex = _plans(session)
        _snapshot(session, acme, TODAY, 60.0, "yellow")
        _snapshot(session, globex, TODAY, 75.0, "green")
        manager = f.team_member(session, "mia@closeloop.example", name="Mia Manager")
        other = f.account(session, "INITECH", "Initech", owner=manager, domain="initech.example")
        _outcome(session, other, "I1", D(2027, 1, 31))
        _snapshot(session, other, TODAY, 80.0, "green")
    everyone = _digest(db, Scope(DigestScope.PORTFOLIO))
    (table,) = [t for t in everyone.tables if (t.title or "").startswith("Promises overdue")]
    assert table.title == "Promises overdue, not delivered (3)"
    assert table.rows == (
        ("Acme Corp", "Outcome A2", "Dana Whitfield", "80 days"),
        ("Acme Corp", "Outcome A1", "Sam Ortiz", "21 days"),
        ("Globex", "Outcome G1", "Sam Ortiz", "19 days"),
    )
    mid = _digest(db, Scope(DigestScope.SEGMENT, segment=Segment.MID_MARKET))
    assert [t.rows for t in mid.tables if (t.title or "").startswith("Promises")] == [
        (("Globex", "Outcome G1", "Sam Ortiz", "19 days"),)
    ]
    # A book whose plans are all on time says so among the quiet lines.
    kept = _digest(db, Scope(DigestScope.OWNER, owner_id=manager.id))
    assert not any((t.title or "").startswith("Promises") for t in kept.tables)
    assert "no promises overdue" in kept.notes[0]


# --- the demo -------------------------------------------------------------------------------


async def test_the_demo_shows_real_value_and_advocacy(demo: Database) -> None:
    router = router_for(demo, today=DEMO_AS_OF)
    me = Actor(Platform.CONSOLE, user_id="U0CSM1")
    acme = await router.handle(CommandRequest.parse("value acme", me))
    plan = next(t for t in acme.tables if t.title == "Success plan (overdue first)").rows
    assert plan[0][0] == "Roll out to the EMEA support team" and plan[0][4] == "21 days"
    assert any(row[5].startswith("yes, ") for row in plan)

    portfolio = await router.handle(CommandRequest.parse("value", me))
    metrics = {m.label: m.value for m in portfolio.metrics}
    assert int(metrics["Promises overdue"]) > 5
    acknowledged = int(metrics["Value acknowledged"].rstrip(" %"))
    on_time = int(metrics["Delivered on time"].rstrip(" %"))
    assert 55 <= acknowledged <= 90 and 60 <= on_time <= 95  # most, not all
    assert int(metrics["Advocacy"]) >= 10
    with demo.reading() as session:
        linked = session.scalar(
            select(func.count())
            .select_from(AdvocacyEvent)
            .where(AdvocacyEvent.follow_up_id.is_not(None))
        )
        promoters = session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.kind == SurveyKind.NPS, SurveyResponse.score >= 9)
        )
    assert linked and linked >= 1  # some were recorded on the demo team's follow-ups
    assert promoters and int(metrics["Advocacy"]) < promoters * 0.2  # a small rate

    # A past quarter, so no churn model is trained for the look-ahead.
    kpis = await router.handle(CommandRequest.parse("kpis last quarter", me))
    labels = [fact.label for fact in kpis.facts]
    assert labels[:3] == ["Activities", "Leading indicators", "Lagging outcomes"]
    with demo.reading() as session:
        in_q3 = session.scalar(
            select(func.count())
            .select_from(AdvocacyEvent)
            .where(AdvocacyEvent.occurred_on.between(D(2026, 7, 1), D(2026, 9, 30)))
        )
    assert in_q3
    lagging = {fact.label: fact.value for fact in kpis.facts}["Lagging outcomes"]
    assert lagging.endswith(f"; {in_q3} act{'' if in_q3 == 1 else 's'} of advocacy")

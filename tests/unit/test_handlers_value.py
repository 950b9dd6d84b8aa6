"""`value`, the Record advocacy button and the stages of `kpis`, on a fake reader.

Each test gives the query's result by hand and checks what a CSM or a CS leader reads,
and what the handler asked for. The queries run against real databases in
tests/integration/test_value.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.actions import ADVOCACY
from bot.clicks import Answer, Delivery, ShowForm
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.messages.alerts import survey_alert
from bot.reply import Outcome, Reply, Tone, Visibility
from bot.router import Router
from metrics_core.accounts.lookup import AccountRef, Resolution
from metrics_core.accounts.team import Member, member_by_chat_id
from metrics_core.config import Config
from metrics_core.delivery.alert_facts import SurveyAlertFacts
from metrics_core.proportions import Rate
from metrics_core.revenue.kpis import Activities, Leading, kpi_report
from metrics_core.store.models import (
    AdvocacyKind,
    AnswerBand,
    FollowUpStatus,
    LifecycleStage,
    OutcomeStatus,
    Segment,
    TeamRole,
)
from metrics_core.surveys.nps import nps
from metrics_core.value.advocacy import (
    Act,
    AdvocacyCounts,
    AdvocacyRecord,
    Recorded,
    Tally,
    record_advocacy,
)
from metrics_core.value.outcomes import Promise, summarise
from metrics_core.value.report import (
    AccountValue,
    OwnerOverdue,
    PortfolioValue,
    ValueReport,
    value_report,
)
from tests.fakes.reader import FakeReader
from tests.routing import offline_context
from tests.unit.test_alert_messages import VIEW
from tests.unit.test_handlers_kpis import REPORT

TODAY = dt.date(2026, 11, 20)
ME = Actor(Platform.SLACK, user_id="U0CSM1")
DANA = Member(1, "Dana Whitfield", TeamRole.CSM)
ACME = AccountRef(
    1,
    "ACME",
    "Acme Corp",
    "acme.example",
    Segment.ENTERPRISE,
    1200,
    LifecycleStage.MATURE,
    "Dana Whitfield",
)


def _promise(title: str, target: dt.date, status: OutcomeStatus, **dates: dt.date) -> Promise:
    return Promise(
        external_id=title,
        account="Acme Corp",
        account_external_id="ACME",
        segment=Segment.ENTERPRISE,
        title=title,
        owner="Dana Whitfield",
        promised_on=dt.date(2026, 1, 10),
        target_date=target,
        status=status,
        delivered_on=dates.get("delivered"),
        acknowledged_on=dates.get("acknowledged"),
        as_of=TODAY,
    )


LATE = _promise("Roll out to EMEA", dt.date(2026, 10, 30), OutcomeStatus.AT_RISK)
AHEAD = _promise("Executive dashboard", dt.date(2027, 2, 1), OutcomeStatus.ON_TRACK)
KEPT = _promise(
    "Month-end close in 3 days",
    dt.date(2026, 6, 30),
    OutcomeStatus.DELIVERED,
    delivered=dt.date(2026, 6, 20),
    acknowledged=dt.date(2026, 7, 2),
)
SLIPPED = _promise(
    "SSO for every unit",
    dt.date(2026, 5, 1),
    OutcomeStatus.DELIVERED,
    delivered=dt.date(2026, 5, 13),
)
PLAN = (LATE, AHEAD, KEPT, SLIPPED)


def _tally(
    label: str, referrals: int = 0, reviews: int = 0, calls: int = 0, cases: int = 0
) -> Tally:
    return Tally(label, (referrals, reviews, calls, cases))


ADVOCACY_COUNTS = AdvocacyCounts(
    start=dt.date(2025, 11, 21),
    end=dt.date(2026, 11, 21),
    total=_tally("all", referrals=3, cases=1),
    by_csm=(_tally("Dana Whitfield", referrals=2, cases=1), _tally("Sam Ortiz", referrals=1)),
    by_segment=(
        _tally("Enterprise", referrals=2, cases=1),
        _tally("Mid-market", referrals=1),
        _tally("SMB"),
    ),
)


async def _ask(text: str, reader: FakeReader) -> Reply:
    router = Router(offline_context(reader, today=TODAY))
    return await router.handle(CommandRequest.parse(text, ME))


def _rows(reply: Reply, title: str) -> list[tuple[str, ...]]:
    (table,) = [t for t in reply.tables if (t.title or "").startswith(title)]
    return list(table.rows)


def _facts(reply: Reply) -> dict[str, str]:
    return {fact.label: fact.value for fact in reply.facts}


# --- value <account> ----------------------------------------------------------------------


def test_overdue_means_past_the_target_and_not_delivered() -> None:
    assert (LATE.overdue, LATE.days_overdue) == (True, 21)
    assert not AHEAD.overdue and AHEAD.days_overdue is None
    assert not SLIPPED.overdue and not SLIPPED.on_time and not SLIPPED.acknowledged
    assert KEPT.on_time and KEPT.acknowledged
    due_today = _promise("Due today", TODAY, OutcomeStatus.ON_TRACK)
    assert not due_today.overdue  # due today is not late yet
    missed = _promise("Written off", dt.date(2026, 11, 1), OutcomeStatus.MISSED)
    assert missed.days_overdue == 19
    assert summarise((*PLAN, missed)) == dataclasses.replace(summarise(PLAN), promised=5, overdue=2)


async def test_an_accounts_plan_overdue_first_with_what_the_customer_acknowledged() -> None:
    report = ValueReport(
        Resolution(match=ACME),
        account=AccountValue(
            account=ACME,
            promises=PLAN,
            summary=summarise(PLAN),
            advocacy=(
                Act(AdvocacyKind.REFERRAL, dt.date(2026, 9, 3), "Dana Whitfield", None, True),
            ),
            advocacy_total=_tally("all", referrals=1),
        ),
    )
    reader = FakeReader({value_report: report})
    reply = await _ask("value acme", reader)

    (asked,) = reader.asked
    assert asked.arguments == {
        "account_text": "acme",
        "segment": None,
        "start": dt.date(2025, 11, 21),
        "end": dt.date(2026, 11, 21),
        "today": TODAY,
    }
    assert reply.heading == "Acme Corp — value"
    assert [(m.label, m.value, m.detail) for m in reply.metrics] == [
        ("Delivered", "2 of 4", "1 on time"),
        ("Acknowledged", "1 of 2", "by the customer, of those delivered"),
        ("Overdue", "1", "1 still ahead of target"),
    ]
    assert reply.metrics[2].tone is Tone.BAD
    plan = _rows(reply, "Success plan")
    assert plan[0] == (
        "Roll out to EMEA",
        "Dana Whitfield",
        "2026-10-30",
        "at risk",
        "21 days",
        "—",
    )
    assert plan[2][3:] == ("delivered 2026-06-20 (on time)", "—", "yes, 2026-07-02")
    assert plan[3][3:] == ("delivered 2026-05-13 (12 days late)", "—", "not yet")
    assert _rows(reply, "Advocacy") == [
        ("2026-09-03", "Referral (on a follow-up)", "Dana Whitfield", "—")
    ]
    assert _facts(reply)["Advocacy, ever"] == "1 referral"


async def test_an_account_without_a_plan_says_how_to_record_one() -> None:
    empty = AccountValue(ACME, (), summarise(()), (), _tally("all"))
    reply = await _ask(
        "value acme", FakeReader({value_report: ValueReport(Resolution(ACME), empty)})
    )
    assert reply.paragraphs[0].startswith("No success plan recorded for Acme Corp.")
    assert "closeloop import success_plans" in reply.paragraphs[0]
    assert _facts(reply)["Advocacy, ever"] == "none"


async def test_an_account_nobody_has_is_answered_like_every_account_command() -> None:
    reply = await _ask("value nowhere", FakeReader({value_report: ValueReport(Resolution(None))}))
    assert reply.heading == "No account matches “nowhere”"
    assert reply.outcome is Outcome.PROBLEM


# --- value (the portfolio) ----------------------------------------------------------------


def _portfolio(**changes: object) -> PortfolioValue:
    value = PortfolioValue(
        as_of=TODAY,
        start=dt.date(2026, 7, 1),
        end=dt.date(2026, 10, 1),
        segment=Segment.ENTERPRISE,
        accounts=3,
        summary=summarise(PLAN),
        acknowledged=Rate.of(3, 6),
        on_time=Rate.of(5, 6),
        overdue=(LATE,),
        by_owner=(OwnerOverdue("Dana Whitfield", 1, 1, 21),),
        advocacy=ADVOCACY_COUNTS,
    )
    return dataclasses.replace(value, **changes)  # type: ignore[arg-type]


async def test_the_portfolio_names_who_owes_what_and_how_much_value_was_acknowledged() -> None:
    reader = FakeReader({value_report: ValueReport(None, portfolio=_portfolio())})
    reply = await _ask("value enterprise 2026-q3", reader)

    (asked,) = reader.asked
    assert asked.arguments["account_text"] is None
    assert asked.arguments["segment"] is Segment.ENTERPRISE
    assert (asked.arguments["start"], asked.arguments["end"]) == (
        dt.date(2026, 7, 1),
        dt.date(2026, 10, 1),
    )
    assert reply.heading == "Value — Enterprise, Q3 2026"
    metrics = {m.label: (m.value, m.detail) for m in reply.metrics}
    assert metrics["Promises overdue"] == ("1", "of 4 promised to 3 accounts")
    assert metrics["Value acknowledged"] == ("50 %", "3 of 6 delivered in the period")
    # Agresti–Coull for 3 of 6, by hand: p̃ = 4.92/9.84 = 0.5, half-width 1.96·√(0.25/9.84).
    assert _facts(reply)["Acknowledged value"] == (
        "3 of 6 delivered in the period (50 %, 95 % CI 19–81 %)"
    )
    assert _facts(reply)["Advocacy by kind"] == "3 referrals, 1 case study"
    assert _facts(reply)["Advocacy by segment"] == "Enterprise 3, Mid-market 1, SMB 0"
    assert _rows(reply, "Overdue promises by owner") == [("Dana Whitfield", "1", "1", "21 days")]
    assert _rows(reply, "Most overdue promises") == [
        ("Acme Corp", "Roll out to EMEA", "Dana Whitfield", "2026-10-30", "21 days")
    ]
    assert _rows(reply, "Advocacy by CSM") == [
        ("Dana Whitfield", "2", "0", "0", "1", "3"),
        ("Sam Ortiz", "1", "0", "0", "0", "1"),
    ]


async def test_a_share_of_a_few_deliveries_says_so_instead_of_an_interval() -> None:
    few = _portfolio(acknowledged=Rate.of(2, 3), on_time=Rate.of(0, 0))
    reply = await _ask("value", FakeReader({value_report: ValueReport(None, portfolio=few)}))
    facts = _facts(reply)
    assert facts["Acknowledged value"] == (
        "2 of 3 delivered in the period (67 %, too few for an interval (fewer than 5))"
    )
    assert facts["Delivered on time"] == "nothing delivered in the period"


async def test_a_portfolio_without_plans_or_advocacy_says_how_to_record_them() -> None:
    nothing = _portfolio(
        summary=summarise(()),
        overdue=(),
        by_owner=(),
        advocacy=dataclasses.replace(ADVOCACY_COUNTS, total=_tally("all"), by_csm=()),
    )
    reply = await _ask("value", FakeReader({value_report: ValueReport(None, portfolio=nothing)}))
    assert reply.paragraphs[0] == "No success plans or advocacy recorded for Enterprise yet."
    assert "closeloop import advocacy" in reply.paragraphs[1]


async def test_a_mistyped_period_reads_nothing() -> None:
    reader = FakeReader()
    reply = await _ask("value 2026-13", reader)
    assert reply.outcome is Outcome.PROBLEM and reader.asked == []


# --- Record advocacy ----------------------------------------------------------------------

PROMOTER = dataclasses.replace(
    VIEW, band=AnswerBand.PROMOTER, score=10, status=FollowUpStatus.CLOSED, comment=None
)


def _labels(reply: Reply) -> list[str]:
    return [action.label for action in reply.actions]


def test_a_promoters_alert_offers_to_record_advocacy_even_once_closed() -> None:
    reply = survey_alert(SurveyAlertFacts(PROMOTER, None), Config())
    assert _labels(reply) == ["Record advocacy", "Account details"]
    (record,) = [a for a in reply.actions if a.action_id == ADVOCACY]
    assert record.payload == {"follow_up": "7"}
    assert record.form is not None
    kinds = record.form.fields[0]
    assert [c.value for c in kinds.choices] == [k.value for k in AdvocacyKind]
    assert "Advocacy recorded" not in _facts(reply)
    # A detractor's alert, or a promoter nobody matched to an account, has no such button.
    assert "Record advocacy" not in _labels(survey_alert(SurveyAlertFacts(VIEW, None), Config()))
    unmatched = dataclasses.replace(PROMOTER, account_id=None, account_external_id=None)
    assert "Record advocacy" not in _labels(
        survey_alert(SurveyAlertFacts(unmatched, None), Config())
    )


def test_the_alert_shows_what_was_recorded() -> None:
    recorded = dataclasses.replace(
        PROMOTER, advocacy=(AdvocacyKind.REFERRAL, AdvocacyKind.CASE_STUDY)
    )
    reply = survey_alert(SurveyAlertFacts(recorded, None), Config())
    assert _facts(reply)["Advocacy recorded"] == "Referral, case study"
    assert reply.visibility is Visibility.CHANNEL


def _press(payload: dict[str, str]) -> ActionRequest:
    return ActionRequest(ADVOCACY, payload, ME, "C0ALERTS", clicked_on=Visibility.CHANNEL)


async def test_record_advocacy_asks_what_they_did_then_records_it_once_for_the_presser() -> None:
    done = AdvocacyRecord(Recorded.DONE, 7, AdvocacyKind.REFERRAL, "Acme Corp", "Dana Whitfield")
    reader = FakeReader({member_by_chat_id: DANA, record_advocacy: done})
    router = Router(offline_context(reader, today=TODAY))

    asked = await router.click(_press({"follow_up": "7"}))
    assert isinstance(asked, ShowForm)
    assert [f.name for f in asked.form.fields] == ["advocacy_kind", "advocacy_note"]
    assert reader.asked == []

    payload = {"follow_up": "7", "advocacy_kind": "referral", "advocacy_note": " Intro to Globex "}
    answer = await router.click(_press(payload))
    assert isinstance(answer, Answer)
    assert answer.reply.heading == "Recorded: referral of Acme Corp"
    assert answer.delivery is Delivery.NOTICE  # the alert everyone sees is edited instead
    recorded = reader.asked[-1]
    assert recorded.query is record_advocacy
    assert recorded.arguments["member"] == DANA
    assert (recorded.arguments["follow_up_id"], recorded.arguments["kind"]) == (7, "referral")
    assert recorded.arguments["note"] == " Intro to Globex "


async def test_a_second_record_names_who_recorded_it_first() -> None:
    again = AdvocacyRecord(
        Recorded.ALREADY, 7, AdvocacyKind.CASE_STUDY, "Acme Corp", "Sam Ortiz", dt.date(2026, 11, 2)
    )
    reader = FakeReader({member_by_chat_id: DANA, record_advocacy: again})
    answer = await Router(offline_context(reader, today=TODAY)).submit(
        _press({"follow_up": "7", "advocacy_kind": "case_study"})
    )
    assert (
        answer.reply.heading
        == "Already recorded by Sam Ortiz on 2026-11-02: case study of Acme Corp"
    )


async def test_only_the_cs_team_records_advocacy() -> None:
    reader = FakeReader({member_by_chat_id: None})
    answer = await Router(offline_context(reader, today=TODAY)).submit(
        _press({"follow_up": "7", "advocacy_kind": "review"})
    )
    assert answer.reply.heading == "Only the CS team can take follow-ups"
    assert record_advocacy not in reader.queries()


# --- kpis by stage ------------------------------------------------------------------------

STAGED = dataclasses.replace(
    REPORT,
    activities=Activities(calls=40, qbrs=6, trainings=2, emails=120, csms=4),
    leading=Leading(
        snapshot_day=dt.date(2026, 9, 30),
        customers=40,
        average_health=61.4,
        red=6,
        adoption=57.6,
        adoption_customers=38,
        nps=nps([10] * 12 + [8] * 5 + [3] * 3),
    ),
    advocacy=ADVOCACY_COUNTS,
)


async def test_kpis_read_from_what_the_team_does_to_what_it_earns() -> None:
    reply = await _ask("kpis 2026-q3", FakeReader({kpi_report: STAGED}))
    labels = [fact.label for fact in reply.facts]
    assert labels[:3] == ["Activities", "Leading indicators", "Lagging outcomes"]
    facts = _facts(reply)
    assert facts["Activities"] == (
        "40 calls, 6 QBRs, 2 trainings, 120 emails with customers, by 4 CSMs; "
        "per CSM 10 calls, 2 QBRs, 0 trainings, 30 emails"
    )
    leading = facts["Leading indicators"]
    assert "adoption 58/100 on average (38 customers with feature data)" in leading
    assert "health 61/100 on average, 6 of 40 customers (15.0 %) in the red band" in leading
    # 12 promoters and 3 detractors of 20: NPS +45, with the interval `nps` gives it.
    result = nps([10] * 12 + [8] * 5 + [3] * 3)
    assert f"NPS +45 (95 % CI {result.ci_low:+.0f} to {result.ci_high:+.0f}, n = 20" in leading
    assert facts["Lagging outcomes"] == (
        "GRR 92.0 %; NRR 104.0 %; logo churn 10.0 % (1 of 10 accounts); expansion $120k; "
        "cost to retain 6.0 %; 4 acts of advocacy"
    )
    assert facts["Advocacy"] == ("3 referrals, 1 case study (Enterprise 3, Mid-market 1, SMB 0)")
    # Every number the answer gave before is still there, under its own name.
    assert facts["Starting ARR"] == "$1.0M across 10 accounts"
    assert labels.index("Lagging outcomes") < labels.index("Starting ARR")
    assert _rows(reply, "Advocacy by CSM")[0] == ("Dana Whitfield", "2", "0", "0", "1", "3")


async def test_kpis_without_a_snapshot_or_activities_say_what_is_missing() -> None:
    bare = dataclasses.replace(
        STAGED,
        activities=Activities(0, 0, 0, 0, 0),
        leading=Leading(None, 0, None, 0, None, 0, nps([])),
        advocacy=dataclasses.replace(ADVOCACY_COUNTS, total=_tally("all"), by_csm=()),
    )
    facts = _facts(await _ask("kpis 2026-q3", FakeReader({kpi_report: bare})))
    assert facts["Activities"].startswith("no touchpoints recorded in the period")
    assert facts["Leading indicators"] == (
        "no health snapshot stored for the period, so no adoption or health; "
        "no NPS answers in the period"
    )
    assert facts["Lagging outcomes"].endswith("0 acts of advocacy")
    assert facts["Advocacy"].startswith("none recorded in the period")

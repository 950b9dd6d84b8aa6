"""`nps` and `followups` on a fake reader: each answered from one query's typed result.

Each test gives the query's result by hand and checks what the asker reads, and that the
handler asked one query with the arguments it parsed (scope, period, whose follow-ups).
The queries themselves run against real databases in tests/integration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from bot.actions import PICK
from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import ChartKind, Outcome, Reply, Tone
from bot.router import Router
from metrics_core.accounts.lookup import AccountRef, Resolution
from metrics_core.accounts.team import Member, member_by_chat_id
from metrics_core.config import Config
from metrics_core.followups.closed_loop import (
    ClosedLoop,
    Group,
    LoopStats,
    UnmatchedAnswer,
    UnmatchedQueue,
    closed_loop,
    unmatched_queue,
)
from metrics_core.followups.work import OpenFollowUp, open_follow_ups
from metrics_core.store.models import (
    AnswerBand,
    FollowUpStatus,
    LifecycleStage,
    Segment,
    SurveyKind,
    TeamRole,
)
from metrics_core.surveys.nps import nps
from metrics_core.surveys.report import SurveyReport, SurveyScores, Verbatim, survey_report
from metrics_core.surveys.scores import GroupResult, TrendPoint, ces, csat
from tests.fakes.reader import FakeReader
from tests.routing import offline_context

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)  # what `offline_context` says it is
ME = Actor(Platform.CONSOLE, user_id="U0CSM1")
DANA = Member(1, "Dana Whitfield", TeamRole.CSM, "dana@closeloop.example")


def _account(external_id: str, name: str, account_id: int) -> AccountRef:
    return AccountRef(
        id=account_id,
        external_id=external_id,
        name=name,
        domain=None,
        segment=Segment.SMB,
        seats=10,
        lifecycle_stage=LifecycleStage.MATURE,
        owner_name="Dana Whitfield",
    )


ACME = _account("ACME", "Acme Corp", 1)

LOOP = ClosedLoop(
    sla_hours=24,
    bands=(AnswerBand.DETRACTOR,),
    total=LoopStats(
        follow_ups=3,
        within_sla=2,
        missed=1,
        pending=0,
        open_past_sla=1,
        claimed=3,
        closed=2,
        median_claim_hours=6.0,
        median_close_hours=60.0,
    ),
    by_csm=(Group("Sam Ortiz", LoopStats(1, 0, 1, 0, 1, 1, 0, 30.0, None)),),
    by_segment=(Group("SMB", LoopStats(3, 2, 1, 0, 1, 3, 2, 6.0, 60.0)),),
)

SCORES = SurveyScores(
    nps=nps([10, 10, 9, 9, 10, 3, 0]),
    csat=csat([5, 4, 2]),
    ces=ces([6, 6]),
    trend=(
        TrendPoint(dt.date(2026, 9, 1), nps([])),
        TrendPoint(dt.date(2026, 10, 1), nps([10, 10, 9, 9, 10, 3, 0])),
    ),
    by_segment=(),
    by_csm=(
        GroupResult("Sam Ortiz", nps([3, 0])),
        GroupResult("Dana Whitfield", nps([10, 10, 9, 9, 10])),
    ),
    detractors=(
        Verbatim(
            "Too slow", "Jo Park", "Acme Corp", 3, dt.datetime(2026, 10, 12, 8, tzinfo=dt.UTC)
        ),
        Verbatim("Nobody called", None, None, 0, dt.datetime(2026, 10, 3, 17, tzinfo=dt.UTC)),
    ),
    closed_loop=LOOP,
)


async def _ask(text: str, reader: FakeReader, actor: Actor = ME) -> Reply:
    return await Router(offline_context(reader, today=TODAY)).handle(
        CommandRequest.parse(text, actor)
    )


def _facts(reply: Reply) -> dict[str, str]:
    return {fact.label: fact.value for fact in reply.facts}


def _table(reply: Reply, title: str) -> list[tuple[str, ...]]:
    (table,) = [t for t in reply.tables if t.title == title]
    return list(table.rows)


# nps


async def test_nps_of_a_segment_and_month_reads_once_and_shows_every_score() -> None:
    reader = FakeReader({survey_report: SurveyReport(None, SCORES)})
    reply = await _ask("nps smb 2026-10", reader)

    (asked,) = reader.asked
    assert asked.query is survey_report
    assert asked.arguments["account_text"] is None
    assert asked.arguments["segment"] is Segment.SMB
    assert (asked.arguments["start"], asked.arguments["end"]) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 11, 1),
    )
    assert asked.arguments["now"] == NOW
    assert reply.heading == "NPS — SMB, October 2026"
    assert (reply.metrics[0].label, reply.metrics[0].value) == ("NPS", "+43")
    assert reply.metrics[0].detail is not None and reply.metrics[0].detail.endswith(", n = 7")
    assert reply.metrics[0].tone is Tone.GOOD
    facts = _facts(reply)
    assert facts["Promoters / passives / detractors"] == "5 / 0 / 2"
    assert facts["CES"].startswith("6.0 of 7")
    assert facts["Closed loop"] == (
        "67 % of detractors contacted within 24 h (n = 3), median claim 6.0 h, 1 open past SLA"
    )
    assert _table(reply, "Monthly trend") == [("Sep 2026", "—", "0"), ("Oct 2026", "+43", "7")]
    assert [row[0] for row in _table(reply, "By CSM (worst first)")] == [
        "Sam Ortiz",
        "Dana Whitfield",
    ]
    assert not any(t.title == "By segment (worst first)" for t in reply.tables)
    assert reply.paragraphs == (
        "Latest detractors:",
        "“Too slow” — Jo Park, Acme Corp (3/10, 2026-10-12)",
        "“Nobody called” — anonymous, unmatched (0/10, 2026-10-03)",
    )


async def test_nps_of_everyone_over_the_default_90_days_shows_the_segments() -> None:
    scores = SurveyScores(
        nps=SCORES.nps,
        csat=SCORES.csat,
        ces=SCORES.ces,
        trend=SCORES.trend,
        by_segment=(GroupResult("SMB", nps([3, 0, 10])), GroupResult(None, nps([9]))),
        by_csm=SCORES.by_csm,
        detractors=(),
        closed_loop=LOOP,
    )
    reader = FakeReader({survey_report: SurveyReport(None, scores)})
    reply = await _ask("nps", reader)

    (asked,) = reader.asked
    assert (asked.arguments["start"], asked.arguments["end"]) == (
        dt.date(2026, 8, 23),
        dt.date(2026, 11, 21),
    )
    assert reply.heading == "NPS — all customers, last 90 days"
    segments = _table(reply, "By segment (worst first)")
    assert [row[0] for row in segments] == ["SMB", "unassigned"]
    assert reply.paragraphs == ()


async def test_a_single_month_with_answers_draws_no_chart_beside_its_table() -> None:
    # SCORES has one month with answers and one without: one bar says nothing the
    # headline and the table do not.
    reply = await _ask("nps", FakeReader({survey_report: SurveyReport(None, SCORES)}))
    assert [row[2] for row in _table(reply, "Monthly trend")] == ["0", "7"]
    assert reply.charts == ()


SIX_MONTHS = (
    TrendPoint(dt.date(2026, 6, 1), nps([10, 9, 9, 8, 7, 3, 10, 10, 2, 9, 9, 6])),
    TrendPoint(dt.date(2026, 7, 1), nps([10, 3, 9])),
    TrendPoint(dt.date(2026, 8, 1), nps([])),
    TrendPoint(dt.date(2026, 9, 1), nps([0, 2, 9, 10, 8, 7])),
    TrendPoint(dt.date(2026, 10, 1), nps([10, 10, 9, 9, 10, 3, 0])),
    TrendPoint(dt.date(2026, 11, 1), nps([9])),
)


async def test_nps_draws_a_bar_a_month_with_each_months_n_in_the_summary() -> None:
    scores = dataclasses.replace(SCORES, trend=SIX_MONTHS)
    reply = await _ask("nps", FakeReader({survey_report: SurveyReport(None, scores)}))
    (chart,) = reply.charts
    assert chart.kind is ChartKind.BAR
    # Months with answers get a bar; the month nobody answered gets none, not a zero.
    assert chart.categories == ("Jun 26", "Jul 26", "Sep 26", "Oct 26", "Nov 26")
    table = _table(reply, "Monthly trend")
    answered = [row for row in table if row[2] != "0"]
    assert [f"{v:+.0f}" for v in chart.series[0].values] == [row[1] for row in answered]
    # n in the summary, month by month, is the n of the table.
    said = [int(n) for n in re.findall(r"n = (\d+)", chart.summary)]
    assert said == [int(row[2]) for row in answered]
    assert sum(said) == sum(point.n for point in SIX_MONTHS)
    june, july = answered[0], answered[1]
    assert f"Jun 26 {june[1]} (n = 12)" in chart.summary
    assert f"Jul 26 {july[1]} (n = 3, too few for an interval)" in chart.summary
    assert "Nov 26" in chart.summary and "(n = 1, too few for an interval)" in chart.summary
    assert "No answers in Aug 26." in chart.summary


async def test_nps_of_an_account_is_headed_with_its_name() -> None:
    reader = FakeReader({survey_report: SurveyReport(Resolution(match=ACME), SCORES)})
    reply = await _ask("nps acme q3", reader)

    (asked,) = reader.asked
    assert asked.arguments["account_text"] == "acme"
    assert asked.arguments["segment"] is None
    assert reply.heading == "NPS — Acme Corp, Q3 2026"


async def test_nps_of_an_ambiguous_name_offers_the_accounts_to_pick() -> None:
    globexes = (_account("GLX-EU", "Globex", 2), _account("GLX-US", "Globex", 3))
    reader = FakeReader({survey_report: SurveyReport(Resolution(None, globexes), None)})
    reply = await _ask("nps globex", reader)

    assert reply.heading == "“globex” matches 2 accounts — which one?"
    assert [(a.action_id, dict(a.payload)) for a in reply.actions] == [
        (PICK, {"command": "nps", "account": "GLX-EU"}),
        (PICK, {"command": "nps", "account": "GLX-US"}),
    ]


async def test_nps_without_answers_says_so() -> None:
    empty = SurveyScores(nps([]), csat([]), ces([]), (), (), (), (), LOOP)
    reply = await _ask("nps smb", FakeReader({survey_report: SurveyReport(None, empty)}))
    assert reply.paragraphs == ("No survey answers in this period.",)
    assert reply.metrics == ()


async def test_nps_of_a_period_not_started_reads_nothing() -> None:
    reader = FakeReader()
    reply = await _ask("nps 2027", reader)
    assert reply.outcome is Outcome.PROBLEM
    assert reader.asked == []


# followups


async def test_followups_sla_of_a_segment_reads_the_closed_loop_once() -> None:
    reader = FakeReader({closed_loop: LOOP})
    reply = await _ask("followups sla 90d smb", reader)

    (asked,) = reader.asked
    assert asked.query is closed_loop
    assert asked.arguments["start"] == dt.datetime(2026, 8, 23, tzinfo=dt.UTC)
    assert asked.arguments["end"] == dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    assert asked.arguments["segment"] is Segment.SMB
    assert asked.arguments["owner_id"] is None
    assert asked.arguments["config"] == Config().follow_ups
    assert reply.heading == "Closed loop — SMB, last 90 days"
    assert (reply.metrics[0].label, reply.metrics[0].value) == ("Contacted within 24 h", "67 %")
    assert reply.metrics[0].tone is Tone.BAD  # someone waits past the SLA now
    assert _facts(reply)["Median time to close"] == "2.5 d (n = 2)"
    assert _table(reply, "By CSM (worst first)") == [
        ("Sam Ortiz", "0 %", "1", "30.0 h", "—", "1"),
    ]


async def test_followups_sla_mine_covers_the_askers_own_follow_ups() -> None:
    reader = FakeReader({member_by_chat_id: DANA, closed_loop: LOOP})
    reply = await _ask("followups sla mine", reader)

    member, loop = reader.asked
    assert member.arguments == {"platform": Platform.SLACK, "user_id": "U0CSM1"}
    assert loop.arguments["owner_id"] == DANA.id
    assert reply.heading == "Closed loop — Dana Whitfield’s follow-ups, last 30 days"


async def test_followups_mine_for_someone_off_the_team_reads_no_follow_ups() -> None:
    reader = FakeReader({member_by_chat_id: None})
    reply = await _ask("followups mine", reader, Actor(Platform.SLACK, user_id="U0NOBODY"))

    assert reader.queries() == [member_by_chat_id]
    assert reply.heading == "You are not on the CS team yet"
    assert reply.outcome is Outcome.PROBLEM


async def test_followups_mine_lists_the_askers_open_follow_ups_with_their_wait() -> None:
    claimed, dana = FollowUpStatus.CLAIMED, "Dana Whitfield"
    items = [
        OpenFollowUp(
            7, "Acme Corp", 4, "nps", "Slow reports", claimed, dana, NOW - dt.timedelta(hours=30)
        ),
        OpenFollowUp(9, None, 2, "csat", None, claimed, dana, NOW - dt.timedelta(days=3)),
    ]
    reader = FakeReader({member_by_chat_id: DANA, open_follow_ups: items})
    reply = await _ask("followups mine", reader)

    assert reader.asked[1].arguments == {"owner_id": DANA.id}
    assert reply.heading == "Your open follow-ups"
    assert reply.tables[0].rows == (
        ("Acme Corp", "NPS 4", "claimed", "Dana Whitfield", "30 h", "Slow reports"),
        ("unmatched", "CSAT 2", "claimed", "Dana Whitfield", "3 d", "—"),
    )


async def test_followups_open_with_nothing_waiting_says_every_loop_is_closed() -> None:
    reader = FakeReader({open_follow_ups: []})
    reply = await _ask("followups", reader)
    assert reader.asked[0].arguments == {"owner_id": None}
    assert reply.paragraphs == ("Nothing is waiting. Every loop is closed.",)


async def test_followups_unmatched_says_how_many_wait_beyond_those_shown() -> None:
    answer = UnmatchedAnswer(
        response_id=11,
        submitted_at=dt.datetime(2026, 11, 19, 14, 5, tzinfo=dt.UTC),
        kind=SurveyKind.NPS,
        score=2,
        comment="Who are you?",
        respondent_name="Lee",
        respondent_email="lee@unknown.example",
        follow_up_status=FollowUpStatus.OPEN,
        owner=None,
    )
    reader = FakeReader({unmatched_queue: UnmatchedQueue(25, (answer,))})
    reply = await _ask("followups unmatched", reader)

    assert reader.asked[0].arguments == {"limit": 20}
    assert reply.paragraphs[0].startswith("25 answers match no account, the newest 1 shown.")
    assert reply.tables[0].rows == (
        ("2026-11-19 14:05", "Lee <lee@unknown.example>", "NPS 2", "open", "Who are you?"),
    )


async def test_followups_with_an_unknown_choice_reads_nothing() -> None:
    reader = FakeReader()
    reply = await _ask("followups later", reader)
    assert reply.outcome is Outcome.PROBLEM
    assert reader.asked == []

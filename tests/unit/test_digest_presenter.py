"""The digest as a reader sees it, from facts given by hand, and `digest` on a fake reader.

`metrics_core.digests.facts` decides what is a mover, a new risk or a renewal worth a
call (tests/integration/test_digests.py holds it to that against real snapshots); the
presenter only words those facts, so these tests give the facts and read the words. The
`digest` command's verbs each ask one query, checked with the arguments they parsed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.context import BotContext
from bot.inbound import Actor, CommandRequest, Platform
from bot.messages.digest import build_digest, title
from bot.reply import Chart, ChartKind, Reply, Tone, Trend
from bot.router import Router
from metrics_core.accounts.team import Member, member_by_chat_id
from metrics_core.config import Bands, Config, Health
from metrics_core.delivery.targets import Target
from metrics_core.digests.facts import (
    ComparedDay,
    ComponentMove,
    ComponentScore,
    DigestFacts,
    EnteredRed,
    HealthSummary,
    Mover,
    Movers,
    NewlyHighRisk,
    NewRisks,
    Overdue,
    Remembered,
    Renewals,
    RenewalsDue,
    Renewing,
    digest_facts,
)
from metrics_core.digests.scheduled import (
    ScheduledDigest,
    Subscribed,
    schedule_digest,
    scheduled_digests,
    stop_digest,
)
from metrics_core.digests.subscriptions import Schedule, Scope
from metrics_core.revenue.rates import RetentionResult
from metrics_core.store.models import DigestCadence, DigestScope, Segment, TeamRole
from metrics_core.surveys.nps import nps
from tests.fakes.reader import FakeReader
from tests.routing import offline_context

TODAY = dt.date(2026, 11, 20)  # a Friday
NOW = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)  # what `offline_context` says it is
CONFIG = Config()
PORTFOLIO = Scope(DigestScope.PORTFOLIO)
DANA = Member(1, "Dana Whitfield", TeamRole.CSM, "dana@closeloop.example")
SLACK_DANA = Actor(Platform.SLACK, user_id="U0CSM1", timezone="Europe/Berlin")
CHANNEL = Target(Platform.SLACK, "C0DIGEST")

YEAR = RetentionResult(
    start=dt.date(2025, 11, 20),
    end=dt.date(2026, 11, 21),
    segment=None,
    accounts=1_150,
    retained_accounts=1_100,
    churned_accounts=50,
    won_back_accounts=0,
    start_arr=40_000_000.0,
    expansion=5_000_000.0,
    contraction=1_000_000.0,
    churn=2_000_000.0,
    end_arr=42_000_000.0,
    reactivated_arr=0.0,
    new_arr=3_000_000.0,
    new_accounts=100,
    nrr=1.05,
    grr=0.925,
    logo_retention=0.957,
    gross_revenue_churn=0.075,
    net_revenue_churn=-0.05,
)
FALLING = Mover(
    "Falling Inc", 35.0, "red", (-37.0, None), ComponentMove("usage", 72.0, 35.0), -37.0, 1
)
RISING = Mover("Rising Inc", 65.0, "yellow", (15.0, 20.0), None, 20.0, 7)
FACTS = DigestFacts(
    cadence=DigestCadence.DAILY,
    scope=PORTFOLIO,
    owner_name=None,
    as_of=TODAY,
    days=1,
    snapshot_day=TODAY,
    health=HealthSummary(
        accounts=1_200, arr=44_500_000.0, average=63.3, change=-7.3, change_days=1, red=2
    ),
    compared=(
        ComparedDay(dt.date(2026, 11, 19), 1, available=True),
        ComparedDay(dt.date(2026, 11, 13), 7, available=True),
    ),
    movers=Movers((1, 7), (FALLING,), 4, (RISING,), 1),
    risks=NewRisks(
        high_from=0.5,
        entered_red=(EnteredRed("Falling Inc", 35.0, None, ComponentScore("usage", 35.0)),),
        entered_red_count=1,
        newly_high=(NewlyHighRisk("Falling Inc", 0.8, "Sam Ortiz", "usage per seat"),),
        newly_high_count=1,
        at_high_risk=6,
        compared_without_risk=None,
    ),
    remembered=Remembered(red=(3, 8), high_risk=(3,)),
    retention=YEAR,
    renewals=Renewals(
        due=(
            RenewalsDue(30, 2, 450_000.0, 45_000.0),
            RenewalsDue(60, 3, 500_000.0, 46_000.0),
            RenewalsDue(90, 5, 700_000.0, 60_000.0),
        ),
        worth_a_call=(Renewing("Big Inc", dt.date(2026, 12, 10), 400_000.0, 0.1),),
        within_first=2,
    ),
    overdue=(Overdue(5, None, None, "nps", 2, NOW - dt.timedelta(hours=30)),),
    overdue_count=3,
    nps=nps([10, 10, 9, 3]),
    trend=((dt.date(2026, 11, 19), 70.6), (dt.date(2026, 11, 20), 63.3)),
)
QUIET = dataclasses.replace(
    FACTS,
    movers=Movers((1, 7), (), 0, (), 0),
    risks=NewRisks(0.5, (), 0, (), 0, 0, None),
    renewals=Renewals((), (), 0),
    overdue=(),
    overdue_count=0,
    nps=nps([]),
)


def _digest(facts: DigestFacts) -> Reply:
    return build_digest(facts, config=CONFIG, now=NOW).reply


def _titles(reply: Reply) -> list[str]:
    return [table.title or "" for table in reply.tables]


# the presenter


def test_without_a_snapshot_there_is_one_line_and_nothing_is_remembered() -> None:
    facts = dataclasses.replace(
        QUIET,
        snapshot_day=None,
        health=HealthSummary(0, 0.0, float("nan"), None, None, 0),
        compared=(),
        remembered=Remembered(None, None),
    )
    digest = build_digest(facts, config=CONFIG, now=NOW)
    assert digest.reply.heading == "Daily digest · whole portfolio · Fri 20 Nov 2026"
    assert digest.reply.paragraphs == (
        "Nothing to report: no health snapshot yet (the service takes one each day).",
    )
    assert digest.reply.metrics == ()
    assert digest.details == {"red": None, "high_risk": None}


def test_a_full_digest_reads_kpis_risks_movers_follow_ups_and_renewals_in_order() -> None:
    digest = build_digest(FACTS, config=CONFIG, now=NOW)
    reply = digest.reply
    metrics = {m.label: m for m in reply.metrics}
    assert metrics["Accounts"].value == "1,200"
    assert metrics["ARR"].value == "$44.5M"
    health = metrics["Average health"]
    assert (health.value, health.delta, health.trend) == ("63/100", "-7.3 in 1 day", Trend.DOWN)
    assert (health.tone, health.detail) == (Tone.BAD, "2 in the red band")
    assert metrics["NRR, 12 months"].value == "105.0 %"
    assert _titles(reply) == [
        "Entered the red band (1)",
        "Newly at high churn risk, ≥ 50% (1)",
        "Biggest drops in health, ≥ 5 points (4)",
        "Biggest gains in health, ≥ 5 points (1)",
        "Follow-ups past SLA, unclaimed (3)",
        "Renewing in the next 30 days, most ARR at stake first (2)",
    ]
    red, high, drops, gains, overdue, renewals = reply.tables
    assert red.rows == (("Falling Inc", "35", "—", "usage 35"),)
    assert high.rows == (("Falling Inc", "80 %", "Sam Ortiz", "usage per seat"),)
    assert drops.columns == ("Account", "Health", "1 day", "7 days", "Why")
    assert drops.rows == (("Falling Inc", "35 red", "-37", "—", "usage 72 → 35"),)
    assert gains.rows == (("Rising Inc", "65 yellow", "+15", "+20", "—"),)
    assert overdue.rows == (("unmatched", "NPS 2", "30 h", "—"),)
    assert renewals.rows == (("Big Inc", "Dec 10", "$400k", "10 %"),)
    assert {f.label: f.value for f in reply.facts}["Renewing in 30 days"] == (
        "2 accounts, $450k ($45k ARR at stake)"
    )
    assert reply.paragraphs == (
        "NPS today: +50 (too few answers for an interval, n = 4; 3 promoters, 1 detractors).",
    )
    assert [c.title for c in reply.charts] == [
        "Average health, last 2 days",
        "Biggest health moves, ≥ 5 points",
    ]
    assert [a.label for a in reply.actions] == ["Renewals", "Churn risks", "Follow-ups", "KPIs"]
    assert digest.details == {"red": [3, 8], "high_risk": [3]}


def _chart(reply: Reply, title: str) -> Chart:
    (chart,) = [chart for chart in reply.charts if chart.title.startswith(title)]
    return chart


def test_the_average_health_line_ends_at_the_average_shown_against_the_configured_bands() -> None:
    config = Config(health=Health(bands=Bands(red_below=35, green_from=75)))
    reply = build_digest(FACTS, config=config, now=NOW).reply
    chart = _chart(reply, "Average health")
    assert chart.kind is ChartKind.LINE
    assert chart.categories == ("Nov 19", "Nov 20")
    (line,) = chart.series
    assert (
        f"{line.values[-1]:.0f}/100" == {m.label: m.value for m in reply.metrics}["Average health"]
    )
    assert [t.value for t in chart.thresholds] == [35, 75]
    assert "red below 35, green from 75" in chart.summary


def _mover(name: str, move: float, days: int = 7) -> Mover:
    return Mover(name, 50.0, "yellow", (move,), None, move, days)


def test_movers_are_bars_of_points_moved_biggest_first_whatever_the_direction() -> None:
    reply = _digest(FACTS)
    chart = _chart(reply, "Biggest health moves")
    assert chart.kind is ChartKind.BAR
    assert chart.categories == ("Falling Inc", "Rising Inc")
    assert chart.series[0].values == (-37.0, 20.0)
    assert chart.summary == (
        "Falling Inc -37 in 1 day, Rising Inc +20 in 7 days "
        "(2 shown of 4 drops and 1 gain of 5 points or more)."
    )
    # Every bar is an account the movers tables list, with the move it is listed for.
    listed = {row[0] for table in reply.tables if "in health" in (table.title or "")
              for row in table.rows}  # fmt: skip
    assert set(chart.categories) <= listed


def test_the_movers_chart_shows_at_most_ten_bars_of_the_biggest_moves() -> None:
    drops = tuple(_mover(f"Down {n:02d}", -5.0 - n) for n in range(8))
    gains = tuple(_mover(f"Up {n:02d}", 5.5 + n) for n in range(8))
    facts = dataclasses.replace(FACTS, movers=Movers((7,), drops, 8, gains, 8))
    chart = _chart(_digest(facts), "Biggest health moves")
    values = chart.series[0].values
    assert len(values) == 10
    sizes = [abs(v) for v in values]
    assert sizes == sorted(sizes, reverse=True)
    shown = {abs(v) for v in values}
    left_out = {abs(m.move) for m in drops + gains} - shown
    assert max(left_out) <= min(shown)
    assert "(10 shown of 8 drops and 8 gains of 5 points or more)" in chart.summary
    # One comparison (a weekly digest): its span is said once, before the moves.
    assert chart.summary.startswith("In 7 days: Up 07 +12, Down 07 -12, Up 06 +12")


def test_the_average_health_title_names_the_days_it_spans_not_the_snapshots() -> None:
    gappy = ((dt.date(2026, 11, 13), 70.0), (dt.date(2026, 11, 20), 63.3))
    chart = _chart(_digest(dataclasses.replace(FACTS, trend=gappy)), "Average health")
    assert chart.title == "Average health, last 8 days"
    assert chart.categories == ("Nov 13", "Nov 20")


def test_a_quiet_day_says_what_was_quiet_in_one_note() -> None:
    reply = _digest(QUIET)
    assert reply.tables == ()
    assert [c.title for c in reply.charts] == ["Average health, last 2 days"]  # no movers
    assert reply.notes == (
        "Quiet: no health moves of 5 points or more, no new risks, no follow-ups past SLA, "
        "no renewals in 90 days, no NPS answers today.",
    )


def test_risks_that_cannot_be_called_new_are_counted_with_the_reason() -> None:
    unknown = NewRisks(0.5, (), 0, None, 0, 6, dt.date(2026, 11, 19))
    reply = _digest(dataclasses.replace(QUIET, risks=unknown))
    assert (
        "6 accounts at high churn risk (≥ 50%); which of them are new is not known: the "
        "snapshot of 2026-11-19 has no churn risk to compare with."
    ) in reply.notes
    assert "no account newly in the red band" in reply.notes[0]
    assert "no new risks" not in reply.notes[0]


def test_a_missing_snapshot_to_compare_with_is_named() -> None:
    facts = dataclasses.replace(
        QUIET,
        compared=(
            ComparedDay(dt.date(2026, 11, 19), 1, available=True),
            ComparedDay(dt.date(2026, 11, 13), 7, available=False),
        ),
        movers=Movers((1,), (), 0, (), 0),
    )
    reply = _digest(facts)
    assert "No health snapshot from 2026-11-13 to measure changes against." in reply.notes


def test_a_weekly_digest_of_a_book_is_titled_by_its_csm() -> None:
    book = Scope(DigestScope.OWNER, owner_id=DANA.id)
    facts = dataclasses.replace(
        FACTS, cadence=DigestCadence.WEEKLY, days=7, scope=book, owner_name="Dana Whitfield"
    )
    reply = _digest(facts)
    assert reply.heading == "Weekly digest · Dana Whitfield's book · Fri 20 Nov 2026"
    assert reply.paragraphs[0].startswith("NPS this week: +50")
    assert title(DigestCadence.DAILY, book, None) == "Daily digest · a former CSM's book"


def test_a_segment_digest_links_to_the_segments_kpis() -> None:
    smb = Scope(DigestScope.SEGMENT, segment=Segment.SMB)
    reply = _digest(dataclasses.replace(FACTS, scope=smb))
    assert reply.heading.startswith("Daily digest · SMB · ")
    assert reply.actions[-1].payload["command"] == "kpis SMB"


# the digest command


def _context(reader: FakeReader) -> BotContext:
    return offline_context(reader, today=TODAY)


async def _ask(text: str, reader: FakeReader, *, conversation: str | None = "C0DIGEST") -> Reply:
    request = CommandRequest.parse(text, SLACK_DANA, conversation)
    return await Router(_context(reader)).handle(request)


async def test_a_preview_reads_todays_facts_in_the_askers_zone_and_shows_only_them() -> None:
    reader = FakeReader({member_by_chat_id: DANA, digest_facts: FACTS})
    reply = await _ask("digest preview weekly segment=smb", reader)

    _, facts = reader.asked
    assert facts.query is digest_facts
    assert facts.arguments == {
        "cadence": DigestCadence.WEEKLY,
        "scope": Scope(DigestScope.SEGMENT, segment=Segment.SMB),
        "as_of": TODAY,
        "window_end": NOW,
        "config": CONFIG,
        "now": NOW,
        "previous": None,
    }
    assert reply.notes[-1] == "Preview: only you see this."


def _scheduled(digest_id: int, target: Target, scope: Scope = PORTFOLIO) -> ScheduledDigest:
    return ScheduledDigest(
        id=digest_id,
        target=target,
        schedule=Schedule(DigestCadence.DAILY, dt.time(9), "Europe/Berlin"),
        scope=scope,
        owner_name=None,
        next_due=dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC),
    )


async def test_subscribing_writes_once_and_says_when_the_first_one_goes_out() -> None:
    enterprise = Scope(DigestScope.SEGMENT, segment=Segment.ENTERPRISE)
    subscribed = Subscribed(_scheduled(4, CHANNEL, enterprise), created=True)
    reader = FakeReader({member_by_chat_id: DANA, schedule_digest: subscribed})
    changed: list[bool] = []
    context = dataclasses.replace(_context(reader), schedule_changed=lambda: changed.append(True))
    request = CommandRequest.parse(
        "digest subscribe daily 09:00 segment=enterprise", SLACK_DANA, "C0DIGEST"
    )
    reply = await Router(context).handle(request)

    _, write = reader.asked
    assert write.arguments == {
        "target": CHANNEL,
        "schedule": Schedule(DigestCadence.DAILY, dt.time(9), "Europe/Berlin"),
        "scope": enterprise,
        "created_by": "U0CSM1",
        "now": NOW,
    }
    assert changed == [True]
    assert reply.heading == "Digest #4 scheduled"
    assert reply.paragraphs[0] == (
        "Daily, 09:00 Europe/Berlin to this conversation, covering: Enterprise. "
        "The next one goes out Sat 21 Nov 09:00 Europe/Berlin."
    )


async def test_the_list_names_where_each_digest_goes_and_when_next() -> None:
    dms = Target.person(Platform.SLACK, "U0CSM1")
    book = Scope(DigestScope.OWNER, owner_id=DANA.id)
    listed = (
        _scheduled(2, CHANNEL),
        dataclasses.replace(_scheduled(3, dms, book), owner_name="Dana Whitfield"),
    )
    reader = FakeReader({scheduled_digests: listed})
    reply = await _ask("digest list", reader)

    (asked,) = reader.asked
    assert asked.arguments == {"targets": (CHANNEL, dms), "now": NOW}
    next_one = "Sat 21 Nov 09:00 Europe/Berlin"
    assert reply.tables[0].rows == (
        ("#2", "daily, 09:00 Europe/Berlin", "whole portfolio", "here", next_one),
        ("#3", "daily, 09:00 Europe/Berlin", "Dana Whitfield's book", "your DMs", next_one),
    )


async def test_unsubscribing_a_digest_not_posted_here_says_so() -> None:
    reader = FakeReader({member_by_chat_id: DANA, stop_digest: False})
    reply = await _ask("digest unsubscribe #9", reader)

    _, stop = reader.asked
    assert stop.arguments == {
        "subscription_id": 9,
        "places": (CHANNEL, Target.person(Platform.SLACK, "U0CSM1")),
        "now": NOW,
    }
    assert reply.heading == "No digest #9 here"

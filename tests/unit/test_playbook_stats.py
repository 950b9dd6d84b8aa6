"""`playbooks stats` without a database: the Welch helper, the arguments, the answer.

The difference of two means is checked against scipy's own Welch interval (differences of
rates are `metrics_core.proportions`', tested in test_proportions.py); the answer is built
from results made by hand, with the fake reader standing in for the query.
"""

from __future__ import annotations

import datetime as dt

import pytest
from scipy import stats as scipy_stats

from adapters.platforms.slack.render import render_message
from bot.handlers.playbook_stats import CAUTION, playbook_stats_command, playbook_stats_reply
from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import Outcome, Reply
from metrics_core.playbooks.effectiveness import (
    MIN_RUNS,
    Mean,
    MeanComparison,
    Outcomes,
    PlaybookEffect,
    PlaybookStats,
    PlayEffect,
    RateComparison,
    playbook_effectiveness,
)
from metrics_core.proportions import Rate, difference
from metrics_core.store.models import Segment
from metrics_core.surveys.scores import welch_difference
from tests.fakes.reader import FakeReader
from tests.routing import offline_context
from tests.unit.test_slack_render import check_message
from tests.unit.test_teams_render import check

TODAY = dt.date(2026, 12, 6)
ME = Actor(Platform.SLACK, "U0CSM1")


# --- the Welch helper ---------------------------------------------------------------------


def test_welch_difference_agrees_with_scipy() -> None:
    finished = [4.0, 9.5, 12.0, 3.0, 7.5, 10.0, 6.0]
    dropped = [1.0, -2.0, 0.5, 3.0, -1.5]
    difference, low, high = welch_difference(finished, dropped)
    expected = scipy_stats.ttest_ind(finished, dropped, equal_var=False).confidence_interval()
    assert difference == pytest.approx(sum(finished) / 7 - sum(dropped) / 5)
    assert low == pytest.approx(expected.low)
    assert high == pytest.approx(expected.high)
    with pytest.raises(ValueError, match="at least 2"):
        welch_difference([1.0], [2.0, 3.0])


# --- results made by hand ------------------------------------------------------------------


def _rates(done: tuple[int, int], not_done: tuple[int, int]) -> RateComparison:
    yes, no = Rate.of(*done), Rate.of(*not_done)
    if min(yes.n, no.n) < MIN_RUNS:
        return RateComparison(yes, no, None)
    return RateComparison(yes, no, difference(yes, no))


NO_HEALTH = MeanComparison(Mean(0, None), Mean(0, None), None, None, None)
HEALTH_90 = MeanComparison(Mean(40, 3.2), Mean(31, -1.5), 4.7, 1.2, 8.2)
USAGE_DROP = Outcomes(
    recovered=_rates((146, 179), (81, 138)),
    sustained=_rates((85, 151), (51, 121)),
    health_30=NO_HEALTH,
    health_90=HEALTH_90,
    renewed=_rates((78, 121), (59, 87)),
    expanded=_rates((18, 96), (13, 82)),
)
THIN = Outcomes(
    recovered=_rates((3, 5), (1, 3)),
    sustained=_rates((1, 3), (0, 3)),
    health_30=NO_HEALTH,
    health_90=NO_HEALTH,
    renewed=_rates((0, 6), (1, 7)),
    expanded=_rates((0, 5), (0, 7)),
)
NOTHING = Outcomes(
    recovered=_rates((0, 0), (0, 0)),
    sustained=_rates((0, 0), (0, 0)),
    health_30=NO_HEALTH,
    health_90=NO_HEALTH,
    renewed=_rates((0, 0), (0, 0)),
    expanded=_rates((0, 0), (0, 0)),
)
PLAYS = (
    PlayEffect(1, "Find which teams or features stopped being used", 282, 54, USAGE_DROP),
    PlayEffect(
        3,
        "Run a re-enablement session for the teams that dropped",
        8,
        172,
        Outcomes(
            recovered=_rates((7, 8), (97, 164)),
            sustained=_rates((6, 8), (61, 145)),
            health_30=NO_HEALTH,
            health_90=NO_HEALTH,
            renewed=_rates((4, 6), (40, 80)),
            expanded=_rates((1, 8), (9, 90)),
        ),
    ),
)
EFFECTS = (
    PlaybookEffect("red-health", "Health turned red", 18, 3, 6, 0, 0, THIN, ()),
    PlaybookEffect("usage-drop", "Usage dropped", 352, 193, 137, 6, 16, USAGE_DROP, PLAYS),
    PlaybookEffect("renewal-save", "Save a risky renewal", 0, 0, 0, 0, 0, NOTHING, ()),
)
KNOWN = tuple((e.key, e.name) for e in EFFECTS)


def _stats(
    playbooks: tuple[PlaybookEffect, ...] = EFFECTS,
    playbook: str | None = None,
    segment: Segment | None = None,
) -> PlaybookStats:
    return PlaybookStats(
        as_of=TODAY,
        segment=segment,
        playbook=playbook,
        playbooks=playbooks,
        known=KNOWN,
        usage_through=TODAY,
    )


async def _ask(args: str, stats: PlaybookStats) -> tuple[Reply, FakeReader]:
    reader = FakeReader({playbook_effectiveness: stats})
    context = offline_context(reader, today=TODAY)
    reply = await playbook_stats_command(CommandRequest("playbooks", args, ME), context)
    return reply, reader


def _cells(reply: Reply) -> list[str]:
    return [cell for table in reply.tables for row in table.rows for cell in row]


# --- asking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "key", "segment"),
    [
        ("stats", None, None),
        ("stats usage-drop", "usage-drop", None),
        ("stats SMB Usage-Drop", "usage-drop", Segment.SMB),
        ("usage-drop mid-market", "usage-drop", Segment.MID_MARKET),
    ],
)
async def test_the_playbook_and_segment_are_read_in_any_order(
    args: str, key: str | None, segment: Segment | None
) -> None:
    _, reader = await _ask(args, _stats())
    [asked] = reader.asked
    assert asked.arguments["playbook"] == key
    assert asked.arguments["segment"] == segment
    assert asked.arguments["as_of"] == TODAY


async def test_two_playbooks_are_refused_with_the_usage() -> None:
    reply, reader = await _ask("stats usage-drop red-health", _stats())
    assert reply.outcome is Outcome.PROBLEM
    assert "playbooks stats [playbook] [segment]" in reply.paragraphs[0]
    assert reader.asked == []


async def test_an_unknown_playbook_names_the_known_ones() -> None:
    reply, _ = await _ask("stats usage-dorp", _stats((), playbook="usage-dorp"))
    assert reply.outcome is Outcome.PROBLEM
    assert "usage-dorp" in reply.heading
    assert "`usage-drop` (Usage dropped)" in reply.paragraphs[0]


def test_no_playbook_at_all_says_so() -> None:
    reply = playbook_stats_reply(PlaybookStats(TODAY, None, None, (), (), TODAY))
    assert reply.heading == "No playbooks yet"
    assert "[[playbooks]]" in reply.paragraphs[0]


# --- the answer --------------------------------------------------------------------------------


def test_every_playbook_with_counts_differences_and_the_caution() -> None:
    reply = playbook_stats_reply(_stats())
    assert reply.outcome is Outcome.ANSWER
    [table] = reply.tables
    rows = {row[0]: row for row in table.rows}
    usage = rows["Usage dropped"]
    assert usage[1] == "352"
    assert usage[2] == "57 % of 336"  # 193 finished; 137 dropped and 6 open past due
    assert usage[3] == "56 % (85 of 151) vs 42 % (51 of 121)"
    assert usage[4].startswith("+14 pts (95 % CI +2 to +26)")
    assert usage[5] == "+3.2 pts (n = 40) vs -1.5 pts (n = 31)"
    assert usage[6] == "64 % (78 of 121) vs 68 % (59 of 87)"
    red = rows["Health turned red"]
    assert red[4] == "not enough data yet (n = 3 finished, 3 unfinished; need 10 runs each)"
    assert red[5] == "no snapshots yet"
    assert rows["Save a risky renewal"][2] == "no runs yet"
    assert CAUTION in reply.notes
    metrics = {metric.label: metric for metric in reply.metrics}
    assert metrics["Runs"].value == "370"
    assert metrics["Finished"].value == "57 %"  # 196 of 345
    [chart] = reply.charts
    assert chart.categories == ("Health turned red", "Usage dropped")
    assert "Usage dropped: finished 56 % (85 of 151), not finished 42 % (51 of 121)" in (
        chart.summary
    )


def test_one_playbook_adds_its_plays_and_says_which_group_is_short() -> None:
    reply = playbook_stats_reply(_stats((EFFECTS[1],), playbook="usage-drop"))
    outcomes, plays = reply.tables
    rows = {row[0]: row for row in outcomes.rows}
    sustained = rows["Sustained: still recovered at 90 days"]
    assert sustained[1:3] == ("56 % (85 of 151)", "42 % (51 of 121)")
    assert rows["Health change at 30 days"][3] == "no snapshots yet"
    assert rows["Health change at 90 days"][3] == "+4.7 pts (95 % CI +1.2 to +8.2)"
    enable = next(row for row in plays.rows if row[0].startswith("3. "))
    assert enable[1] == "8 / 172"
    assert enable[4] == "not enough data yet (n = 8 done runs; need 10)"
    [metric] = reply.metrics
    assert metric.value == "+14 pts"
    assert "193 finished, 137 dropped, 6 open past their due dates, 16 in progress" in (
        reply.facts[0].value
    )


def test_the_answers_fit_slack_and_teams() -> None:
    for reply in (
        playbook_stats_reply(_stats()),
        playbook_stats_reply(_stats((EFFECTS[1],), playbook="usage-drop")),
        playbook_stats_reply(_stats((EFFECTS[0],), playbook="red-health", segment=Segment.SMB)),
    ):
        check_message(render_message(reply))
        check(reply)

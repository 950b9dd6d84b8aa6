"""`followups sla` chart on a fake reader: the share contacted within SLA, week by week.

What a leader checks: the weeks asked for follow the period, each drawn week says its n,
the weeks' n add up to the detractors the answer counts when the weeks are the period,
and a week with nobody due is never drawn as 0 %.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import Chart, Reply
from bot.router import Router
from metrics_core.followups.closed_loop import (
    NO_FOLLOW_UPS,
    ClosedLoop,
    LoopStats,
    Week,
    closed_loop,
)
from metrics_core.store.models import AnswerBand
from tests.fakes.reader import FakeReader
from tests.routing import offline_context

TODAY = dt.date(2026, 11, 20)
END = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)  # the end of a period up to today
ME = Actor(Platform.CONSOLE, user_id="U0CSM1")


def _stats(within: int, missed: int, pending: int = 0) -> LoopStats:
    return LoopStats(
        follow_ups=within + missed + pending,
        within_sla=within,
        missed=missed,
        pending=pending,
        open_past_sla=0,
        claimed=within + missed,
        closed=within,
        median_claim_hours=5.0 if within + missed else None,
        median_close_hours=None,
    )


def _weeks(stats: list[LoopStats]) -> tuple[Week, ...]:
    """Seven-day weeks ending at `END`, oldest first."""
    starts = [END - dt.timedelta(days=7 * (len(stats) - k)) for k in range(len(stats))]
    return tuple(
        Week(start, start + dt.timedelta(days=7), week)
        for start, week in zip(starts, stats, strict=True)
    )


# 12 weeks: nothing in the first two, none in the sixth, only some not due yet in the last.
WEEKS = _weeks(
    [
        NO_FOLLOW_UPS,
        NO_FOLLOW_UPS,
        _stats(3, 1),
        _stats(4, 0),
        _stats(2, 2),
        NO_FOLLOW_UPS,
        _stats(5, 1),
        _stats(1, 3),
        _stats(6, 0),
        _stats(3, 2),
        _stats(4, 1, pending=1),
        _stats(0, 0, pending=2),
    ]
)
TOTAL = _stats(
    sum(w.stats.within_sla for w in WEEKS),
    sum(w.stats.missed for w in WEEKS),
    sum(w.stats.pending for w in WEEKS),
)
LOOP = ClosedLoop(
    sla_hours=24,
    bands=(AnswerBand.DETRACTOR,),
    total=TOTAL,
    by_csm=(),
    by_segment=(),
    weeks=WEEKS,
)


async def _ask(text: str, loop: ClosedLoop) -> tuple[Reply, FakeReader]:
    reader = FakeReader({closed_loop: loop})
    reply = await Router(offline_context(reader, today=TODAY)).handle(
        CommandRequest.parse(text, ME)
    )
    return reply, reader


def _chart(reply: Reply) -> Chart:
    (chart,) = reply.charts
    return chart


@pytest.mark.parametrize(
    ("text", "weeks"),
    [
        ("followups sla", 8),
        ("followups sla 12w", 12),
        ("followups sla 8w", 8),
        ("followups sla 1y", 12),
    ],
)
async def test_the_chart_covers_the_periods_weeks_within_eight_to_twelve(
    text: str, weeks: int
) -> None:
    _, reader = await _ask(text, LOOP)
    (asked,) = reader.asked
    assert asked.arguments["weeks"] == weeks


async def test_weeks_with_nobody_due_are_named_not_drawn_as_zero() -> None:
    reply, _ = await _ask("followups sla 12w", LOOP)
    chart = _chart(reply)
    assert chart.title == "Contacted within 24 h, by week"
    assert chart.unit == "%"
    (series,) = chart.series
    # The drawing starts with the first week anybody was due and skips the empty ones.
    assert chart.categories == (
        "12–18 Sep",
        "19–25 Sep",
        "26 Sep–2 Oct",
        "10–16 Oct",
        "17–23 Oct",
        "24–30 Oct",
        "31 Oct–6 Nov",
        "7–13 Nov",
    )
    assert series.values == (75.0, 100.0, 50.0, 83.3, 25.0, 100.0, 60.0, 80.0)
    assert "3–9 Oct none;" in chart.summary
    assert "14–20 Nov none due yet (2 still within SLA)." in chart.summary
    assert "7–13 Nov 80 % (n = 5, 1 still within SLA)" in chart.summary
    assert "No detractors due before 12 Sep." in chart.summary


async def test_the_weeks_n_add_up_to_the_detractors_the_answer_counts() -> None:
    reply, _ = await _ask("followups sla 12w", LOOP)
    chart = _chart(reply)
    drawn_n = [int(n) for n in re.findall(r"\(n = (\d+)", chart.summary)]
    assert len(drawn_n) == len(chart.categories)
    (metric,) = reply.metrics
    assert metric.detail is not None
    within, n = (int(x) for x in re.findall(r"\d+", metric.detail)[:2])
    assert sum(drawn_n) == n
    assert f"{within} of {n} detractors contacted within 24 h" in chart.summary
    # Each bar is its week's share of its own n.
    shares = [round(100 * w.stats.within_sla / w.stats.n, 1) for w in WEEKS if w.stats.n]
    assert chart.series[0].values == tuple(shares)


async def test_no_week_with_anybody_due_draws_no_chart() -> None:
    quiet = _weeks([NO_FOLLOW_UPS] * 7 + [_stats(0, 0, pending=1)])
    reply, _ = await _ask(
        "followups sla", ClosedLoop(24, (AnswerBand.DETRACTOR,), TOTAL, (), (), quiet)
    )
    assert reply.charts == ()

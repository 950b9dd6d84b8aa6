"""`kpis` on a fake reader: the leader's numbers from one query's typed result.

Each test gives the query's result by hand and checks what a CS leader reads, and that
the handler asked one query for the period and segment it parsed, with the churn model
only when the period runs up to today (the look-ahead at renewals needs it). The query
itself runs against real databases in tests/integration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import Chart, Outcome, Reply, Tone
from bot.router import Router
from metrics_core.config import Config
from metrics_core.revenue.efficiency import CostToRetain
from metrics_core.revenue.kpis import Book, KpiReport, QuarterRetention, Touches, kpi_report
from metrics_core.revenue.rates import RetentionResult
from metrics_core.revenue.renewals import AtStake
from metrics_core.store.models import Segment
from tests.fakes.reader import FakeReader
from tests.routing import RULES, offline_context

TODAY = dt.date(2026, 11, 20)
ME = Actor(Platform.CONSOLE, user_id="U0CSM1")
Q3 = (dt.date(2026, 7, 1), dt.date(2026, 10, 1))

RETENTION = RetentionResult(
    start=Q3[0],
    end=Q3[1],
    segment="Enterprise",
    accounts=10,
    retained_accounts=9,
    churned_accounts=1,
    won_back_accounts=0,
    start_arr=1_000_000.0,
    expansion=120_000.0,
    contraction=30_000.0,
    churn=50_000.0,
    end_arr=1_040_000.0,
    reactivated_arr=0.0,
    new_arr=80_000.0,
    new_accounts=2,
    nrr=1.04,
    grr=0.92,
    logo_retention=0.9,
    gross_revenue_churn=0.08,
    net_revenue_churn=-0.04,
)


def _quarter(start: dt.date, end: dt.date, nrr: float, grr: float) -> QuarterRetention:
    """A quarter's retention with the given rates (the money fields do not matter here)."""
    result = dataclasses.replace(RETENTION, start=start, end=end, nrr=nrr, grr=grr)
    return QuarterRetention(start, result, complete=True)


QUARTERS = (
    _quarter(dt.date(2025, 10, 1), dt.date(2026, 1, 1), 0.97, 0.88),
    _quarter(dt.date(2026, 1, 1), dt.date(2026, 4, 1), 1.012, 0.905),
    _quarter(dt.date(2026, 4, 1), Q3[0], 0.994, 0.9),
    QuarterRetention(Q3[0], RETENTION, complete=True),
)
COST = CostToRetain(Q3[0], Q3[1], 15_000.0, 92, 1_020_000.0, 0.06)
REPORT = KpiReport(
    retention=RETENTION,
    lifetime_value=2_400_000.0,
    cost_to_retain=COST,
    books=tuple(Book(f"CSM {n:02d}", 12 - n, 1_000_000.0 - n * 50_000) for n in range(12)),
    books_on=dt.date(2026, 9, 30),
    touches=(
        Touches("Dana Whitfield", dt.date(2026, 8, 1), 2, 1, 0, 3),
        Touches("Sam Ortiz", dt.date(2026, 9, 1), 1, 0, 1, 0),
    ),
    touch_months=(
        dt.date(2026, 6, 1),
        dt.date(2026, 7, 1),
        dt.date(2026, 8, 1),
        dt.date(2026, 9, 1),
    ),
    touch_start=dt.date(2026, 6, 1),
    touch_end=Q3[1],
    ahead=None,
    quarters=QUARTERS,
)


async def _ask(text: str, reader: FakeReader) -> Reply:
    return await Router(offline_context(reader, today=TODAY)).handle(CommandRequest.parse(text, ME))


def _facts(reply: Reply) -> dict[str, str]:
    return {fact.label: fact.value for fact in reply.facts}


async def test_kpis_of_a_past_quarter_and_segment_read_once_without_the_churn_model() -> None:
    reader = FakeReader({kpi_report: REPORT})
    reply = await _ask("kpis 2026-q3 enterprise", reader)

    (asked,) = reader.asked
    assert asked.query is kpi_report
    assert asked.arguments == {
        "start": Q3[0],
        "end": Q3[1],
        "segment": Segment.ENTERPRISE,
        "today": TODAY,
        "config": Config(),
        "model": None,
    }
    assert reply.heading == "KPIs — Enterprise, Q3 2026"
    assert [(m.label, m.value, m.tone) for m in reply.metrics] == [
        ("NRR", "104.0 %", Tone.GOOD),
        ("GRR", "92.0 %", Tone.GOOD),
        ("Logo retention", "90.0 %", Tone.GOOD),
    ]
    facts = _facts(reply)
    assert facts["Starting ARR"] == "$1.0M across 10 accounts"
    assert facts["Churned ARR"] == "$50k (1 accounts)"
    assert facts["New business (not in NRR)"] == "$80k (2 accounts)"
    assert facts["Customer lifetime value"].startswith("$2.4M at an assumed 80 % gross margin")
    assert facts["Cost to retain"] == (
        "6.0 % of ARR managed, annualised — between the median (6 %) and the 75th percentile (10 %)"
    )
    assert not any(label.startswith("ARR at stake") for label in facts)
    books = reply.tables[0]
    assert books.title == "Books — Enterprise, ARR on 30 Sep 2026 (largest first)"
    assert len(books.rows) == 10
    assert books.rows[0] == ("CSM 00", "12", "$1.0M")
    assert any("past ownership is not recorded" in note for note in reply.notes)


async def test_kpis_up_to_today_look_ahead_with_the_days_churn_model() -> None:
    ahead = AtStake(days=90, due=3, arr_due=400_000.0, at_stake=120_000.0)
    reader = FakeReader({kpi_report: dataclasses.replace(REPORT, ahead=ahead)})
    reply = await _ask("kpis", reader)

    (asked,) = reader.asked
    assert asked.arguments["model"] is RULES
    assert (asked.arguments["start"], asked.arguments["end"]) == (
        dt.date(2025, 11, 21),
        dt.date(2026, 11, 21),
    )
    assert reply.heading == "KPIs — all segments, last 12 months"
    assert _facts(reply)["ARR at stake, next 90 days"] == (
        "$120k of $400k renewing (3 renewals; each renewal's ARR × its churn risk)"
    )


async def test_kpis_without_cs_cost_say_how_to_record_it() -> None:
    missing = CostToRetain(Q3[0], Q3[1], 0.0, 0, 1_020_000.0, None)
    reader = FakeReader({kpi_report: dataclasses.replace(REPORT, cost_to_retain=missing)})
    reply = await _ask("kpis 2026-q3", reader)
    assert _facts(reply)["Cost to retain"] == (
        "no CS cost recorded for all segments, Q3 2026; import it with `closeloop import "
        "cs_costs FILE` (columns period_start, period_end, amount, segment)"
    )


async def test_kpis_touchpoints_leave_out_the_months_before_any_was_recorded() -> None:
    reply = await _ask("kpis 2026-q3", FakeReader({kpi_report: REPORT}))
    (touches,) = [t for t in reply.tables if (t.title or "").startswith("Touchpoints")]
    assert touches.columns == ("CSM", "2026-08", "2026-09")
    assert touches.rows == (
        ("Dana Whitfield", "2/1/0/3", "0/0/0/0"),
        ("Sam Ortiz", "0/0/0/0", "1/0/1/0"),
    )
    assert "No touchpoints recorded in 2026-06 to 2026-07." in reply.notes


async def test_kpis_of_a_book_without_customers_say_so() -> None:
    empty = dataclasses.replace(
        RETENTION, accounts=0, start_arr=0.0, nrr=None, grr=None, logo_retention=None
    )
    reply = await _ask(
        "kpis 2026-q3", FakeReader({kpi_report: dataclasses.replace(REPORT, retention=empty)})
    )
    assert reply.paragraphs == ("No customers with ARR at the start of the period.",)


async def test_kpis_with_a_word_they_do_not_know_read_nothing() -> None:
    reader = FakeReader()
    reply = await _ask("kpis soonish", reader)
    assert reply.heading == "I don't understand “soonish”"
    assert reply.outcome is Outcome.PROBLEM
    assert reader.asked == []


def _chart(reply: Reply) -> Chart:
    (chart,) = reply.charts
    return chart


def _values(chart: Chart) -> dict[str, tuple[float, ...]]:
    return {series.name: series.values for series in chart.series}


async def test_kpis_of_a_quarter_chart_that_quarter_last_with_the_headline_rates() -> None:
    reply = await _ask("kpis 2026-q3 enterprise", FakeReader({kpi_report: REPORT}))
    chart = _chart(reply)
    assert chart.title == "NRR and GRR by quarter — Enterprise"
    assert chart.categories == ("Q4 2025", "Q1 2026", "Q2 2026", "Q3 2026")
    values = _values(chart)
    headline = {metric.label: metric.value for metric in reply.metrics}
    # The quarter asked is the chart's last point, and reads what the metrics say.
    assert f"{values['NRR'][-1]:.1f} %" == headline["NRR"]
    assert f"{values['GRR'][-1]:.1f} %" == headline["GRR"]
    assert values == {"NRR": (97.0, 101.2, 99.4, 104.0), "GRR": (88.0, 90.5, 90.0, 92.0)}
    # The words carry every number the drawing shows.
    assert chart.summary.startswith(
        "NRR Q4 2025 97.0 %, Q1 2026 101.2 %, Q2 2026 99.4 %, Q3 2026 104.0 %; "
        "GRR Q4 2025 88.0 %, Q1 2026 90.5 %, Q2 2026 90.0 %, Q3 2026 92.0 %."
    )
    # A quarter's rate is not a 12-month rate, and the words beside the chart say so.
    assert "own three months" in chart.summary


async def test_kpis_up_to_today_mark_the_quarter_still_running() -> None:
    running = QuarterRetention(
        dt.date(2026, 10, 1),
        dataclasses.replace(RETENTION, start=dt.date(2026, 10, 1), end=dt.date(2026, 11, 21)),
        complete=False,
    )
    report = dataclasses.replace(REPORT, quarters=(*QUARTERS[1:], running))
    chart = _chart(await _ask("kpis", FakeReader({kpi_report: report})))
    assert chart.categories[-1] == "Q4 2026 (to date)"
    assert chart.categories[:-1] == ("Q1 2026", "Q2 2026", "Q3 2026")
    assert chart.summary.endswith("Q4 2026 (to date) covers the quarter's days so far.")


async def test_kpis_with_one_quarter_on_record_draw_no_trend() -> None:
    report = dataclasses.replace(REPORT, quarters=QUARTERS[-1:])
    reply = await _ask("kpis 2026-q3", FakeReader({kpi_report: report}))
    assert reply.charts == ()
    assert reply.metrics[0].value == "104.0 %"

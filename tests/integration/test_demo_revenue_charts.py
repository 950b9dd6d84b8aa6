"""The charts in `kpis`, `renewals` and `followups sla` on the demo book agree with the answers.

A reader compares a chart with the numbers printed next to it, and with the same
question asked for a shorter period: the quarter asked is the NRR chart's last point with
the headline's rates, every quarter on the chart reads what that quarter asked on its own
reads, the months of the renewals chart add up to the totals the answer prints, and the
weeks of the SLA chart add up to the detractors the answer counts.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.formatting import money, percent
from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import Chart, Reply
from bot.router import Router
from metrics_core.config import Config
from metrics_core.revenue.renewals import renewals_report
from metrics_core.store.db import Database
from tests.integration.conftest import DEMO_AS_OF
from tests.routing import router_for

AS_OF = DEMO_AS_OF
# Seeded time ends at the start of the as-of day; the user asks a few hours later.
NOW = dt.datetime.combine(AS_OF, dt.time(9), tzinfo=dt.UTC)
ME = Actor(Platform.CONSOLE, user_id="U0CSM1")


@pytest.fixture(scope="module")
def router(demo: Database) -> Router:
    return router_for(demo, Config(), now=NOW)


async def ask(router: Router, text: str) -> Reply:
    reply = await router.handle(CommandRequest.parse(text, ME))
    assert reply.outcome == "answer", (text, reply.heading, reply.paragraphs)
    return reply


def only_chart(reply: Reply) -> Chart:
    (chart,) = reply.charts
    return chart


def series(chart: Chart) -> dict[str, tuple[float, ...]]:
    return {line.name: line.values for line in chart.series}


def headline(reply: Reply) -> dict[str, str]:
    return {metric.label: metric.value for metric in reply.metrics}


def shown(value: float) -> str:
    """A chart value in percent as the metrics print a share."""
    return percent(value / 100)


# kpis


@pytest.mark.parametrize("segment", ["", " smb", " enterprise"])
async def test_the_quarter_asked_is_the_last_point_with_the_headline_rates(
    router: Router, segment: str
) -> None:
    reply = await ask(router, f"kpis 2026-q3{segment}")
    chart = only_chart(reply)
    assert chart.categories[-1] == "Q3 2026"
    assert 4 <= len(chart.categories) <= 8
    rates = series(chart)
    assert shown(rates["NRR"][-1]) == headline(reply)["NRR"]
    assert shown(rates["GRR"][-1]) == headline(reply)["GRR"]
    assert max(rates["GRR"]) <= 100.0
    assert f"Q3 2026 {headline(reply)['NRR']}; GRR" in chart.summary


async def test_every_quarter_on_the_chart_reads_what_it_reads_asked_alone(
    router: Router,
) -> None:
    chart = only_chart(await ask(router, "kpis"))
    assert chart.categories[-1] == "Q4 2026 (to date)"
    rates = series(chart)
    for position, label in enumerate(chart.categories):
        quarter, year = label.split()[:2]
        # The quarter still running is today's quarter so far: `this quarter` asks the same.
        asked = "this quarter" if "to date" in label else f"{year}-{quarter}"
        alone = headline(await ask(router, f"kpis {asked}"))
        assert (shown(rates["NRR"][position]), shown(rates["GRR"][position])) == (
            alone["NRR"],
            alone["GRR"],
        ), label


# renewals


async def test_the_months_add_up_to_the_printed_totals(router: Router, demo: Database) -> None:
    reply = await ask(router, "renewals 90")
    chart = only_chart(reply)
    months = series(chart)
    facts = {fact.label: fact.value for fact in reply.facts}
    due = len(re.findall(r"\b\d{4}-\d{2}-\d{2}\b", " ".join(r[1] for r in reply.tables[0].rows)))
    assert due > 0
    assert facts["Due"].endswith(f", {money(sum(months['ARR renewing']))} ARR")
    assert headline(reply)["ARR at stake"] == money(sum(months["ARR at stake"]))
    assert len(chart.categories) == 4  # 6 Dec to 6 Mar: Dec, Jan, Feb, Mar
    # To the cent, against the query the answer read.
    model = await router.context.churn_model(AS_OF)
    with demo.reading() as session:
        report = renewals_report(session, as_of=AS_OF, days=90, config=Config(), model=model)
    assert sum(months["ARR renewing"]) == pytest.approx(report.arr_due, abs=0.01)
    assert sum(months["ARR at stake"]) == pytest.approx(report.at_stake, abs=0.01)
    assert all(
        stake <= renewing
        for stake, renewing in zip(months["ARR at stake"], months["ARR renewing"], strict=True)
    )


# followups sla


def weekly_n(chart: Chart) -> list[int]:
    return [int(n) for n in re.findall(r"\(n = (\d+)", chart.summary)]


async def test_the_weeks_add_up_to_the_detractors_the_answer_counts(router: Router) -> None:
    reply = await ask(router, "followups sla 12w")
    chart = only_chart(reply)
    (metric,) = reply.metrics
    assert metric.detail is not None
    within, n = (int(number) for number in re.findall(r"\d+", metric.detail)[:2])
    counts = weekly_n(chart)
    # Every drawn week has its n, and nobody due is never drawn.
    assert len(counts) == len(chart.categories) >= 8
    assert all(count > 0 for count in counts)
    assert sum(counts) == n
    assert f"{within} of {n} detractors contacted within 24 h" in chart.summary


async def test_a_week_reads_what_the_same_seven_days_asked_read(router: Router) -> None:
    chart = only_chart(await ask(router, "followups sla 8w"))
    # `7d` is the last seven days up to today: the chart's last week.
    last_week = await ask(router, "followups sla 7d")
    (metric,) = last_week.metrics
    assert metric.detail is not None
    n = int(re.findall(r"\d+", metric.detail)[1])
    assert n > 0, "the demo team has detractors due every week"
    assert chart.categories[-1] == "30 Nov–6 Dec"
    assert percent(chart.series[0].values[-1] / 100, 0) == metric.value
    assert weekly_n(chart)[-1] == n
    # The default 30 days draw the same eight weeks.
    assert only_chart(await ask(router, "followups sla")).categories == chart.categories

"""The charts in the answers, checked against the data they are drawn from.

On the demo book (`closeloop seed` with its defaults, a quarter of weekly snapshots
stored as the service would have): Acme's health line ends at the score its headline
shows and passes through its stored snapshots, the NPS bars count every answer of their
months, the churn-risk bands hold every customer with a probability, and the digest's
movers chart shows the moves its tables list. The health history query itself is held
to its weekly rule on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from sqlalchemy import func, select

from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import Chart, ChartKind, Reply
from bot.router import Router
from metrics_core.accounts.lookup import account_by_external_id
from metrics_core.churn.daily_model import RiskModels
from metrics_core.churn.report import RISK_BAND_EDGES
from metrics_core.churn.risk import churn_risk
from metrics_core.config import Config
from metrics_core.health.cache import HealthCache
from metrics_core.health.report import HISTORY_DAYS, health_report
from metrics_core.health.scorecard import store_snapshots
from metrics_core.store.db import Database
from metrics_core.store.models import HealthSnapshot, SurveyKind, SurveyResponse
from metrics_core.surveys.report import trend_start
from tests import factories as f
from tests.integration.conftest import DEMO_AS_OF
from tests.routing import router_for

AS_OF = DEMO_AS_OF
ME = Actor(Platform.CONSOLE, user_id="U0CSM1")
WEEKS = 12
CONFIG = Config()


@pytest.fixture(scope="module")
def demo(demo: Database) -> Database:
    """The demo book, with every account's health stored weekly back 12 weeks and today."""
    for weeks in range(WEEKS, -1, -1):
        store_snapshots(demo.engine, AS_OF - dt.timedelta(weeks=weeks), CONFIG)
    return demo


@pytest.fixture(scope="module")
def router(demo: Database) -> Router:
    return router_for(demo, CONFIG, today=AS_OF)


async def ask(router: Router, text: str) -> Reply:
    return await router.handle(CommandRequest.parse(text, ME))


def only_chart(reply: Reply, title: str) -> Chart:
    (chart,) = [chart for chart in reply.charts if chart.title.startswith(title)]
    return chart


async def test_acmes_health_line_ends_at_its_score_and_passes_its_snapshots(
    router: Router, demo: Database
) -> None:
    reply = await ask(router, "health acme")
    chart = only_chart(reply, "Health, last")
    (line,) = chart.series
    assert chart.kind is ChartKind.LINE
    headline = reply.metrics[0].value
    assert f"{line.values[-1]:.0f}/100" == headline
    assert chart.summary.startswith(f"Health {headline.split('/')[0]} today")
    with demo.reading() as session:
        acme = account_by_external_id(session, "ACME")
        assert acme is not None
        rows = session.execute(
            select(HealthSnapshot.day, HealthSnapshot.score).where(
                HealthSnapshot.account_id == acme.id, HealthSnapshot.day < AS_OF
            )
        )
        stored = {row.day: row.score for row in rows}
    # One point a week from the stored snapshots, oldest first, then today's score.
    weekly = [AS_OF - dt.timedelta(weeks=weeks) for weeks in range(WEEKS, 0, -1)]
    assert chart.categories == (*(f"{day:%b %d}" for day in weekly), f"{AS_OF:%b %d}")
    assert list(line.values[:-1]) == [round(stored[day], 1) for day in weekly]
    bands = CONFIG.health.bands
    assert [(t.label, t.value) for t in chart.thresholds] == [
        ("Red below 40", bands.red_below),
        ("Green from 70", bands.green_from),
    ]


async def test_nps_months_count_every_answer_of_the_months_shown(
    router: Router, demo: Database
) -> None:
    reply = await ask(router, "nps")
    (table,) = [t for t in reply.tables if t.title == "Monthly trend"]
    chart = only_chart(reply, "NPS by month")
    said = [int(n) for n in re.findall(r"n = (\d+)", chart.summary)]
    assert said == [int(row[2]) for row in table.rows if row[2] != "0"]
    assert len(said) == len(chart.categories)
    end = AS_OF + dt.timedelta(days=1)  # the default period runs through today
    since = dt.datetime.combine(trend_start(end), dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    with demo.reading() as session:
        answers = session.scalar(
            select(func.count()).where(
                SurveyResponse.kind == SurveyKind.NPS,
                SurveyResponse.submitted_at >= since,
                SurveyResponse.submitted_at < until,
            )
        )
    assert answers and sum(said) == answers


async def test_churn_risk_bands_hold_every_customer_with_a_probability(
    router: Router, demo: Database
) -> None:
    reply = await ask(router, "churn top")
    chart = only_chart(reply, "Churn risk across")
    counts = [int(value) for value in chart.series[0].values]
    with demo.reading() as session:
        model = RiskModels(CONFIG).get(session, AS_OF)
        risk = churn_risk(session, AS_OF, CONFIG, model)["probability"]
    known = risk.dropna()
    edges = [0.0, *RISK_BAND_EDGES, float("inf")]
    expected = pd.cut(known, edges, right=False).value_counts(sort=False).tolist()
    assert counts == expected
    assert f"Churn risk of {len(known):,} customers:" in chart.summary
    missing = int(risk.isna().sum())
    if missing:
        assert f"{missing:,} more customer" in chart.summary


async def test_the_digests_movers_chart_shows_the_moves_its_tables_list(router: Router) -> None:
    reply = await ask(router, "digest preview weekly")
    chart = only_chart(reply, "Biggest health moves")
    listed = {
        row[0]: int(row[2])
        for table in reply.tables
        if (table.title or "").startswith("Biggest")
        for row in table.rows
    }
    moved = dict(zip(chart.categories, chart.series[0].values, strict=True))
    assert set(moved) <= set(listed)
    assert {name: round(value) for name, value in moved.items()} == {
        name: listed[name] for name in moved
    }
    sizes = [abs(value) for value in moved.values()]
    assert sizes == sorted(sizes, reverse=True) and len(sizes) <= 10


def test_the_history_keeps_the_latest_snapshot_of_each_week_and_ends_today(db: Database) -> None:
    with db.writing() as session:
        acme = f.account(session, seats=100)
        f.daily_usage(session, acme.id, AS_OF, 30, 5, {"reports": 3})
        # Daily snapshots for three weeks, one 13 weeks back (beyond the quarter), and a
        # week with a single mid-week snapshot.
        days = {AS_OF - dt.timedelta(days=n): 50.0 + n for n in range(1, 22)}
        days[AS_OF - dt.timedelta(days=7 * 13)] = 99.0
        days[AS_OF - dt.timedelta(days=38)] = 42.0
        for day, score in days.items():
            session.add(HealthSnapshot(account_id=acme.id, day=day, score=score, band="yellow"))
    cache = HealthCache(CONFIG)
    with db.reading() as session:
        report = health_report(session, text="acme", as_of=AS_OF, cache=cache)
    assert report.health is not None
    points = [(point.day, point.score) for point in report.history]
    back = [(AS_OF - day).days for day, _ in points]
    assert back == [38, 21, 14, 7, 0]
    assert all(n <= HISTORY_DAYS for n in back)
    assert points[-1] == (AS_OF, report.health.score)
    assert [score for _, score in points[:-1]] == [days[day] for day, _ in points[:-1]]

"""The demo book has the history `health validity` and `nps insights` need to say something.

A newcomer's first `health validity` should show real rates, an AUC with its interval and
per-component signal rather than "not enough renewals yet", and `nps insights` should have
enough promoters and detractors with a renewal to compare them.
"""

from __future__ import annotations

from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import Outcome
from metrics_core.config import Config
from metrics_core.health.validity import health_validity
from metrics_core.store.db import Database
from metrics_core.store.models import AnswerBand
from metrics_core.surveys.insights import MIN_PER_BAND, Verdict, nps_insights
from tests.integration.conftest import DEMO_AS_OF
from tests.routing import router_for

DANA = Actor(Platform.SLACK, user_id="U0CSM1")


async def test_health_validity_on_the_demo_book(demo: Database) -> None:
    with demo.reading() as session:
        report = health_validity(session, as_of=DEMO_AS_OF, config=Config())
    assert report.enough
    assert report.auc is not None and report.auc.ci_low is not None
    assert sum(row.churn.n for row in report.bands) == report.renewals
    assert sum(1 for row in report.bands if row.churn.n) >= 2
    assert all(component.auc is not None for component in report.components)
    assert report.suggestion_missing is None  # enough churns to suggest weights

    router = router_for(demo, today=DEMO_AS_OF)
    reply = await router.handle(CommandRequest.parse("health validity", DANA))
    assert reply.outcome is Outcome.ANSWER
    assert [table.title for table in reply.tables] == [
        "Churn at the next renewal, by band 60–89 days before the renewal",
        "Which components carried signal",
    ]


async def test_nps_insights_on_the_demo_book(demo: Database) -> None:
    with demo.reading() as session:
        report = nps_insights(session, as_of=DEMO_AS_OF)
    by_band = {row.band: row.renewals for row in report.bands}
    assert min(by_band[AnswerBand.PROMOTER], by_band[AnswerBand.DETRACTOR]) >= MIN_PER_BAND
    assert report.expansion.verdict is not Verdict.TOO_FEW
    assert report.churn.verdict is not Verdict.TOO_FEW

    router = router_for(demo, today=DEMO_AS_OF)
    reply = await router.handle(CommandRequest.parse("nps insights", DANA))
    assert reply.outcome is Outcome.ANSWER
    assert reply.paragraphs[0].startswith("Expanded: promoters")

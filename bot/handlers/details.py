"""Account details: one account at a glance, from the Account details button.

Health, churn risk, the next renewal and the year's NPS side by side: what a CSM wants
before a call, without typing three commands.
"""

from __future__ import annotations

import datetime as dt

from bot.context import BotContext
from bot.formatting import likelihood, money
from bot.handlers.health import BAND_TONE
from bot.reply import Fact, Metric, Outcome, Reply, Tone
from metrics_core.accounts.lookup import find_accounts
from metrics_core.churn.risk import account_risk
from metrics_core.store.frames import survey_responses
from metrics_core.store.models import SurveyKind
from metrics_core.surveys.nps import nps


async def account_details(external_id: str, context: BotContext) -> Reply:
    found = await context.db.read(lambda session: find_accounts(session, external_id))
    account = next((a for a in found if a.external_id == external_id), None)
    if account is None:
        return Reply(heading="That account no longer exists", outcome=Outcome.PROBLEM)
    today = context.today()
    model = await context.db.read(lambda session: context.risk.get(session, today))
    health = await context.db.read(lambda session: context.health.get(session, account.id, today))
    risk = await context.db.read(
        lambda session: account_risk(session, today, context.config, model, account.id)
    )
    year_ago = dt.datetime.combine(today - dt.timedelta(days=365), dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    answers = await context.db.read(
        lambda session: survey_responses(
            session, year_ago, until, kind=SurveyKind.NPS, account_ids=[account.id]
        )
    )
    score = nps(answers["score"])
    currency = context.config.revenue.currency
    metrics = []
    facts = [
        Fact("External id", account.external_id),
        Fact("Segment", account.segment.value),
        Fact("Owner", account.owner_name or "unassigned"),
        Fact("Seats", f"{account.seats:,}" if account.seats > 0 else "not recorded"),
        Fact("Lifecycle", account.lifecycle_stage.value),
    ]
    if health is not None:
        metrics.append(Metric("Health", f"{health.score:.0f}/100", tone=BAND_TONE[health.band]))
    if risk is not None:
        high = context.config.churn.high_risk_from
        metrics.append(
            Metric(
                "Churn risk",
                likelihood(float(risk["probability"])),
                tone=Tone.BAD if risk["probability"] >= high else Tone.NEUTRAL,
            )
        )
        facts.insert(3, Fact("ARR", money(float(risk["arr"]), currency)))
        if risk["days_to_renewal"] == risk["days_to_renewal"]:  # not NaN
            renewal = today + dt.timedelta(days=int(risk["days_to_renewal"]))
            facts.append(Fact("Next renewal", f"{renewal:%Y-%m-%d}"))
    metrics.append(
        Metric(
            "NPS, 12 months",
            "—" if score.score is None else f"{score.score:+.0f}",
            detail=f"n = {score.n}",
        )
    )
    return Reply(heading=f"{account.name} — account", metrics=tuple(metrics), facts=tuple(facts))

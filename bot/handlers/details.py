"""Account details: one account at a glance, from the Account details button.

Health, churn risk, the next renewal and the year's NPS side by side: what a CSM wants
before a call, without typing three commands, read in one query.
"""

from __future__ import annotations

import functools

from bot.context import BotContext
from bot.formatting import likelihood, money
from bot.handlers.health import BAND_TONE
from bot.reply import Fact, Metric, Outcome, Reply, Tone
from metrics_core.config import Config
from metrics_core.health.report import AccountDetails
from metrics_core.health.report import account_details as details_report


async def account_details(external_id: str, context: BotContext) -> Reply:
    today = context.today()
    model = await context.churn_model(today)
    details = await context.db.read(
        functools.partial(
            details_report,
            external_id=external_id,
            as_of=today,
            config=context.config,
            model=model,
            cache=context.health,
        )
    )
    if details is None:
        return Reply(heading="That account no longer exists", outcome=Outcome.PROBLEM)
    return details_reply(details, context.config)


def details_reply(details: AccountDetails, config: Config) -> Reply:
    """Account details as one card: the numbers first, then the facts about the account."""
    account, health, risk, score = details.account, details.health, details.risk, details.nps
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
        high = config.churn.high_risk_from
        metrics.append(
            Metric(
                "Churn risk",
                likelihood(risk.probability),
                tone=Tone.BAD
                if risk.probability is not None and risk.probability >= high
                else Tone.NEUTRAL,
            )
        )
        facts.insert(3, Fact("ARR", money(risk.arr, config.revenue.currency)))
        if risk.renewal_date is not None:
            facts.append(Fact("Next renewal", f"{risk.renewal_date:%Y-%m-%d}"))
    metrics.append(
        Metric(
            "NPS, 12 months",
            "—" if score.score is None else f"{score.score:+.0f}",
            detail=f"n = {score.n}",
        )
    )
    return Reply(heading=f"{account.name} — account", metrics=tuple(metrics), facts=tuple(facts))

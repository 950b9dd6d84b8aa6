"""An account's health as answers read it: `health <account>` and Account details.

Each function is one query (`metrics_core.store.db.Query`): finding the account and
reading about it share one transaction and one trip to the database thread, which is
most of what a cached answer costs. Results are frozen dataclasses.

The health answer also shows how the score moved over the last quarter. That history is
what the daily snapshots stored (`metrics_core.health.daily`), never a recompute of past
days: one read of the account's snapshots by its primary key, thinned to a point a week,
so the cached answer stays one account lookup, one version check and one small range scan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.accounts.lookup import (
    AccountRef,
    Resolution,
    account_by_external_id,
    resolve_account,
)
from metrics_core.churn.report import AccountRisk, account_risk
from metrics_core.churn.risk import RiskModel
from metrics_core.config import Config
from metrics_core.health.cache import HealthCache
from metrics_core.health.scorecard import HealthResult
from metrics_core.store.frames import survey_responses
from metrics_core.store.models import HealthSnapshot, SurveyKind
from metrics_core.surveys.nps import NpsResult, nps

NPS_DAYS = 365
"""Account details show the NPS of the last year: enough answers to say something."""
HISTORY_DAYS = 90
"""The health answer's history reaches this many days back: a quarter, one QBR to the next."""
HISTORY_STEP = 7
"""One point a week: 13 points for a quarter, few enough to read and for every chart."""


@dataclass(frozen=True, slots=True)
class HealthPoint:
    """An account's health score on a day."""

    day: dt.date
    score: float


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """`health <account>`: what the text named and, for one customer, its health.

    `health` is None when the text named no single account (see `resolution`) or the
    account is not a customer on the day asked.
    """

    resolution: Resolution
    health: HealthResult | None = None
    history: tuple[HealthPoint, ...] = ()
    """The score over the last `HISTORY_DAYS` days, oldest first, a point a week, ending with
    today's (`health.score`, as the answer shows it). Earlier points are stored snapshots,
    each the latest of its week; weeks without one have no point. Empty without `health`;
    only today's point when no snapshot is stored yet."""


@dataclass(frozen=True, slots=True)
class AccountDetails:
    """One account at a glance: health, churn risk and the year's NPS side by side.

    `health` and `risk` are None when the account is not a customer on the day asked.
    """

    account: AccountRef
    health: HealthResult | None
    risk: AccountRisk | None
    nps: NpsResult


def health_report(
    session: Session, *, text: str, as_of: dt.date, cache: HealthCache
) -> AccountHealth:
    """`health <account>` in one transaction: the account `text` names and its health.

    The health comes from `cache`, so a question asked again costs the account lookup,
    one version check and the read of its stored history (`health_history`).
    """
    resolution = resolve_account(session, text)
    if resolution.match is None:
        return AccountHealth(resolution)
    health = cache.get(session, resolution.match.id, as_of)
    if health is None:
        return AccountHealth(resolution)
    return AccountHealth(resolution, health, health_history(session, resolution.match.id, health))


def health_history(
    session: Session, account_id: int, health: HealthResult
) -> tuple[HealthPoint, ...]:
    """`AccountHealth.history`: stored weekly points up to `health`, which ends it.

    Week k (k = 1, 2, …) is the seven days from k weeks before `health.as_of` back; its
    point is the latest snapshot in it (k weeks back exactly, when snapshots are daily),
    within `HISTORY_DAYS`. The last six days' snapshots are not used: today's score, the
    one the answer's headline shows, stands for that week.
    """
    as_of = health.as_of
    first = as_of - dt.timedelta(days=HISTORY_DAYS)
    # One range scan of the (account_id, day) primary key.
    rows = session.execute(
        select(HealthSnapshot.day, HealthSnapshot.score)
        .where(
            HealthSnapshot.account_id == account_id,
            HealthSnapshot.day >= first,
            HealthSnapshot.day <= as_of - dt.timedelta(days=HISTORY_STEP),
        )
        .order_by(HealthSnapshot.day)
    ).all()
    weekly: dict[int, HealthPoint] = {}
    for day, score in rows:  # oldest first, so each week keeps its latest
        weekly[(as_of - day).days // HISTORY_STEP] = HealthPoint(day, float(score))
    earlier = (weekly[week] for week in sorted(weekly, reverse=True))
    return (*earlier, HealthPoint(as_of, health.score))


def account_details(
    session: Session,
    *,
    external_id: str,
    as_of: dt.date,
    config: Config,
    model: RiskModel,
    cache: HealthCache,
) -> AccountDetails | None:
    """Account details in one transaction; None if no account has `external_id` any more."""
    account = account_by_external_id(session, external_id)
    if account is None:
        return None
    since = dt.datetime.combine(as_of - dt.timedelta(days=NPS_DAYS), dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    answers = survey_responses(session, since, until, kind=SurveyKind.NPS, account_ids=[account.id])
    return AccountDetails(
        account=account,
        health=cache.get(session, account.id, as_of),
        risk=account_risk(session, account_id=account.id, as_of=as_of, config=config, model=model),
        nps=nps(answers["score"]),
    )

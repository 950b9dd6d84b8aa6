"""An account's health as answers read it: `health <account>` and Account details.

Each function is one query (`metrics_core.store.db.Query`): finding the account and
reading about it share one transaction and one trip to the database thread, which is
most of what a cached answer costs. Results are frozen dataclasses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
from metrics_core.store.models import SurveyKind
from metrics_core.surveys.nps import NpsResult, nps

NPS_DAYS = 365
"""Account details show the NPS of the last year: enough answers to say something."""


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """`health <account>`: what the text named and, for one customer, its health.

    `health` is None when the text named no single account (see `resolution`) or the
    account is not a customer on the day asked.
    """

    resolution: Resolution
    health: HealthResult | None = None


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

    The health comes from `cache`, so a question asked again costs the account lookup
    and one version check.
    """
    resolution = resolve_account(session, text)
    if resolution.match is None:
        return AccountHealth(resolution)
    return AccountHealth(resolution, cache.get(session, resolution.match.id, as_of))


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

"""The whole book at once: every customer's health and churn risk from one set of inputs.

Digests, App Home and `churn top` want both numbers for many accounts; gathering the
inputs once and scoring them twice is what keeps the portfolio view within a second or two.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from metrics_core.churn.report import AccountRisk
from metrics_core.churn.risk import RiskModel, churn_risk
from metrics_core.config import Config
from metrics_core.followups.work import OpenFollowUp, open_follow_ups
from metrics_core.health.inputs import account_inputs
from metrics_core.health.scorecard import Band, score_frame
from metrics_core.store.frames import account_names


def portfolio(
    session: Session,
    as_of: dt.date,
    config: Config,
    model: RiskModel,
    owner_id: int | None = None,
    *,
    with_names: bool = False,
) -> pd.DataFrame:
    """Per customer: inputs, component scores, `score`, `band`, `probability`, `drivers`.

    With `owner_id`, only that CSM's book; `with_names` adds `account` and `owner`.
    """
    inputs = account_inputs(session, as_of, config)
    if owner_id is not None:
        inputs = inputs.take(inputs.columns["owner_id"] == owner_id)
    health = score_frame(inputs, config)
    risk = churn_risk(session, as_of, config, model, inputs=inputs)
    result = inputs.frame().join(health).join(risk)
    return result.join(account_names(session, result.index)) if with_names else result


@dataclass(frozen=True, slots=True)
class BookAccount:
    """One customer of a CSM's book: its health, and its churn risk with the next renewal."""

    account: str
    score: float
    band: Band
    risk: AccountRisk


@dataclass(frozen=True, slots=True)
class Book:
    """A CSM's book of business at a glance (the home screen), in the order a morning goes.

    `lowest_health` holds every customer, worst health first; `at_risk` those at
    `high_risk_from` churn risk or more, riskiest first; `renewing` those renewing within
    `renewal_days`, soonest first; `waiting` the open survey follow-ups, oldest first.
    """

    accounts: int
    arr: float
    average_health: float | None
    red: int
    lowest_health: tuple[BookAccount, ...]
    high_risk_from: float
    at_risk: tuple[BookAccount, ...]
    renewal_days: int
    renewing: tuple[BookAccount, ...]
    renewing_arr: float
    waiting: tuple[OpenFollowUp, ...]


def book(
    session: Session,
    *,
    owner_id: int,
    as_of: dt.date,
    config: Config,
    model: RiskModel,
    renewal_days: int,
) -> Book:
    """One CSM's book and open follow-ups in one transaction, for the home screen."""
    frame = portfolio(session, as_of, config, model, owner_id=owner_id, with_names=True)
    accounts = [
        BookAccount(
            account=str(row.account),
            score=float(row.score),
            band=Band(row.band),
            risk=AccountRisk.scored(
                as_of,
                probability=row.probability,
                drivers=row.drivers,
                arr=row.arr,
                renewal_arr=row.renewal_arr,
                days_to_renewal=row.days_to_renewal,
            ),
        )
        for row in frame.itertuples()
    ]
    high_from = config.churn.high_risk_from
    at_risk = [
        a for a in accounts if a.risk.probability is not None and a.risk.probability >= high_from
    ]
    renewing = [
        a
        for a in accounts
        if a.risk.days_to_renewal is not None and a.risk.days_to_renewal <= renewal_days
    ]
    return Book(
        accounts=len(accounts),
        arr=sum(a.risk.arr or 0.0 for a in accounts),
        average_health=sum(a.score for a in accounts) / len(accounts) if accounts else None,
        red=sum(a.band is Band.RED for a in accounts),
        lowest_health=tuple(sorted(accounts, key=lambda a: a.score)),
        high_risk_from=high_from,
        at_risk=tuple(sorted(at_risk, key=lambda a: -(a.risk.probability or 0.0))),
        renewal_days=renewal_days,
        renewing=tuple(sorted(renewing, key=lambda a: a.risk.days_to_renewal or 0)),
        renewing_arr=sum(a.risk.renewal_arr or 0.0 for a in renewing),
        waiting=tuple(open_follow_ups(session, owner_id=owner_id)),
    )

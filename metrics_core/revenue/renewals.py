"""Renewals ahead: what is due, what is at stake, and how many the history says will renew.

The forecast uses the shifted-beta-geometric model (`metrics_core.revenue.cohorts`): renewal
outcomes are grouped by how many times the account had renewed before, which turns the
book into one pseudo-cohort whose survivors at renewal t are the product of the observed
renewal rates up to t (a life-table estimate, so accounts too young to have reached a
renewal are not counted as lost). The sBG fit then gives each upcoming renewal the
probability of renewing that its position in the customer's life implies. With too little
history for two renewal periods, the plain observed renewal rate is used and said so.

`renewals_by_month` spreads the renewals due over the calendar months of the horizon (its
quarters when the horizon is long), each month's ARR at stake by the same definition as
the total, so the months add up to the figure the answer prints.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.churn.risk import RiskModel, churn_risk
from metrics_core.config import Config
from metrics_core.health.inputs import account_inputs, known
from metrics_core.health.scorecard import Band, score_frame
from metrics_core.revenue.cohorts import SbgFit, fit_sbg
from metrics_core.store.models import Account, Renewal, RenewalStatus, Segment, TeamMember

PSEUDO_COHORT = 1000.0
MIN_OUTCOMES_PER_PERIOD = 10


def _history(session: Session, as_of: dt.date) -> pd.DataFrame:
    """Every renewal up to the horizon with its position in the account's life (1 = first)."""
    rows = session.execute(
        select(Renewal.id, Renewal.account_id, Renewal.renewal_date, Renewal.arr, Renewal.status)
    ).all()
    frame = pd.DataFrame(
        [tuple(r) for r in rows], columns=["id", "account_id", "renewal_date", "arr", "status"]
    )
    frame = frame.sort_values(["account_id", "renewal_date"])
    frame["position"] = frame.groupby("account_id").cumcount() + 1
    frame["status"] = frame["status"].map(lambda s: s.value)
    return frame


def _survivors(history: pd.DataFrame, as_of: dt.date) -> list[float]:
    resolved = history[
        (history["renewal_date"] < as_of)
        & history["status"].isin((RenewalStatus.RENEWED.value, RenewalStatus.CHURNED.value))
    ]
    survivors = [PSEUDO_COHORT]
    for position, group in resolved.groupby("position"):
        if len(group) < MIN_OUTCOMES_PER_PERIOD or position != len(survivors):
            break
        rate = (group["status"] == RenewalStatus.RENEWED.value).mean()
        survivors.append(survivors[-1] * rate)
    return survivors


@dataclass(frozen=True, slots=True)
class RenewalForecast:
    due: int
    arr_due: float
    expected_renewals: float
    expected_arr: float
    fit: SbgFit | None  # None: the observed renewal rate was used
    observed_rate: float | None


def forecast(session: Session, as_of: dt.date, days: int) -> RenewalForecast:
    """Expected renewals and ARR among those due in the next `days` days."""
    history = _history(session, as_of)
    until = as_of + dt.timedelta(days=days)
    due = history[
        (history["renewal_date"] >= as_of)
        & (history["renewal_date"] <= until)
        & (history["status"] == RenewalStatus.UPCOMING.value)
    ]
    survivors = _survivors(history, as_of)
    fit: SbgFit | None = None
    observed: float | None = None
    if len(survivors) >= 3 and survivors[-1] < survivors[0]:
        try:
            fit = fit_sbg(survivors)
        except ValueError:
            fit = None
    if fit is not None:
        rates = pd.Series(fit.retention_rate(due["position"].to_numpy()), index=due.index)
    else:
        observed = survivors[1] / PSEUDO_COHORT if len(survivors) >= 2 else None
        rates = pd.Series(observed if observed is not None else float("nan"), index=due.index)
    return RenewalForecast(
        due=len(due),
        arr_due=float(due["arr"].sum()),
        expected_renewals=float(rates.sum()) if rates.notna().all() else float("nan"),
        expected_arr=float((rates * due["arr"]).sum()) if rates.notna().all() else float("nan"),
        fit=fit,
        observed_rate=observed,
    )


def arr_at_stake(renewal_arr: pd.Series, probability: pd.Series) -> float:
    """The ARR a set of renewals is expected to lose: Σ renewal ARR × churn probability.

    The one definition of "ARR at stake" (renewals, digests, KPIs and churn top use it):
    each renewal's ARR weighted by the probability of churning at that renewal. A renewal
    with no probability (beyond the churn horizon) adds nothing rather than a guess.
    """
    weighted = renewal_arr.astype(float) * probability.astype(float)
    return float(weighted.fillna(0.0).sum())


@dataclass(frozen=True, slots=True)
class AtStake:
    """Open renewals due in the next `days` days and the ARR they are expected to lose."""

    days: int
    due: int
    arr_due: float
    at_stake: float


def at_stake(
    session: Session,
    as_of: dt.date,
    days: int,
    config: Config,
    model: RiskModel,
    segment: Segment | None = None,
) -> AtStake:
    """ARR at stake in the renewals due in the next `days` days, for `kpis` and the like."""
    due = renewals_due(session, as_of, days, config, model, segment=segment)
    if due.empty:
        return AtStake(days, 0, 0.0, 0.0)
    return AtStake(
        days, len(due), float(due["arr"].sum()), arr_at_stake(due["arr"], due["probability"])
    )


def renewals_due(
    session: Session,
    as_of: dt.date,
    days: int,
    config: Config,
    model: RiskModel,
    *,
    segment: Segment | None = None,
) -> pd.DataFrame:
    """Open renewals in the next `days` days with ARR at stake, health and churn risk."""
    rows = session.execute(
        select(
            Renewal.account_id,
            Account.name,
            TeamMember.name,
            Renewal.renewal_date,
            Renewal.arr,
        )
        .join(Account, Account.id == Renewal.account_id)
        .outerjoin(TeamMember, TeamMember.id == Account.owner_id)
        .where(
            Renewal.renewal_date >= as_of,
            Renewal.renewal_date <= as_of + dt.timedelta(days=days),
            Renewal.status == RenewalStatus.UPCOMING,
            *([Account.segment == segment] if segment is not None else []),
        )
        .order_by(Renewal.renewal_date, Account.name)
    ).all()
    frame = pd.DataFrame(
        [tuple(r) for r in rows], columns=["account_id", "account", "owner", "renewal_date", "arr"]
    )
    if frame.empty:
        return frame.assign(score=[], band=[], probability=[], drivers=[])
    inputs = account_inputs(session, as_of, config, list(map(int, frame["account_id"])))
    health = score_frame(inputs, config)[["score", "band"]]
    risk = churn_risk(session, as_of, config, model, inputs=inputs)[["probability", "drivers"]]
    return frame.join(health.join(risk), on="account_id")


@dataclass(frozen=True, slots=True)
class DueRenewal:
    """One open renewal ahead, with the account's health and churn risk today.

    `score`, `band` and `probability` are None when the account has no health (not a
    customer today) or no probability (its renewal is beyond the churn horizon).
    """

    account: str
    owner: str | None
    renewal_date: dt.date
    arr: float
    score: float | None
    band: Band | None
    probability: float | None

    @property
    def at_stake(self) -> float | None:
        """This renewal's share of ARR at stake: its ARR × its churn risk."""
        return None if self.probability is None else self.arr * self.probability


@dataclass(frozen=True, slots=True)
class RenewalsReport:
    """`renewals [days]`: what is due, what is at stake, and what the history forecasts.

    `renewals` are ordered by ARR at stake, largest first (renewals without a churn
    probability last), then by date. "High risk" means a churn probability of at least
    `high_risk_from` (`churn.high_risk_from`).
    """

    days: int
    renewals: tuple[DueRenewal, ...]
    arr_due: float
    at_stake: float
    expected_churns: float
    """Σ churn probabilities: how many of these renewals churn risk expects to lose."""
    high_risk_from: float
    high_risk: int
    high_risk_arr: float
    forecast: RenewalForecast


def renewals_report(
    session: Session, *, as_of: dt.date, days: int, config: Config, model: RiskModel
) -> RenewalsReport:
    """Open renewals in the next `days` days with ARR at stake and the cohort forecast."""
    due = renewals_due(session, as_of, days, config, model)
    renewals = [
        DueRenewal(
            account=str(row.account),
            owner=None if pd.isna(row.owner) else str(row.owner),
            renewal_date=row.renewal_date,
            arr=float(row.arr),
            score=known(float(row.score)),
            band=None if pd.isna(row.band) else Band(row.band),
            probability=known(float(row.probability)),
        )
        for row in due.itertuples()
    ]
    # Stable: equal stakes keep the date-then-name order the renewals were read in.
    renewals.sort(key=lambda r: (r.at_stake is None, -(r.at_stake or 0.0), r.renewal_date))
    high_from = config.churn.high_risk_from
    risky = [r for r in renewals if r.probability is not None and r.probability >= high_from]
    return RenewalsReport(
        days=days,
        renewals=tuple(renewals),
        arr_due=sum(r.arr for r in renewals),
        at_stake=arr_at_stake(due["arr"], due["probability"]) if renewals else 0.0,
        expected_churns=sum(r.probability or 0.0 for r in renewals),
        high_risk_from=high_from,
        high_risk=len(risky),
        high_risk_arr=sum(r.arr for r in risky),
        forecast=forecast(session, as_of, days),
    )


MONTHS_AT_MOST = 13
"""A horizon spanning more calendar months than this is split into quarters instead."""


@dataclass(frozen=True, slots=True)
class RenewalMonth:
    """The renewals due in one calendar month (or quarter) of a horizon.

    `start` is the month's (quarter's) first day; the horizon's first and last months
    count only their days inside it.
    """

    start: dt.date
    months: int
    """1 for a calendar month, 3 for a calendar quarter."""
    due: int
    arr_due: float
    at_stake: float
    """Σ ARR × churn probability, as `arr_at_stake`: renewals without a probability add 0."""
    unscored: int
    """Renewals without a churn probability (beyond the churn horizon)."""


def _add_months(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def renewals_by_month(
    renewals: Sequence[DueRenewal], as_of: dt.date, days: int
) -> tuple[RenewalMonth, ...]:
    """Every calendar month from `as_of` to `as_of + days` with the renewals due in it.

    Months without renewals are listed with zeros (nothing renews then, a real zero).
    Past `MONTHS_AT_MOST` months the horizon is split into calendar quarters. Each
    bucket's ARR at stake is its renewals' ARR × churn probability, so the buckets sum to
    `RenewalsReport.at_stake` for the same renewals.
    """
    last = as_of + dt.timedelta(days=days)
    span = (last.year - as_of.year) * 12 + last.month - as_of.month + 1
    step = 1 if span <= MONTHS_AT_MOST else 3
    first = as_of.replace(day=1)
    if step == 3:
        first = first.replace(month=3 * ((first.month - 1) // 3) + 1)
    starts = [first]
    while (following := _add_months(starts[-1], step)) <= last:
        starts.append(following)
    buckets: list[list[DueRenewal]] = [[] for _ in starts]
    for renewal in renewals:
        position = sum(1 for start in starts if start <= renewal.renewal_date) - 1
        if position < 0 or renewal.renewal_date > last:
            raise ValueError(
                f"renewal on {renewal.renewal_date} is outside the horizon {as_of} to {last}"
            )
        buckets[position].append(renewal)
    return tuple(
        RenewalMonth(
            start=start,
            months=step,
            due=len(due),
            arr_due=math.fsum(r.arr for r in due),
            at_stake=arr_at_stake(
                pd.Series([r.arr for r in due], dtype=float),
                pd.Series(
                    [math.nan if r.probability is None else r.probability for r in due],
                    dtype=float,
                ),
            ),
            unscored=sum(1 for r in due if r.probability is None),
        )
        for start, due in zip(starts, buckets, strict=True)
    )

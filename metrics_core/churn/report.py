"""Churn risk as answers read it: one account's risk, or the customers most likely to churn.

Each function here is one query (`metrics_core.store.db.Query`): it reads the inputs
once, scores them with the day's `RiskModel` (trained elsewhere and passed in, never
trained inside a question) and returns plain frozen dataclasses, so `churn`, Account
details and whatever surface comes next read attributes instead of DataFrame columns.

`churn top` scores the whole book to rank it, so it also says how the book's risk is
spread (`RISK_BAND_EDGES`): ten risky accounts read differently in a book where most sit
below 5 % than in one where a third sit above 20 %.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from metrics_core.accounts.lookup import Resolution, resolve_account
from metrics_core.churn.risk import RiskModel, churn_risk
from metrics_core.config import Config
from metrics_core.health.inputs import account_inputs, known
from metrics_core.revenue.renewals import arr_at_stake
from metrics_core.store.frames import account_names

Driver = tuple[str, float]
"""A driver that raises the risk: its name as a CSM reads it and its effect in log-odds."""
RISK_BAND_EDGES = (0.05, 0.10, 0.20, 0.40)
"""Where the book's risk distribution is cut: < 5 %, 5–10 %, 10–20 %, 20–40 %, ≥ 40 %.

Narrow at the bottom, where most of a healthy book sits and a few points matter (a 3 %
and a 9 % account are not the same), wide at the top, where any account needs a call."""


@dataclass(frozen=True, slots=True)
class AccountRisk:
    """One customer's churn risk, with the contract facts it is read beside.

    `probability` is of churning at the next renewal; None when that renewal is beyond
    the churn horizon or unknown (today's signals say little about it). `drivers` are
    largest first and empty then.
    """

    probability: float | None
    drivers: tuple[Driver, ...]
    arr: float | None
    renewal_arr: float | None
    days_to_renewal: int | None
    renewal_date: dt.date | None

    @classmethod
    def scored(
        cls,
        as_of: dt.date,
        *,
        probability: float,
        drivers: Sequence[Driver],
        arr: float,
        renewal_arr: float,
        days_to_renewal: float,
    ) -> AccountRisk:
        """From `churn_risk`'s and the inputs' columns, where NaN means not known."""
        days = known(days_to_renewal)
        return cls(
            probability=known(probability),
            drivers=tuple((str(name), float(value)) for name, value in drivers),
            arr=known(arr),
            renewal_arr=known(renewal_arr),
            days_to_renewal=None if days is None else int(days),
            renewal_date=None if days is None else as_of + dt.timedelta(days=int(days)),
        )


@dataclass(frozen=True, slots=True)
class AccountChurn:
    """`churn <account>`: what the text named and, for one customer, its risk.

    `risk` is None when the text named no single account (see `resolution`) or the
    account is not a customer on the day asked.
    """

    resolution: Resolution
    risk: AccountRisk | None = None


@dataclass(frozen=True, slots=True)
class RankedRisk:
    account: str
    owner: str | None
    risk: AccountRisk


@dataclass(frozen=True, slots=True)
class RiskBand:
    """The customers whose churn probability is in [low, high) (no upper bound if None)."""

    low: float
    high: float | None
    accounts: int
    arr: float
    """Their ARR today (accounts without a known ARR add nothing)."""


@dataclass(frozen=True, slots=True)
class TopRisks:
    """The customers most likely to churn, most likely first, and the ARR they put at stake."""

    accounts: tuple[RankedRisk, ...]
    at_stake: float
    """Σ renewal ARR × churn probability over `accounts` (`arr_at_stake`)."""
    bands: tuple[RiskBand, ...]
    """Every customer with a probability, by `RISK_BAND_EDGES`, lowest risk first."""
    without_probability: int
    """Customers with no probability (no renewal within the churn horizon, or none known)."""


def risk_bands(risks: Sequence[AccountRisk]) -> tuple[RiskBand, ...]:
    """How many of `risks` (and how much ARR) fall in each band of `RISK_BAND_EDGES`."""
    lows = (0.0, *RISK_BAND_EDGES)
    highs: tuple[float | None, ...] = (*RISK_BAND_EDGES, None)
    counts = [0] * len(lows)
    arr = [0.0] * len(lows)
    for risk in risks:
        if risk.probability is None:
            continue
        band = bisect.bisect_right(RISK_BAND_EDGES, risk.probability)
        counts[band] += 1
        arr[band] += risk.arr or 0.0
    return tuple(
        RiskBand(low, high, n, value)
        for low, high, n, value in zip(lows, highs, counts, arr, strict=True)
    )


def _risks(
    session: Session,
    as_of: dt.date,
    config: Config,
    model: RiskModel,
    account_ids: Sequence[int] | None,
) -> dict[int, AccountRisk]:
    """Every customer's risk among `account_ids` (all when None), in the inputs' order."""
    inputs = account_inputs(session, as_of, config, account_ids)
    risk = churn_risk(session, as_of, config, model, inputs=inputs)
    columns = inputs.columns
    return {
        int(account_id): AccountRisk.scored(
            as_of,
            probability=probability,
            drivers=drivers,
            arr=arr,
            renewal_arr=renewal_arr,
            days_to_renewal=days,
        )
        for account_id, probability, drivers, arr, renewal_arr, days in zip(
            inputs.ids.tolist(),
            risk["probability"].tolist(),
            risk["drivers"],
            columns["arr"].tolist(),
            columns["renewal_arr"].tolist(),
            columns["days_to_renewal"].tolist(),
            strict=True,
        )
    }


def account_risk(
    session: Session, *, account_id: int, as_of: dt.date, config: Config, model: RiskModel
) -> AccountRisk | None:
    """One account's churn risk on `as_of`; None if it is not a customer then."""
    return _risks(session, as_of, config, model, [account_id]).get(account_id)


def churn_report(
    session: Session, *, text: str, as_of: dt.date, config: Config, model: RiskModel
) -> AccountChurn:
    """`churn <account>` in one transaction: the account `text` names and its risk."""
    resolution = resolve_account(session, text)
    if resolution.match is None:
        return AccountChurn(resolution)
    risk = account_risk(
        session, account_id=resolution.match.id, as_of=as_of, config=config, model=model
    )
    return AccountChurn(resolution, risk)


def top_risks(
    session: Session, *, as_of: dt.date, config: Config, model: RiskModel, count: int
) -> TopRisks:
    """The `count` customers most likely to churn at their next renewal, and the book's spread.

    Customers without a probability (no renewal within the horizon) are not ranked; ties
    keep the book's order, so the same data always ranks the same way.
    """
    risks = _risks(session, as_of, config, model, None)
    ranked = sorted(
        ((account_id, risk) for account_id, risk in risks.items() if risk.probability is not None),
        key=lambda item: -(item[1].probability or 0.0),
    )[:count]
    names = account_names(session, [account_id for account_id, _ in ranked])
    accounts = tuple(
        RankedRisk(
            account=str(names.at[account_id, "account"]),
            owner=None if pd.isna(owner := names.at[account_id, "owner"]) else str(owner),
            risk=risk,
        )
        for account_id, risk in ranked
    )
    stake = arr_at_stake(
        pd.Series([r.risk.renewal_arr for r in accounts], dtype=float),
        pd.Series([r.risk.probability for r in accounts], dtype=float),
    )
    return TopRisks(
        accounts=accounts,
        at_stake=stake,
        bands=risk_bands(list(risks.values())),
        without_probability=sum(1 for risk in risks.values() if risk.probability is None),
    )

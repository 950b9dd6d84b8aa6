"""Churn risk: the probability that an account churns at a renewal within the horizon.

The model learns from the account history itself. For a series of past cut-off dates it
takes each customer's point-in-time inputs (`metrics_core.inputs`, the same facts health
uses) and labels the row with what happened at the account's next renewal within the
horizon: churned or renewed. Renewals still open are not labels. The fitted
`ChurnModel` then scores today's inputs, and its exact per-feature contributions become
the drivers a CSM reads.

With too few labelled churns a statistical model would mostly learn noise, so below
`churn.min_churned_accounts` a transparent rule-based risk is used instead, and every
answer says which of the two produced it.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.churn import ChurnModel
from metrics_core.config import Config
from metrics_core.evaluation import calibration_table, roc_auc, top_decile
from metrics_core.frames import account_names
from metrics_core.inputs import Inputs, account_inputs
from metrics_core.models import Renewal, RenewalStatus, UsageDaily

CUT_SPACING_DAYS = 30
# The inputs compare two usage windows, so a cut needs this much history before it.
MIN_HISTORY_DAYS = 60


class Method(enum.StrEnum):
    MODEL = "model"
    RULES = "rules"


def features(source: Inputs) -> pd.DataFrame:
    """The model's features, named as a CSM would read them among the drivers."""
    inputs = source.frame()
    seats = inputs["seats"].where(inputs["seats"] > 0)
    total = inputs["features_total"].where(inputs["features_total"] > 0)
    previous = inputs["active_users_prev"].where(inputs["active_users_prev"] > 0)
    known = inputs["usage_known"].astype(bool)
    contraction_share = inputs["contraction_recent"] / (
        inputs["arr"] + inputs["contraction_recent"]
    ).where(lambda s: s > 0)
    return pd.DataFrame(
        {
            "segment": inputs["segment"].astype(str),
            # Without any usage data, usage is unknown, not zero.
            "usage per seat": (inputs["active_users"] / seats).where(known),
            "usage trend": (inputs["active_users"] / previous - 1).where(known),
            "usage drop": inputs["usage_drop"].astype(bool),
            "feature breadth": inputs["features_used"] / total,
            "urgent or high tickets open": inputs["open_urgent"] + inputs["open_high"],
            "tickets opened recently": inputs["tickets_recent"],
            "latest NPS": inputs["latest_nps"].astype(float),
            "CSAT": inputs["csat_mean"].astype(float),
            "days since CSM touch": inputs["days_since_touch"],
            "contraction": contraction_share.fillna(0.0),
            "expanded": inputs["expansion_recent"] > 0,
            "ARR (log)": np.log1p(inputs["arr"].fillna(0.0).clip(lower=0)),
            "tenure (years)": inputs["tenure_days"] / 365.0,
        },
        index=inputs.index,
    )


def _renewal_labels(session: Session, cut: dt.date, until: dt.date) -> pd.Series:
    """1 if the account's first resolved renewal in (cut, until] churned, 0 if renewed."""
    rows = session.execute(
        select(Renewal.account_id, Renewal.renewal_date, Renewal.status)
        .where(
            Renewal.renewal_date > cut,
            Renewal.renewal_date <= until,
            Renewal.status.in_((RenewalStatus.CHURNED, RenewalStatus.RENEWED)),
        )
        .order_by(Renewal.account_id, Renewal.renewal_date)
    ).all()
    first: dict[int, int] = {}
    for account_id, _, status in rows:
        first.setdefault(account_id, int(status == RenewalStatus.CHURNED))
    return pd.Series(first, dtype=int, name="churned")


def cut_dates(history_start: dt.date, as_of: dt.date, horizon_days: int) -> list[dt.date]:
    """Past cut-offs whose whole horizon has passed by `as_of` (oldest first)."""
    cuts = []
    cut = as_of - dt.timedelta(days=horizon_days)
    earliest = history_start + dt.timedelta(days=MIN_HISTORY_DAYS)
    while cut >= earliest:
        cuts.append(cut)
        cut -= dt.timedelta(days=CUT_SPACING_DAYS)
    return cuts[::-1]


@dataclass(frozen=True, slots=True)
class TrainingSet:
    X: pd.DataFrame
    y: pd.Series
    cuts: pd.Series  # the cut-off date of each row

    @property
    def churned_accounts(self) -> int:
        return int(self.X.index[self.y.to_numpy() == 1].nunique())


def training_set(
    session: Session, as_of: dt.date, config: Config, history_start: dt.date
) -> TrainingSet:
    horizon = dt.timedelta(days=config.churn.horizon_days)
    frames, labels, cuts = [], [], []
    for cut in cut_dates(history_start, as_of, config.churn.horizon_days):
        label = _renewal_labels(session, cut, cut + horizon)
        if label.empty:
            continue
        inputs = account_inputs(session, cut, config, list(map(int, label.index)))
        label = label.reindex(inputs.ids).dropna()
        frames.append(features(inputs).loc[label.index])
        labels.append(label.astype(int))
        cuts.append(pd.Series(cut, index=label.index))
    if not frames:
        empty = features(account_inputs(session, as_of, config, []))
        return TrainingSet(empty, pd.Series(dtype=int), pd.Series(dtype=object))
    return TrainingSet(pd.concat(frames), pd.concat(labels), pd.concat(cuts))


# Transparent fallback: each rule adds log-odds to a 10 % base rate when it fires.
BASE_LOG_ODDS = math.log(0.1 / 0.9)
RULES: tuple[tuple[str, float], ...] = (
    ("usage per seat", 1.0),
    ("usage drop", 0.8),
    ("urgent or high tickets open", 0.7),
    ("latest NPS", 0.9),
    ("days since CSM touch", 0.5),
    ("contraction", 0.6),
)


RULES_BY_WEIGHT = tuple(sorted(RULES, key=lambda rule: -rule[1]))


def _rules_fired(X: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "usage per seat": X["usage per seat"].fillna(1.0) < 0.2,
            "usage drop": X["usage drop"].astype(bool),
            "urgent or high tickets open": X["urgent or high tickets open"] >= 2,
            "latest NPS": X["latest NPS"].fillna(10) <= 6,
            "days since CSM touch": X["days since CSM touch"].fillna(0) >= 90,
            "contraction": X["contraction"] > 0,
        },
        index=X.index,
    )


@dataclass(frozen=True, slots=True)
class RiskModel:
    """Either a fitted `ChurnModel` or the rules, with the facts of its training."""

    method: Method
    model: ChurnModel | None
    trained_rows: int
    churned_accounts: int

    def score(self, X: pd.DataFrame) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        """Probabilities and, per row, the drivers that raise the risk (largest first)."""
        if self.model is not None:
            probability = self.model.predict_proba(X)
            explained = self.model.explain(X)
            return probability, [[(n, c) for n, c in row if c > 0] for row in explained]
        fired = _rules_fired(X)[[name for name, _ in RULES_BY_WEIGHT]].to_numpy()
        weights = np.array([weight for _, weight in RULES_BY_WEIGHT])
        logits = BASE_LOG_ODDS + fired @ weights
        drivers = [[RULES_BY_WEIGHT[i] for i in np.flatnonzero(row)] for row in fired]
        return 1 / (1 + np.exp(-logits)), drivers


def fit_risk_model(training: TrainingSet, config: Config) -> RiskModel:
    churned = training.churned_accounts
    if churned < config.churn.min_churned_accounts or training.y.nunique() < 2:
        return RiskModel(Method.RULES, None, len(training.y), churned)
    model = ChurnModel().fit(training.X, training.y.to_numpy())
    return RiskModel(Method.MODEL, model, len(training.y), churned)


def history_start(session: Session) -> dt.date | None:
    """The first day with usage: nothing before it can be a training cut-off."""
    return session.scalar(select(UsageDaily.day).order_by(UsageDaily.day).limit(1))


def train(session: Session, as_of: dt.date, config: Config) -> RiskModel:
    start = history_start(session)
    if start is None:
        return RiskModel(Method.RULES, None, 0, 0)
    return fit_risk_model(training_set(session, as_of, config, start), config)


def churn_risk(
    session: Session,
    as_of: dt.date,
    config: Config,
    model: RiskModel,
    account_ids: Sequence[int] | None = None,
    inputs: Inputs | None = None,
) -> pd.DataFrame:
    """Per account: `probability`, `drivers` and `method`, as of a day.

    Pass `inputs` when the caller already has them (the portfolio view computes health
    and risk from one set of inputs).
    """
    if inputs is None:
        inputs = account_inputs(session, as_of, config, account_ids)
    if len(inputs) == 0:
        return pd.DataFrame(
            {
                "probability": pd.Series(dtype=float),
                "drivers": pd.Series(dtype=object),
                "method": pd.Series(dtype=object),
            },
            index=pd.Index([], name="account_id"),
        )
    probability, drivers = model.score(features(inputs))
    return pd.DataFrame(
        {"probability": probability, "drivers": drivers, "method": model.method.value},
        index=pd.Index(inputs.ids, name="account_id"),
    )


@dataclass(frozen=True, slots=True)
class Backtest:
    train_rows: int
    test_rows: int
    split: dt.date
    method: Method
    auc: float | None
    top_decile_precision: float | None
    top_decile_recall: float | None
    base_rate: float
    calibration: pd.DataFrame


def backtest(session: Session, as_of: dt.date, config: Config) -> Backtest | None:
    """Train on the older cut-offs, test on the newer ones, with no renewal in both.

    Training rows only use renewals up to the split date and test rows only renewals after
    it, so the test measures how the model would have done on renewals it never saw.
    """
    start = history_start(session)
    if start is None:
        return None
    data = training_set(session, as_of, config, start)
    if data.y.empty:
        return None
    horizon = dt.timedelta(days=config.churn.horizon_days)
    cuts = sorted(set(data.cuts))
    split = cuts[len(cuts) * 2 // 3] if len(cuts) >= 3 else None
    if split is None:
        return None
    train_mask = (data.cuts + horizon <= split).to_numpy()
    test_mask = (data.cuts >= split).to_numpy()
    train_set = TrainingSet(data.X[train_mask], data.y[train_mask], data.cuts[train_mask])
    test_X, test_y = data.X[test_mask], data.y[test_mask].to_numpy()
    model = fit_risk_model(train_set, config)
    probability, _ = model.score(test_X)
    both = len(set(test_y)) == 2
    precision, recall, _ = top_decile(test_y, probability) if test_y.sum() else (None, None, 0)
    return Backtest(
        train_rows=len(train_set.y),
        test_rows=len(test_y),
        split=split,
        method=model.method,
        auc=roc_auc(test_y, probability) if both else None,
        top_decile_precision=precision,
        top_decile_recall=recall,
        base_rate=float(test_y.mean()) if len(test_y) else 0.0,
        calibration=calibration_table(test_y, probability),
    )


class RiskModels:
    """One trained model per as-of day, shared by every request of the process.

    Training reads months of history, so it happens once a day, not per question;
    concurrent first requests wait for the same training instead of each starting one.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._models: dict[dt.date, RiskModel] = {}

    def get(self, session: Session, as_of: dt.date) -> RiskModel:
        with self._lock:
            if as_of not in self._models:
                self._models = {as_of: train(session, as_of, self._config)}
            return self._models[as_of]


def account_risk(
    session: Session, as_of: dt.date, config: Config, model: RiskModel, account_id: int
) -> pd.Series | None:
    """One account's risk with its ARR and next renewal; None if it is not a customer."""
    inputs = account_inputs(session, as_of, config, [account_id])
    if len(inputs) == 0:
        return None
    risk = churn_risk(session, as_of, config, model, inputs=inputs)
    return risk.join(inputs.frame()[["arr", "days_to_renewal", "renewal_arr"]]).iloc[0]


def top_risks(
    session: Session, as_of: dt.date, config: Config, model: RiskModel, count: int
) -> pd.DataFrame:
    """The `count` customers most likely to churn, with ARR, renewal, account and owner."""
    inputs = account_inputs(session, as_of, config)
    risk = churn_risk(session, as_of, config, model, inputs=inputs)
    top = risk.join(inputs.frame()[["arr", "days_to_renewal"]]).nlargest(count, "probability")
    return (
        top.join(account_names(session, top.index))
        if len(top)
        else top.assign(account=[], owner=[])
    )

"""Churn risk: the probability that an account churns at its next renewal, named by date.

The model learns from the account history itself. Every 30 days from the start of the
usage history (a cut-off) it takes each customer's point-in-time inputs
(`metrics_core.health.inputs`, the same facts health uses) and labels the row with what happened
at the account's next renewal: churned or renewed. Renewals still open are not labels.
The fitted `ChurnModel` then scores today's inputs, and its exact per-feature
contributions become the drivers a CSM reads.

Three things keep the numbers believable:

- Calibration out of time. The newest third of the cut-offs is held out; regularisation
  is chosen and a Platt recalibration fitted on how models trained before them did on
  them (`Calibration`). Probabilities stay within 1–99 % unless that held-out history
  earned more certainty.
- One method, one code path. `fit_risk_model` trains what chat answers with, and the
  backtest (`backtest`, `closeloop model evaluate`) calls the same function on each
  replayed day with only the renewals decided by then.
- With too few labelled churns a statistical model would mostly learn noise, so below
  `churn.min_churned_accounts` a transparent rule-based risk is used instead, and every
  answer says which of the two produced it.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

from metrics_core.churn.evaluation import calibration_table, roc_auc, top_decile
from metrics_core.churn.model import ChurnModel
from metrics_core.config import Config
from metrics_core.health.inputs import Inputs, account_inputs
from metrics_core.store.db import other_connections, reader
from metrics_core.store.models import Account, Renewal, RenewalStatus, UsageDaily
from metrics_core.surveys.scores import wilson_interval

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


def _renewal_outcomes(session: Session) -> pd.DataFrame:
    """Every renewal with its date and whether it churned (None while it is still open)."""
    rows = session.execute(
        select(Renewal.account_id, Renewal.renewal_date, Renewal.status).order_by(
            Renewal.renewal_date, Renewal.account_id
        )
    ).all()
    outcome = {RenewalStatus.CHURNED: 1.0, RenewalStatus.RENEWED: 0.0}
    return pd.DataFrame(
        {
            "account_id": [int(r[0]) for r in rows],
            "renewal_date": pd.to_datetime([r[1] for r in rows]),
            "churned": [outcome.get(r[2], np.nan) for r in rows],
        }
    )


def _next_renewals(outcomes: pd.DataFrame, cut: dt.date, horizon_days: int) -> pd.DataFrame:
    """Per account, its first renewal after `cut`, if due within the horizon."""
    after = outcomes[
        (outcomes["renewal_date"] > pd.Timestamp(cut))
        & (outcomes["renewal_date"] <= pd.Timestamp(cut + dt.timedelta(days=horizon_days)))
    ]
    return after.groupby("account_id").first()


def cut_dates(history_start: dt.date, as_of: dt.date) -> list[dt.date]:
    """Past cut-offs, every `CUT_SPACING_DAYS` from the first with enough history.

    The grid is anchored at the start of the history, not at `as_of`, so the cut-offs
    known on an earlier day are a subset of today's: the backtest can then replay, for a
    past day, exactly the training set the service would have had on that day.
    """
    cuts = []
    cut = history_start + dt.timedelta(days=MIN_HISTORY_DAYS)
    while cut < as_of:
        cuts.append(cut)
        cut += dt.timedelta(days=CUT_SPACING_DAYS)
    return cuts


TRAINING_ACCOUNTS = 20_000
"""Accounts whose history the model learns from at most; a larger book trains on a fixed
sample of its accounts. The model has about twenty coefficients: twenty thousand accounts
at a dozen cut-offs give tens of thousands of labelled rows and over a thousand churned
accounts. On a 100,000-account book the sample's model scored held-out renewals as well
as the whole book's (ROC AUC 0.860 vs 0.861; an account's probability 0.7 points apart on
average: `benchmarks/RESULTS.md`), while gathering every account at every cut-off was
most of that book's daily snapshot."""

_SPREAD = np.uint64(0x9E3779B1)
"""Knuth's multiplicative hashing constant (2^32 / golden ratio, odd): multiplying ids by it
modulo 2^32 scatters consecutive ids evenly over [0, 2^32)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """Which accounts a training set learns from: a fixed share of a book's accounts.

    An account is in the sample when its id, hashed, falls in the first `share` of the
    hash range. The choice depends on the id alone, never on outcomes, so the sample is
    unbiased; it keeps an account's every cut-off together; and it is the same every day,
    so the model never changes by a reshuffle. As a book grows its share shrinks, and the
    accounts kept are among those kept before (with new ones), not a new draw.
    """

    accounts: int  # the book's accounts the sample is drawn from
    share: float

    @classmethod
    def of(cls, accounts: int, at_most: int) -> Sample | None:
        """The sample for a book of `accounts`, or None when all of them fit."""
        return cls(accounts, at_most / accounts) if accounts > at_most else None

    def holds(self, ids: NDArray[np.int64]) -> NDArray[np.bool_]:
        spread = (ids.astype(np.uint64) * _SPREAD) & np.uint64(0xFFFFFFFF)
        return np.asarray(spread < np.uint64(self.share * 2**32), dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """One row per (cut-off, account) whose next renewal's outcome is known.

    `X` is indexed by account id (an account appears once per cut-off); `cuts` and
    `renewals` say when the row's inputs were taken and when its label was decided.
    """

    X: pd.DataFrame
    y: pd.Series
    cuts: pd.Series  # the cut-off date of each row
    renewals: pd.Series  # the date of the renewal each row is labelled with
    sample: Sample | None = None  # None: every account's rows

    @property
    def churned_accounts(self) -> int:
        return int(self.X.index[self.y.to_numpy() == 1].nunique())

    def where(self, mask: NDArray[np.bool_]) -> TrainingSet:
        return TrainingSet(
            self.X[mask], self.y[mask], self.cuts[mask], self.renewals[mask], self.sample
        )

    def known_at(self, day: dt.date) -> TrainingSet:
        """The rows whose outcome was known by `day`: what a model trained that day saw.

        For a set built as of a later day, this is exactly the set `training_set` builds
        as of `day`: each row's renewal is the account's first decided one after the cut,
        and a renewal due by `day` is also the first among those decided by `day`.
        """
        return self.where((self.renewals <= day).to_numpy())


_CUT_WORKERS = ThreadPoolExecutor(2, thread_name_prefix="closeloop-cuts")
"""Threads that gather training cut-offs' inputs two at a time, each on its own connection."""


def _cut_inputs(
    session: Session, config: Config, cuts: Sequence[tuple[dt.date, list[int]]]
) -> list[Inputs]:
    """Each cut-off's inputs for its accounts, in the order given.

    On a file or server database two cut-offs are gathered at once, each in a read
    session of its own: the database does most of the work and releases Python while it
    does, so a second one uses the second core. An in-memory database (one connection)
    gathers them one after the other in `session`.
    """
    engine = other_connections(session)
    if len(cuts) < 2 or engine is None:
        return [account_inputs(session, cut, config, ids) for cut, ids in cuts]

    def gather(cut: dt.date, ids: list[int]) -> Inputs:
        with Session(reader(engine)) as own:
            return account_inputs(own, cut, config, ids)

    # Largest first, so the two threads finish close together.
    order = sorted(range(len(cuts)), key=lambda i: -len(cuts[i][1]))
    pending = {i: _CUT_WORKERS.submit(gather, *cuts[i]) for i in order}
    return [pending[i].result() for i in range(len(cuts))]


def training_set(
    session: Session,
    as_of: dt.date,
    config: Config,
    history_start: dt.date,
    at_most: int = TRAINING_ACCOUNTS,
) -> TrainingSet:
    """Inputs at every past cut-off, labelled by the outcome of the next renewal.

    A row is kept when the account was a customer at the cut-off and its next renewal,
    due within `churn.horizon_days`, was decided by `as_of`. Which rows are kept depends
    on renewal dates, never on outcomes, so the labels are an unbiased sample. A book of
    more than `at_most` accounts learns from a fixed `Sample` of them.
    """
    horizon = config.churn.horizon_days
    sample = Sample.of(session.scalar(select(func.count()).select_from(Account)) or 0, at_most)
    outcomes = _renewal_outcomes(session)
    outcomes = outcomes[outcomes["renewal_date"] <= pd.Timestamp(as_of)].dropna()
    if sample is not None:
        outcomes = outcomes[sample.holds(outcomes["account_id"].to_numpy(np.int64))]
    due = [(cut, _next_renewals(outcomes, cut, horizon)) for cut in cut_dates(history_start, as_of)]
    due = [(cut, upcoming) for cut, upcoming in due if not upcoming.empty]
    gathered = _cut_inputs(
        session, config, [(cut, list(map(int, upcoming.index))) for cut, upcoming in due]
    )
    frames, labels, cuts, renewals = [], [], [], []
    for (cut, upcoming), inputs in zip(due, gathered, strict=True):
        rows = upcoming.reindex(inputs.ids)
        frames.append(features(inputs))
        labels.append(pd.Series(rows["churned"].astype(int).to_numpy(), index=inputs.ids))
        cuts.append(pd.Series(cut, index=inputs.ids))
        renewals.append(pd.Series(rows["renewal_date"].dt.date.to_numpy(), index=inputs.ids))
    if not frames:
        empty = features(account_inputs(session, as_of, config, []))
        nothing = pd.Series(dtype=object)
        return TrainingSet(empty, pd.Series(dtype=int), nothing, nothing, sample)
    return TrainingSet(
        pd.concat(frames), pd.concat(labels), pd.concat(cuts), pd.concat(renewals), sample
    )


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


# Regularisation strengths tried on held-out time (scikit-learn's C, standardised features).
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
DEFAULT_C = 0.1
# The newest third of the cut-offs is held out to calibrate on; fewer churned rows than
# this in it (or churned accounts before it) and the raw model is used, said as such.
HELD_OUT_SHARE = 1 / 3
MIN_HELD_OUT_CHURNS = 5
MIN_BASE_CHURNED_ACCOUNTS = 10
# How far (in log-odds) held-out renewals may move the calibration before they must be many.
PLATT_PRIOR_SD = 0.5
# Probabilities stay within [1 %, 99 %] unless the safest or riskiest 5 % of held-out
# rows (at least 10) show that more certainty was earned.
LOWEST, HIGHEST = 0.01, 0.99
EXTREME_SHARE = 0.05
MIN_EXTREME_ROWS = 10
# A contribution smaller than this (in log-odds) is not worth naming as a driver.
MIN_DRIVER = 0.05


def _sigmoid(logit: NDArray[np.float64]) -> NDArray[np.float64]:
    result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logit))
    return result


@dataclass(frozen=True, slots=True)
class Calibration:
    """How the model's log-odds become probabilities that held up on later renewals.

    p = σ(intercept + slope · logit), kept within [floor, ceiling]. The slope and intercept
    are fitted (Platt 1999) on renewals decided after everything the model was fitted on,
    so an over-confident model is pulled back to what actually happened. The slope is
    kept within [0, 1]: calibration may only soften the model, never sharpen it. Floor
    and ceiling are 1 % and 99 % unless the held-out renewals earned more certainty
    (`earned_limits`): no answer claims a certainty the backtest does not support.
    """

    intercept: float = 0.0
    slope: float = 1.0
    floor: float = LOWEST
    ceiling: float = HIGHEST
    held_out_from: dt.date | None = None
    held_out_rows: int = 0

    @property
    def checked(self) -> bool:
        """Whether the probabilities were calibrated on held-out renewals."""
        return self.held_out_from is not None

    def probability(self, raw_logit: NDArray[np.float64]) -> NDArray[np.float64]:
        calibrated = _sigmoid(self.intercept + self.slope * raw_logit)
        result: NDArray[np.float64] = np.clip(calibrated, self.floor, self.ceiling)
        return result


def _platt(raw_logit: NDArray[np.float64], y: NDArray[np.int64]) -> tuple[float, float]:
    """Intercept and slope of σ(a + b·logit), with 0 ≤ b ≤ 1, shrunk towards (0, 1).

    A held-out period has few churns, so plain maximum likelihood would chase their noise
    (one quiet quarter would halve every probability). A normal prior centred on "the
    model is right" (a = 0, b = 1, standard deviation `PLATT_PRIOR_SD`) lets the held-out
    renewals move the calibration only as far as their number supports.
    """

    def loss(params: NDArray[np.float64]) -> float:
        logit = params[0] + params[1] * raw_logit
        # log(1 + e^x) − y·x, written stably.
        fit = float(np.sum(np.logaddexp(0.0, logit) - y * logit))
        prior = float(params[0] ** 2 + (params[1] - 1.0) ** 2) / (2 * PLATT_PRIOR_SD**2)
        return fit + prior

    fitted = optimize.minimize(
        loss, x0=np.array([0.0, 1.0]), method="L-BFGS-B", bounds=[(None, None), (0.0, 1.0)]
    )
    return float(fitted.x[0]), float(fitted.x[1])


def _log_loss(y: NDArray[np.int64], p: NDArray[np.float64]) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def earned_limits(y: NDArray[np.int64], p: NDArray[np.float64]) -> tuple[float, float]:
    """How far below 1 % and above 99 % the held-out rows allow a probability to go.

    Only as far as the safest rows' churn rate is surely below 1 % (the upper 95 % Wilson
    bound) may a probability fall below 1 %, and only as far as the riskiest rows' rate is
    surely above 99 % may one exceed 99 %; otherwise 1 % and 99 % are the limits.
    """
    k = max(MIN_EXTREME_ROWS, math.ceil(EXTREME_SHARE * len(p)))
    if len(p) < 2 * k:
        return LOWEST, HIGHEST
    order = np.argsort(p, kind="stable")
    _, safest_high = wilson_interval(int(y[order[:k]].sum()), k)
    riskiest_low, _ = wilson_interval(int(y[order[-k:]].sum()), k)
    return (0.0 if safest_high <= LOWEST else LOWEST), (1.0 if riskiest_low >= HIGHEST else HIGHEST)


def _calibrate(
    training: TrainingSet, shared: SharedTraining | None = None
) -> tuple[float, Calibration]:
    """Regularisation and calibration chosen on the newest third of cut-offs, held out.

    Models are fitted on the rows decided before the held-out cut-offs begin and judged
    by their log loss on the held-out rows, as a later day would judge them. Returns the
    default regularisation and no calibration when the held-out part is too thin to say.
    """
    cuts = sorted(set(training.cuts))
    if len(cuts) < 3:
        return DEFAULT_C, Calibration()
    origin = cuts[len(cuts) - max(1, round(len(cuts) * HELD_OUT_SHARE))]
    base = training.known_at(origin)
    held = training.where((training.cuts >= origin).to_numpy())
    held_y = held.y.to_numpy()
    if (
        base.churned_accounts < MIN_BASE_CHURNED_ACCOUNTS
        or base.y.nunique() < 2
        or held_y.sum() < MIN_HELD_OUT_CHURNS
        or held_y.sum() == len(held_y)
    ):
        return DEFAULT_C, Calibration()
    best: tuple[float, float, float, float, NDArray[np.float64]] | None = None
    fits = (
        shared.fit_each(base.X, base.y.to_numpy())
        if shared is not None
        else ChurnModel.fit_each(base.X, base.y.to_numpy(), C_GRID)
    )
    for model in fits:
        c, raw = model.C, model.log_odds(held.X)
        intercept, slope = _platt(raw, held_y)
        loss = _log_loss(held_y, _sigmoid(intercept + slope * raw))
        if best is None or loss < best[0]:
            best = (loss, c, intercept, slope, raw)
    assert best is not None
    _, c, intercept, slope, raw = best
    floor, ceiling = earned_limits(held_y, _sigmoid(intercept + slope * raw))
    return c, Calibration(intercept, slope, floor, ceiling, origin, len(held_y))


@dataclass(frozen=True, slots=True)
class RiskModel:
    """Either a fitted `ChurnModel` or the rules, with the facts of its training."""

    method: Method
    model: ChurnModel | None
    trained_rows: int
    churned_accounts: int
    calibration: Calibration = Calibration()
    sample: Sample | None = None  # the accounts it learned from, when not all

    def score(self, X: pd.DataFrame) -> tuple[NDArray[np.float64], list[list[tuple[str, float]]]]:
        """Probabilities and, per row, the drivers that raise the risk (largest first).

        A model's drivers are its exact log-odds contributions scaled by the calibration
        slope, so they still add up to the calibrated logit.
        """
        if self.model is not None:
            probability = self.calibration.probability(self.model.log_odds(X))
            slope = self.calibration.slope
            explained = self.model.explain(X)
            drivers = [
                [(n, slope * c) for n, c in row if slope * c >= MIN_DRIVER] for row in explained
            ]
            return probability, drivers
        fired = _rules_fired(X)[[name for name, _ in RULES_BY_WEIGHT]].to_numpy()
        weights = np.array([weight for _, weight in RULES_BY_WEIGHT])
        logits = BASE_LOG_ODDS + fired @ weights
        rule_drivers = [[RULES_BY_WEIGHT[i] for i in np.flatnonzero(row)] for row in fired]
        return _sigmoid(np.asarray(logits, dtype=np.float64)), rule_drivers


def fit_risk_model(
    training: TrainingSet, config: Config, shared: SharedTraining | None = None
) -> RiskModel:
    """The method that answers: a calibrated model when the history allows, else rules.

    The same function trains the live model and every model the backtest replays, so
    `closeloop model evaluate` measures what chat answers with.

    The fits run with one BLAS and OpenMP thread: the matrices are narrow (a few dozen
    columns), so the solver's many small steps spend more time waking and syncing
    threads than computing; one thread is several times faster, and the same numbers.
    """
    churned = training.churned_accounts
    if churned < config.churn.min_churned_accounts or training.y.nunique() < 2:
        return RiskModel(Method.RULES, None, len(training.y), churned)
    with threadpool_limits(limits=1):
        c, calibration = _calibrate(training, shared)
        model = ChurnModel(C=c).fit(training.X, training.y.to_numpy())
    return RiskModel(Method.MODEL, model, len(training.y), churned, calibration, training.sample)


class SharedTraining:
    """What the models of several days trained in one run share, so each is read once.

    A backfilled snapshot trains the model of each day it scores (the day itself and the
    days digests compare with). Their training sets differ only by the renewals decided
    in between: the set of the newest day `newest` is read from the database once, and an
    earlier day's is the part of it known by then (`TrainingSet.known_at`), row for row
    what `training_set` would read for that day. Their calibration grids are usually
    fitted on the very same rows (those decided before the held-out cut-offs), and then
    fitted once. Only for one run over unchanged data: nothing here notices new rows.
    """

    def __init__(self, newest: dt.date) -> None:
        self.newest = newest
        self._data: TrainingSet | None = None
        self._grid: tuple[pd.DataFrame, NDArray[np.int64], list[ChurnModel]] | None = None

    def training_set(
        self, session: Session, as_of: dt.date, config: Config, history_start: dt.date
    ) -> TrainingSet:
        """`training_set(session, as_of, …)`, from the newest day's set when it can be."""
        if as_of > self.newest:
            return training_set(session, as_of, config, history_start)
        if self._data is None:
            self._data = training_set(session, self.newest, config, history_start)
        return self._data if as_of == self.newest else self._data.known_at(as_of)

    def fit_each(self, X: pd.DataFrame, y: NDArray[np.int64]) -> list[ChurnModel]:
        """`ChurnModel.fit_each(X, y, C_GRID)`, reused when asked again for the same rows."""
        if self._grid is not None:
            known_X, known_y, models = self._grid
            if known_X.equals(X) and np.array_equal(known_y, y):
                return models
        models = ChurnModel.fit_each(X, y, C_GRID)
        self._grid = (X, y, models)
        return models


def history_start(session: Session) -> dt.date | None:
    """The first day with usage: nothing before it can be a training cut-off."""
    return session.scalar(select(UsageDaily.day).order_by(UsageDaily.day).limit(1))


def train(
    session: Session, as_of: dt.date, config: Config, shared: SharedTraining | None = None
) -> RiskModel:
    """The model as trained on `as_of`; `shared` when several days train in one run."""
    start = history_start(session)
    if start is None:
        return RiskModel(Method.RULES, None, 0, 0)
    if shared is None:
        return fit_risk_model(training_set(session, as_of, config, start), config)
    return fit_risk_model(shared.training_set(session, as_of, config, start), config, shared)


def churn_risk(
    session: Session,
    as_of: dt.date,
    config: Config,
    model: RiskModel,
    account_ids: Sequence[int] | None = None,
    inputs: Inputs | None = None,
) -> pd.DataFrame:
    """Per account: `probability`, `drivers` and `method`, as of a day.

    The probability is of churning at the account's next renewal; an account with no
    renewal within `churn.horizon_days` gets none (NaN): today's signals say little about
    a renewal years away, and the model never learnt from such rows. Pass `inputs` when
    the caller already has them (the portfolio view computes health and risk from one set
    of inputs).
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
    beyond = ~(inputs.columns["days_to_renewal"] <= config.churn.horizon_days)
    probability = np.where(beyond, np.nan, probability)
    drivers = [[] if out else row for out, row in zip(beyond.tolist(), drivers, strict=True)]
    return pd.DataFrame(
        {"probability": probability, "drivers": drivers, "method": model.method.value},
        index=pd.Index(inputs.ids, name="account_id"),
    )


@dataclass(frozen=True, slots=True)
class Backtest:
    """How the answering method did on days replayed with only what was known then."""

    origins: tuple[tuple[dt.date, Method], ...]  # each replayed day and the method it had
    train_rows: int  # rows the last replayed day's method was trained on
    test_rows: int
    test_renewals: int
    method: Method  # the method the service answers with today
    auc: float | None
    top_decile_precision: float | None
    top_decile_recall: float | None
    base_rate: float
    mean_predicted: float
    calibration: pd.DataFrame

    @property
    def split(self) -> dt.date:
        """The first replayed day: every test row was predicted on or after it."""
        return self.origins[0][0]


def backtest(session: Session, as_of: dt.date, config: Config) -> Backtest | None:
    """Replay past cut-offs as if each were today (a rolling-origin backtest).

    On each replayed day the service's own training (`fit_risk_model`) sees only the
    renewals decided by then, and the rows of that day are scored by it, then compared
    with what happened at their renewals. Nothing a replayed model was trained or
    calibrated on is a renewal it is tested on.
    """
    start = history_start(session)
    if start is None:
        return None
    data = training_set(session, as_of, config, start)
    live = fit_risk_model(data, config)
    cuts = sorted(set(data.cuts))
    if len(cuts) < 4:
        return None
    # Replay every day on which the history already allowed today's method; for rules,
    # which learn nothing, the newer half of the cut-offs.
    origins = [
        cut
        for cut in cuts[1:]
        if live.method is Method.RULES
        or data.known_at(cut).churned_accounts >= config.churn.min_churned_accounts
    ]
    if live.method is Method.RULES:
        origins = cuts[len(cuts) // 2 :]
    if not origins:
        return None
    methods: list[tuple[dt.date, Method]] = []
    probabilities: list[NDArray[np.float64]] = []
    labels: list[NDArray[np.int64]] = []
    renewals: list[tuple[int, dt.date]] = []
    train_rows = 0
    for origin in origins:
        model = fit_risk_model(data.known_at(origin), config)
        test = data.where((data.cuts == origin).to_numpy())
        probability, _ = model.score(test.X)
        methods.append((origin, model.method))
        probabilities.append(probability)
        labels.append(test.y.to_numpy())
        renewals.extend(zip(test.X.index, test.renewals, strict=True))
        train_rows = model.trained_rows
    p = np.concatenate(probabilities)
    y = np.concatenate(labels)
    if len(y) == 0:
        return None
    both = len(set(y)) == 2
    precision, recall, _ = top_decile(y, p) if y.sum() else (None, None, 0)
    return Backtest(
        origins=tuple(methods),
        train_rows=train_rows,
        test_rows=len(y),
        test_renewals=len(set(renewals)),
        method=live.method,
        auc=roc_auc(y, p) if both else None,
        top_decile_precision=precision,
        top_decile_recall=recall,
        base_rate=float(y.mean()),
        mean_predicted=float(p.mean()),
        calibration=calibration_table(y, p, groups=[f"{a}@{d}" for a, d in renewals]),
    )

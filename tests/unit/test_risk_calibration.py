"""The churn method on books whose true churn probabilities are known.

The demo book says whether the method works on one realistic history; these say why: on
simulated cut-offs drawn from a known logistic truth, the probabilities the service would
show must match the churn that follows, an over-confident model must be softened, and no
probability may go beyond 1 % or 99 % without the held-out renewals to back it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from metrics_core.churn.model import ChurnModel
from metrics_core.churn.risk import (
    HIGHEST,
    LOWEST,
    Method,
    TrainingSet,
    earned_limits,
    fit_risk_model,
)
from metrics_core.config import Churn as ChurnRules
from metrics_core.config import Config
from metrics_core.surveys.scores import wilson_interval

FIRST_CUT = dt.date(2026, 1, 1)


def _book(
    rng: np.random.Generator, *, cuts: int, rows: int, noise: int, weights: tuple[float, ...]
) -> tuple[TrainingSet, np.ndarray]:
    """Rows at monthly cut-offs with renewals 1–120 days later; y drawn from a known logit."""
    frames, labels, cut_days, renewal_days, truths = [], [], [], [], []
    for k in range(cuts):
        cut = FIRST_CUT + dt.timedelta(days=30 * k)
        signal = rng.normal(size=(rows, len(weights)))
        logit = -2.0 + signal @ np.asarray(weights)
        truth = 1 / (1 + np.exp(-logit))
        columns = {f"signal {i}": signal[:, i] for i in range(len(weights))}
        columns |= {f"noise {i}": rng.normal(size=rows) for i in range(noise)}
        columns["segment"] = rng.choice(["SMB", "Mid-market", "Enterprise"], size=rows)
        ids = np.arange(rows) + k * rows
        frames.append(pd.DataFrame(columns, index=ids))
        labels.append(pd.Series((rng.random(rows) < truth).astype(int), index=ids))
        cut_days.append(pd.Series(cut, index=ids))
        renewal_days.append(
            pd.Series([cut + dt.timedelta(days=int(d)) for d in rng.integers(1, 121, rows)], ids)
        )
        truths.append(truth)
    data = TrainingSet(
        pd.concat(frames), pd.concat(labels), pd.concat(cut_days), pd.concat(renewal_days)
    )
    return data, np.concatenate(truths)


def _split(data: TrainingSet, origin: dt.date) -> tuple[TrainingSet, TrainingSet]:
    """What was known at `origin`, and the rows predicted on or after it."""
    return data.known_at(origin), data.where((data.cuts >= origin).to_numpy())


def test_probabilities_match_the_churn_that_follows() -> None:
    data, _ = _book(np.random.default_rng(1), cuts=12, rows=400, noise=4, weights=(1.0, 0.6))
    known, later = _split(data, FIRST_CUT + dt.timedelta(days=240))
    model = fit_risk_model(known, Config())
    assert model.method is Method.MODEL
    assert model.calibration.checked
    p, _ = model.score(later.X)
    y = later.y.to_numpy()
    bands = np.minimum((p * 10).astype(int), 9)
    judged = 0
    for band in np.unique(bands):
        inside = bands == band
        if inside.sum() < 100:
            continue
        judged += 1
        low, high = wilson_interval(int(y[inside].sum()), int(inside.sum()))
        assert low <= p[inside].mean() <= high, (band, p[inside].mean(), y[inside].mean())
    assert judged >= 3


def test_an_overconfident_fit_is_tempered_on_held_out_time() -> None:
    # Few rows and many columns of noise: a plain fit believes its noise.
    data, _ = _book(np.random.default_rng(2), cuts=9, rows=50, noise=60, weights=(1.2,))
    model = fit_risk_model(data, Config().model_copy(update={"churn": _min_churned(10)}))
    assert model.method is Method.MODEL
    assert model.calibration.checked
    fresh, truth = _book(np.random.default_rng(20), cuts=1, rows=2000, noise=60, weights=(1.2,))
    p, drivers = model.score(fresh.X)
    plain = ChurnModel(C=1.0).fit(data.X, data.y.to_numpy()).predict_proba(fresh.X)
    # On new accounts the plain fit is far from the truth; the method's probabilities stay
    # close to it, because regularisation and calibration were chosen on later renewals.
    assert np.abs(p - truth).mean() < 0.8 * np.abs(plain - truth).mean()
    # Every named driver raises the risk.
    assert all(effect > 0 for row in drivers for _, effect in row)


def _min_churned(count: int) -> ChurnRules:
    return Config().churn.model_copy(update={"min_churned_accounts": count})


def test_no_probability_beyond_the_limits_without_evidence() -> None:
    data, _ = _book(np.random.default_rng(3), cuts=9, rows=300, noise=0, weights=(4.0,))
    model = fit_risk_model(data, Config())
    p, _ = model.score(data.X)
    # A strong signal makes the raw model near-certain for some rows; shown, they stop at
    # 1 % and 99 % because 5 % of a few hundred held-out rows cannot earn more.
    assert p.max() == pytest.approx(HIGHEST)
    assert p.min() == pytest.approx(LOWEST)


@pytest.mark.parametrize(
    ("tail", "limits"),
    [
        # 20 held-out rows in each tail: even all of them churning cannot earn > 99 %.
        (20, (LOWEST, HIGHEST)),
        # 500 riskiest rows all churned and 500 safest none: both extremes are earned.
        (500, (0.0, 1.0)),
    ],
)
def test_extremes_need_held_out_rows_that_earn_them(tail: int, limits: tuple[float, float]) -> None:
    rows = 20 * tail  # each tail is the riskiest or safest 5 %
    p = np.linspace(0.0, 1.0, rows)
    y = np.zeros(rows, dtype=np.int64)
    y[-tail:] = 1
    assert earned_limits(y, p) == limits


def test_thin_held_out_history_is_not_calibrated_and_says_so() -> None:
    data, _ = _book(np.random.default_rng(4), cuts=2, rows=300, noise=0, weights=(1.0,))
    model = fit_risk_model(data, Config())
    assert model.method is Method.MODEL
    assert not model.calibration.checked  # two cut-offs: nothing later to check on

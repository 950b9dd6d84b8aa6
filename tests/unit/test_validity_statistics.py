"""The statistics behind `health validity`, on data with known answers.

The AUC interval must keep its promise at the numbers of renewals a CS team has: a 95 %
interval that covers the truth about 95 % of the time. It is checked by simulation on
binormal scores whose true AUC is known, where the plain Wald interval fails the same
check, which shows the check can fail. Rates and differences of rates (`nps insights`,
the churn rate of a band) are `metrics_core.proportions`', tested in test_proportions.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from metrics_core.churn.evaluation import (
    MIN_CLASS_FOR_AUC_INTERVAL,
    roc_auc,
    roc_auc_interval,
)
from metrics_core.health.validity import fit_weights, weighted_health

AVERAGE_FROM = 0.93
NO_CELL_BELOW = 0.89


# --- ROC AUC ----------------------------------------------------------------------------------


def test_auc_by_hand() -> None:
    """3 churners against 4 renewals: 11 of the 12 pairs put the churner higher."""
    y = [1, 1, 1, 0, 0, 0, 0]
    risk = [0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1]
    estimate = roc_auc_interval(y, risk)
    assert estimate.auc == pytest.approx(11 / 12)
    assert (estimate.positives, estimate.negatives) == (3, 4)
    assert estimate.ci_low is None and estimate.ci_high is None  # far too few for one


def test_ties_count_one_half_as_roc_auc_does() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    risk = np.round(rng.random(300) * 0.5 + 0.3 * y, 1)  # heavy ties
    assert roc_auc_interval(y, risk).auc == pytest.approx(roc_auc(y, risk))


def test_an_interval_needs_enough_of_each_outcome_and_some_overlap() -> None:
    rng = np.random.default_rng(4)
    few = MIN_CLASS_FOR_AUC_INTERVAL - 1
    y = np.r_[np.ones(few), np.zeros(200)]
    assert roc_auc_interval(y, rng.random(len(y))).ci_low is None
    y = np.r_[np.ones(20), np.zeros(40)]
    apart = roc_auc_interval(y, np.r_[np.full(20, 0.9), np.full(40, 0.1)])
    assert apart.auc == 1.0 and apart.ci_low is None  # no spread to estimate a variance from
    mixed = roc_auc_interval(y, rng.random(len(y)))
    assert mixed.ci_low is not None and mixed.ci_high is not None
    assert 0 < mixed.ci_low < mixed.auc < mixed.ci_high < 1


def test_an_auc_needs_both_outcomes() -> None:
    with pytest.raises(ValueError, match="churned and one retained"):
        roc_auc_interval([0, 0, 0], [0.1, 0.2, 0.3])


def _wald(auc: float, positives: np.ndarray, negatives: np.ndarray) -> tuple[float, float]:
    """The plain DeLong Wald interval, to show that the coverage check can fail."""
    m, n = len(positives), len(negatives)
    wins = (positives[:, None] > negatives[None, :]) + 0.5 * (positives[:, None] == negatives)
    above, below = wins.mean(axis=1), wins.mean(axis=0)
    half = 1.96 * math.sqrt(above.var(ddof=1) / m + below.var(ddof=1) / n)
    return auc - half, auc + half


@pytest.mark.parametrize("churned", [12, 30])
def test_the_auc_interval_keeps_its_promise_where_the_plain_one_does_not(churned: int) -> None:
    """Binormal scores, churners as spread as renewals or twice as much, true AUC 0.7–0.9."""
    rng = np.random.default_rng(1988)
    retained = churned * 6
    samples = 300
    ours: list[float] = []
    plain: list[float] = []
    for auc in (0.7, 0.85):
        for spread in (1.0, 2.0):
            shift = stats.norm.ppf(auc) * math.sqrt(1 + spread**2)
            hits = plain_hits = 0
            for _ in range(samples):
                positives = rng.normal(shift, spread, churned)
                negatives = rng.normal(0.0, 1.0, retained)
                y = np.r_[np.ones(churned), np.zeros(retained)]
                estimate = roc_auc_interval(y, stats.norm.cdf(np.r_[positives, negatives]))
                assert estimate.ci_low is not None and estimate.ci_high is not None
                hits += estimate.ci_low <= auc <= estimate.ci_high
                if churned == 12:
                    low, high = _wald(estimate.auc, positives, negatives)
                    plain_hits += low <= auc <= high
            ours.append(hits / samples)
            plain.append(plain_hits / samples)
    assert np.mean(ours) >= AVERAGE_FROM
    assert min(ours) >= NO_CELL_BELOW - 0.02  # 300 samples: ±0.02 of sampling noise
    if churned == 12:
        assert min(plain) < NO_CELL_BELOW - 0.02


# --- the weights a backtest prefers -----------------------------------------------------------


def _book(rows: int, seed: int) -> tuple[np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 100, (rows, 4)), rng


def test_the_suggestion_puts_the_weight_where_the_signal_is() -> None:
    """Churn depends on the first component only; the second is noise, the third is missing
    for a third of the accounts (and noise), the fourth has no data at all."""
    components, rng = _book(600, 11)
    components[rng.random(600) < 1 / 3, 2] = np.nan
    components[:, 3] = np.nan
    churned = (rng.random(600) < 1 / (1 + np.exp(-(3 - 0.08 * components[:, 0])))).astype(int)
    weights = fit_weights(components, churned)
    assert weights.sum() == pytest.approx(1.0)
    assert np.all(weights >= 0)
    assert weights[0] > 0.8
    assert weights[3] == 0.0  # no data, no weight


def test_no_weights_when_no_component_lowers_churn_as_it_rises() -> None:
    components, rng = _book(400, 12)
    churned = (rng.random(400) < components[:, 0] / 100).astype(int)  # higher, more churn
    assert not fit_weights(components, churned).any()


def test_other_weights_go_through_the_scorecards_arithmetic() -> None:
    """A missing component's weight is shared among the others, as the scorecard does."""
    components = np.array([[80.0, np.nan, 60.0], [40.0, 100.0, 0.0]])
    weights = np.array([0.5, 0.25, 0.25])
    scores = weighted_health(components, weights)
    assert scores[0] == pytest.approx((80 * 0.5 + 60 * 0.25) / 0.75)
    assert scores[1] == pytest.approx(40 * 0.5 + 100 * 0.25)

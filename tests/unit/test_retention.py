"""sBG cohort model against the published example of Fader & Hardie (2007).

P. S. Fader and B. G. S. Hardie (2007), "How to project customer retention", Journal of
Interactive Marketing 21(1), 76–90: two cohorts of 1000 customers ("regular" and
"high end") observed for years 0–7, with reported maximum-likelihood estimates
α = 0.704, β = 1.182 (regular) and α = 0.668, β = 3.806 (high end), and the regular
cohort's actual survivors for years 8–12 used as a hold-out.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import hyp2f1

from metrics_core.revenue.cohorts import SbgFit, fit_sbg

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR_YEARS_8_TO_12 = [223, 207, 194, 183, 173]


@pytest.fixture(scope="module")
def regular() -> SbgFit:
    return fit_sbg(REGULAR)


def test_regular_cohort_matches_the_paper(regular: SbgFit) -> None:
    assert regular.alpha == pytest.approx(0.704, abs=5e-4)
    assert regular.beta == pytest.approx(1.182, abs=5e-4)
    assert regular.periods_observed == 7
    assert regular.log_likelihood == pytest.approx(-1680.27, abs=0.01)


def test_high_end_cohort_matches_the_paper() -> None:
    fit = fit_sbg(np.array(HIGH_END))
    assert fit.alpha == pytest.approx(0.668, abs=5e-4)
    assert fit.beta == pytest.approx(3.806, abs=5e-4)


def test_fit_is_the_maximum(regular: SbgFit) -> None:
    def log_likelihood(alpha: float, beta: float) -> float:
        model = SbgFit(alpha, beta, 0.0, 7)
        t = np.arange(1, 8)
        churned = np.array(REGULAR[:-1]) - np.array(REGULAR[1:])
        return float(
            churned @ np.log(model.churn_probability(t)) + REGULAR[-1] * np.log(model.survival(7))
        )

    best = log_likelihood(regular.alpha, regular.beta)
    assert best == pytest.approx(regular.log_likelihood, abs=1e-9)
    for d_alpha, d_beta in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01), (0.01, 0.01)]:
        assert log_likelihood(regular.alpha + d_alpha, regular.beta + d_beta) < best


def test_survival_and_rates_are_consistent(regular: SbgFit) -> None:
    assert regular.survival(0) == 1.0
    t = np.arange(1, 20)
    survival = regular.survival(t)
    previous = regular.survival(t - 1)
    np.testing.assert_allclose(regular.retention_rate(t), survival / previous, rtol=1e-12)
    np.testing.assert_allclose(regular.churn_probability(t), previous - survival, rtol=1e-10)
    a, b = regular.alpha, regular.beta
    assert regular.churn_probability(1) == pytest.approx(a / (a + b))
    assert regular.retention_rate(3) == pytest.approx((b + 2) / (a + b + 2))
    # P(T=t) is a distribution: it sums to 1 − S(T) up to T.
    assert float(regular.churn_probability(np.arange(1, 101)).sum()) == pytest.approx(
        1 - regular.survival(100)
    )


def test_retention_rate_increases_with_tenure(regular: SbgFit) -> None:
    rates = regular.retention_rate(np.arange(1, 50))
    assert np.all(np.diff(rates) > 0)
    assert rates[-1] < 1.0


def test_projection_tracks_the_hold_out_years(regular: SbgFit) -> None:
    projected = regular.project(5, 1000)
    assert projected.shape == (5,)
    # The paper's fit slightly under-projects the hold-out (≈220, 204, 191, 180, 170).
    np.testing.assert_allclose(projected, REGULAR_YEARS_8_TO_12, rtol=0.03)
    assert np.all(np.diff(projected) < 0)
    assert regular.project(0, 1000).shape == (0,)


def test_expected_remaining_lifetime_discounted_matches_closed_form(regular: SbgFit) -> None:
    # DERL of Fader & Hardie (2010), Marketing Science 29(1): for a customer who has made
    # n−1 = t renewals, (β+t)/(α+β+t) · 2F1(1, β+t+1; α+β+t+1; 1/(1+d)).
    a, b = regular.alpha, regular.beta
    for t, d in [(0, 0.1), (4, 0.1), (2, 0.02)]:
        expected = (b + t) / (a + b + t) * hyp2f1(1, b + t + 1, a + b + t + 1, 1 / (1 + d))
        assert regular.expected_remaining_lifetime(t, discount_rate=d) == pytest.approx(
            expected, rel=1e-9
        )
    # Customers who have already stayed are worth more: the cohort has sorted itself.
    assert regular.expected_remaining_lifetime(5, discount_rate=0.1) > (
        regular.expected_remaining_lifetime(0, discount_rate=0.1)
    )


def test_expected_remaining_lifetime_with_horizon(regular: SbgFit) -> None:
    t = 3
    direct = sum(regular.survival(t + k) / regular.survival(t) for k in range(1, 6))
    assert regular.expected_remaining_lifetime(t, horizon=5) == pytest.approx(direct)
    assert regular.expected_remaining_lifetime(t, horizon=0) == 0.0


def test_undiscounted_lifetime_closed_form_and_divergence(regular: SbgFit) -> None:
    fit = SbgFit(alpha=3.0, beta=2.0, log_likelihood=0.0, periods_observed=3)
    assert fit.expected_remaining_lifetime(2) == pytest.approx((2.0 + 2) / (3.0 - 1))
    assert fit.expected_remaining_lifetime(2, horizon=200_000) == pytest.approx(2.0, rel=1e-9)
    with pytest.raises(ValueError, match="infinite"):
        regular.expected_remaining_lifetime(0)  # α = 0.704 ≤ 1


def test_homogeneous_cohort_fits_a_geometric_curve() -> None:
    fit = fit_sbg([1000, 500, 250, 125, 62.5])
    assert math.isfinite(fit.alpha)
    assert math.isfinite(fit.beta)
    assert fit.churn_probability(1) == pytest.approx(0.5, abs=1e-3)
    np.testing.assert_allclose(fit.retention_rate([1, 4]), [0.5, 0.5], atol=1e-3)


def test_cohort_that_has_all_churned_by_the_end_still_fits() -> None:
    fit = fit_sbg([100, 40, 10, 0])
    assert math.isfinite(fit.log_likelihood)
    assert fit.alpha > 0
    assert fit.beta > 0


@pytest.mark.parametrize(
    ("survivors", "message"),
    [
        ([1000, 600], "at least two observed periods"),
        ([1000], "at least two observed periods"),
        ([1000, 1000, 1000], "nobody in the cohort churned"),
        ([1000, 0, 0], "first period"),
        ([1000, 600, 700], "must not increase"),
        ([0, 0, 0], "cohort size"),
        ([1000, 600, -1], "non-negative"),
        ([1000, float("nan"), 500], "finite"),
        ([[1000, 600, 500]], "one-dimensional"),
    ],
)
def test_fit_rejects_data_that_cannot_identify_the_model(
    survivors: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fit_sbg(survivors)


def test_methods_validate_periods(regular: SbgFit) -> None:
    with pytest.raises(ValueError, match=">= 1"):
        regular.retention_rate(0)
    with pytest.raises(ValueError, match=">= 1"):
        regular.churn_probability(0)
    with pytest.raises(ValueError, match=">= 0"):
        regular.survival(-1)
    with pytest.raises(ValueError, match="whole numbers"):
        regular.survival(1.5)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="periods"):
        regular.project(-1, 1000)
    with pytest.raises(ValueError, match="alive_for"):
        regular.expected_remaining_lifetime(-1, horizon=3)
    with pytest.raises(ValueError, match="discount_rate"):
        regular.expected_remaining_lifetime(0, discount_rate=-0.1)

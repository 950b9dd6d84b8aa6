"""Cohort retention with the shifted-beta-geometric (sBG) model.

Source: P. S. Fader and B. G. S. Hardie (2007), "How to project customer retention",
Journal of Interactive Marketing 21(1), 76–90. Each customer of a contractual business has
a constant per-period churn probability θ, and θ varies across customers as Beta(α, β).
The high-risk customers leave first, so the cohort's aggregate retention rate rises over
time even though nobody's own churn probability changes — the pattern real subscription
cohorts show and that a single fitted churn rate cannot reproduce (it projects survivors
far too low after a few periods).

Periods are whatever the cohort is counted in (months, years): period 0 is acquisition,
and a customer alive at the start of period t has renewed t times. Two parameters are fitted
by maximum likelihood from one cohort's survivor counts; everything else (survival curve,
retention rates, projections, expected remaining lifetime) follows in closed form or by a
short sum.

Why log-gamma everywhere: S(t) = B(α, β+t) / B(α, β), so every probability is a difference
of ``gammaln`` values. That stays finite for long horizons and extreme parameters, where
multiplying hundreds of ratios, or subtracting probabilities from 1 as in the paper's
recursive spreadsheet formulation, would underflow or cancel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

# The optimiser works on (ln α, ln β) inside this box. α and β near e^±12 are already far
# outside anything a real cohort supports: at the upper end the Beta mixing distribution
# has collapsed onto a single churn rate (no heterogeneity left, i.e. the plain geometric
# model), and below e^-12 the fit is degenerate. Bounding keeps the optimiser from walking
# off to infinity on such cohorts; a fit that lands on the bound is still a valid curve.
__all__ = ["SbgFit", "fit_sbg"]

_LOG_BOUND = 12.0
# Coarse grid of starting points in (ln α, ln β); the best one seeds L-BFGS-B. The sBG
# likelihood is well behaved, but a ridge along constant α/(α+β) makes a single poor
# start converge slowly, and evaluating 49 points costs microseconds.
_START_GRID = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
# Infinite-horizon discounted sums stop when a bound on the remaining tail falls below
# this fraction of the running total.
_TAIL_RELATIVE_TOLERANCE = 1e-12
_SUM_CHUNK = 4096
_MAX_SUM_TERMS = 50_000_000


def _log_survival(alpha: float, beta: float, t: NDArray[np.float64]) -> NDArray[np.float64]:
    """ln S(t) = ln B(α, β+t) − ln B(α, β), the sBG survival function of Fader & Hardie (2007)."""
    result: NDArray[np.float64] = (
        gammaln(beta + t) - gammaln(beta) - gammaln(alpha + beta + t) + gammaln(alpha + beta)
    )
    return result


def _log_likelihood_and_gradient(
    log_params: NDArray[np.float64],
    churned: NDArray[np.float64],
    still_alive: float,
) -> tuple[float, NDArray[np.float64]]:
    """The sBG log-likelihood of Fader & Hardie (2007), with its gradient in (ln α, ln β).

    ``churned[t-1]`` customers left at period t (lifetime T = t) and ``still_alive`` are
    right-censored at the last period. ln P(T=t) = ln α + ln S(t−1) − ln(α+β+t−1), which in
    log-gamma form is ln α + lnΓ(β+t−1) − lnΓ(β) − lnΓ(α+β+t) + lnΓ(α+β). The gradient is
    analytic (digamma) so L-BFGS-B converges to the optimum rather than to the noise floor
    of finite differences.
    """
    alpha, beta = (float(v) for v in np.exp(log_params))
    periods = churned.size
    t = np.arange(1, periods + 1, dtype=np.float64)
    ab = alpha + beta
    log_p = math.log(alpha) + gammaln(beta + t - 1) - gammaln(beta) - gammaln(ab + t) + gammaln(ab)
    log_s_end = float(_log_survival(alpha, beta, np.array([float(periods)]))[0])
    value = float(churned @ log_p) + still_alive * log_s_end

    psi_ab = float(digamma(ab))
    psi_b = float(digamma(beta))
    d_alpha = float(churned @ (1.0 / alpha - digamma(ab + t) + psi_ab)) + still_alive * (
        psi_ab - float(digamma(ab + periods))
    )
    d_beta = float(churned @ (digamma(beta + t - 1) - psi_b - digamma(ab + t) + psi_ab)) + (
        still_alive
        * (float(digamma(beta + periods)) - psi_b - float(digamma(ab + periods)) + psi_ab)
    )
    return value, np.array([alpha * d_alpha, beta * d_beta])


def _as_periods(t: ArrayLike, *, minimum: int, name: str) -> NDArray[np.float64]:
    """Validate whole-number periods; the sBG is a discrete-time model."""
    values = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values != np.floor(values)):
        raise ValueError(f"{name} must be whole numbers of periods, got {t!r}")
    if np.any(values < minimum):
        raise ValueError(f"{name} must be >= {minimum}, got {t!r}")
    return values


@dataclass(frozen=True, slots=True)
class SbgFit:
    """A fitted sBG model: churn probabilities across the cohort follow Beta(α, β).

    ``alpha`` and ``beta`` are the maximum-likelihood estimates, ``log_likelihood`` the
    maximised value (comparable across fits of the same data only), ``periods_observed`` the
    number of renewal periods T in the data the fit used. The mean churn probability of a
    new customer is α/(α+β); a small α+β means a very heterogeneous cohort, whose retention
    rate climbs steeply as the risky customers leave.
    """

    alpha: float
    beta: float
    log_likelihood: float
    periods_observed: int

    @overload
    def survival(self, t: int) -> float: ...
    @overload
    def survival(
        self, t: Sequence[int] | NDArray[np.integer] | NDArray[np.floating]
    ) -> NDArray[np.float64]: ...
    def survival(self, t: ArrayLike) -> float | NDArray[np.float64]:
        """S(t): share of the cohort still a customer at the start of period t; S(0) = 1."""
        periods = _as_periods(t, minimum=0, name="t")
        values = np.exp(_log_survival(self.alpha, self.beta, periods))
        return float(values) if values.ndim == 0 else values

    @overload
    def retention_rate(self, t: int) -> float: ...
    @overload
    def retention_rate(
        self, t: Sequence[int] | NDArray[np.integer] | NDArray[np.floating]
    ) -> NDArray[np.float64]: ...
    def retention_rate(self, t: ArrayLike) -> float | NDArray[np.float64]:
        """r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) for t ≥ 1 (Fader & Hardie 2007).

        It increases with t towards 1: the sBG's signature, from the cohort sorting itself
        as high-churn customers leave first.
        """
        periods = _as_periods(t, minimum=1, name="t")
        values = (self.beta + periods - 1.0) / (self.alpha + self.beta + periods - 1.0)
        return float(values) if values.ndim == 0 else values

    @overload
    def churn_probability(self, t: int) -> float: ...
    @overload
    def churn_probability(
        self, t: Sequence[int] | NDArray[np.integer] | NDArray[np.floating]
    ) -> NDArray[np.float64]: ...
    def churn_probability(self, t: ArrayLike) -> float | NDArray[np.float64]:
        """P(T = t): probability that a newly acquired customer churns at period t (t ≥ 1).

        This is the paper's unconditional P(T=t) (Fader & Hardie 2007), which sums to
        1 over t. The conditional probability that a customer alive at period t−1 leaves at
        t is ``1 - retention_rate(t)`` instead.
        """
        periods = _as_periods(t, minimum=1, name="t")
        log_p = (
            math.log(self.alpha)
            + _log_survival(self.alpha, self.beta, periods - 1.0)
            - np.log(self.alpha + self.beta + periods - 1.0)
        )
        values = np.exp(log_p)
        return float(values) if values.ndim == 0 else values

    def project(self, periods: int, cohort_size: float) -> NDArray[np.float64]:
        """Expected survivors at periods T+1 … T+``periods`` after the observed data.

        ``cohort_size`` is the size at period 0 (the cohort as acquired), so the result is
        ``cohort_size * S(T + k)`` — the projection the paper plots against the actuals.
        To project the customers alive now instead, scale by
        ``alive_now / (cohort_size * S(T))``.
        """
        if isinstance(periods, bool) or not isinstance(periods, int) or periods < 0:
            raise ValueError(f"periods must be a non-negative int, got {periods!r}")
        if not math.isfinite(cohort_size) or cohort_size < 0:
            raise ValueError(f"cohort_size must be a non-negative number, got {cohort_size!r}")
        t = np.arange(
            self.periods_observed + 1, self.periods_observed + periods + 1, dtype=np.float64
        )
        return cohort_size * np.exp(_log_survival(self.alpha, self.beta, t))

    def expected_remaining_lifetime(
        self,
        alive_for: int,
        horizon: int | None = None,
        discount_rate: float = 0.0,
    ) -> float:
        """Expected further paid periods for a customer who has renewed ``alive_for`` times.

        Σ_{k=1..horizon} [S(t+k)/S(t)] / (1+d)^(k−1) with t = ``alive_for``: the conditional
        survival of Fader & Hardie (2007), and with d > 0 exactly the "discounted expected
        residual lifetime" DERL(d | α, β, n−1 = t) of Fader & Hardie (2010), "Customer-base
        valuation in a contractual setting: the perils of ignoring heterogeneity", Marketing
        Science 29(1), 85–93: the upcoming renewal is counted undiscounted, each
        later one discounted one more period. Multiply by the margin per period to get a
        residual customer value.

        With ``horizon=None`` the sum is over all future periods:

        - undiscounted (d = 0) it has the closed form (β + t)/(α − 1), because a customer
          who survived t renewals has churn probability ~ Beta(α, β + t). It is infinite
          when α ≤ 1 — the heavy tail of very loyal customers never dies out — so that case
          raises ``ValueError``: pass a horizon or a discount rate.
        - discounted, terms are summed in chunks until an upper bound on the remaining tail,
          (last term) × q/(1 − q) with q = 1/(1+d) (valid because the conditional survival
          never increases), is below 1e-12 of the running total.
        """
        if isinstance(alive_for, bool) or not isinstance(alive_for, int) or alive_for < 0:
            raise ValueError(f"alive_for must be a non-negative int, got {alive_for!r}")
        if not math.isfinite(discount_rate) or discount_rate < 0:
            raise ValueError(f"discount_rate must be >= 0, got {discount_rate!r}")
        if horizon is not None and (
            isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0
        ):
            raise ValueError(f"horizon must be None or a non-negative int, got {horizon!r}")

        log_s_now = float(_log_survival(self.alpha, self.beta, np.array([float(alive_for)]))[0])
        log_q = -math.log1p(discount_rate)

        def terms(first: int, last: int) -> NDArray[np.float64]:
            k = np.arange(first, last + 1, dtype=np.float64)
            log_term = (
                _log_survival(self.alpha, self.beta, alive_for + k) - log_s_now + (k - 1) * log_q
            )
            return np.exp(log_term)

        if horizon is not None:
            return float(terms(1, horizon).sum()) if horizon else 0.0
        if discount_rate == 0.0:
            if self.alpha <= 1.0:
                raise ValueError(
                    f"undiscounted expected lifetime is infinite for alpha={self.alpha:.3g} "
                    "<= 1; pass a horizon or a discount_rate"
                )
            return (self.beta + alive_for) / (self.alpha - 1.0)

        q = math.exp(log_q)
        total = 0.0
        first = 1
        while first <= _MAX_SUM_TERMS:
            chunk = terms(first, first + _SUM_CHUNK - 1)
            total += float(chunk.sum())
            tail_bound = float(chunk[-1]) * q / (1.0 - q)
            if tail_bound <= _TAIL_RELATIVE_TOLERANCE * total:
                return total
            first += _SUM_CHUNK
        # Only reachable with a discount rate so small (< ~1e-6 per period) that the sum is
        # numerically the undiscounted one.
        raise ValueError(
            f"discount_rate={discount_rate!r} is too small to sum to convergence; pass a horizon"
        )


def fit_sbg(survivors: Sequence[float] | NDArray[np.floating] | NDArray[np.integer]) -> SbgFit:
    """Fit the sBG model to one cohort's survivor counts by maximum likelihood.

    ``survivors[t]`` is the number of customers alive at the start of period t, for
    t = 0 … T; ``survivors[0]`` is the cohort size, and counts never increase. Counts may be
    fractional (e.g. revenue-weighted), the likelihood does not need integers.

    Raises ``ValueError`` when the data cannot identify the model rather than returning a
    boundary fit with NaNs or infinities:

    - fewer than two observed periods (three counts): one period only pins down the mean
      churn α/(α+β), not how it varies across customers;
    - nobody ever churned: the likelihood grows without bound as α → 0;
    - everybody churned in the first period: it grows without bound as β → 0.

    Cohorts with no visible heterogeneity (a constant or falling retention rate) push α
    and β towards infinity together; the fit then stops at the parameter bound (about
    e^12) and behaves like a plain geometric model with churn α/(α+β), which is the right
    answer for such data.

    Optimisation: L-BFGS-B on (ln α, ln β) — positivity for free and a better-conditioned
    surface — with an analytic gradient, started from the best point of a small grid.
    """
    counts = np.asarray(survivors, dtype=np.float64)
    if counts.ndim != 1:
        raise ValueError("survivors must be a one-dimensional sequence of counts")
    if counts.size < 3:
        raise ValueError(
            "fit_sbg needs at least two observed periods (survivor counts for periods 0, 1, 2)"
        )
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("survivor counts must be finite and non-negative")
    if counts[0] <= 0:
        raise ValueError("survivors[0] (the cohort size) must be positive")
    if np.any(np.diff(counts) > 0):
        raise ValueError("survivor counts must not increase from one period to the next")
    if counts[-1] == counts[0]:
        raise ValueError(
            "nobody in the cohort churned, so the churn distribution cannot be estimated"
        )
    if counts[1] == 0:
        raise ValueError(
            "the whole cohort churned in the first period, so the churn distribution "
            "cannot be estimated"
        )

    churned = counts[:-1] - counts[1:]
    still_alive = float(counts[-1])

    def objective(log_params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        value, gradient = _log_likelihood_and_gradient(log_params, churned, still_alive)
        return -value, -gradient

    grid = [np.array([a, b]) for a in _START_GRID for b in _START_GRID]
    start = min(grid, key=lambda p: objective(p)[0])
    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 2,
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000},
    )
    log_alpha, log_beta = (float(v) for v in result.x)
    log_likelihood = -float(result.fun)
    if not math.isfinite(log_likelihood):
        raise ValueError("sBG fit did not converge to a finite likelihood")
    return SbgFit(
        alpha=math.exp(log_alpha),
        beta=math.exp(log_beta),
        log_likelihood=log_likelihood,
        periods_observed=int(counts.size - 1),
    )

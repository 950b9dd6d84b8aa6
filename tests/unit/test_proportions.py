"""A rate with its count and interval, and the difference of two rates, on known answers.

The difference is held to the values Newcombe published for his method 10 (1998, Table II)
and to its promise: exact coverage, summed over every possible pair of outcomes at the
group sizes CS teams have, where the plain Wald interval fails the same check (which shows
the check can fail).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from metrics_core.proportions import MIN_N_FOR_INTERVAL, Rate, difference
from metrics_core.surveys.scores import newcombe_difference_interval

AVERAGE_FROM = 0.93
NO_CELL_BELOW = 0.89


# --- one rate ---------------------------------------------------------------------------------


def test_a_rate_has_its_count_and_an_interval_only_from_enough() -> None:
    few = Rate.of(1, MIN_N_FOR_INTERVAL - 1)
    assert few.share == pytest.approx(1 / (MIN_N_FOR_INTERVAL - 1)) and few.ci_low is None
    rate = Rate.of(3, 4 * MIN_N_FOR_INTERVAL)
    assert rate.ci_low is not None and rate.ci_high is not None
    assert rate.ci_low < rate.share < rate.ci_high  # type: ignore[operator]
    assert Rate.of(0, 0).share is None


def test_none_of_ten_still_gets_an_interval_that_reaches_up() -> None:
    """Agresti–Coull by hand: p̃ = 1.9208/13.8416 = 0.1388, half-width
    1.96·√(0.1388·0.8612/13.8416) = 0.1821, so 0 to 0.3209 (the low end clipped at 0)."""
    rate = Rate.of(0, 10)
    assert rate.ci_low == 0.0
    assert rate.ci_high == pytest.approx(0.3209, abs=1e-4)


@pytest.mark.parametrize(("events", "n"), [(5, 4), (-1, 3), (0, -1)])
def test_impossible_counts_are_refused_however_the_rate_is_made(events: int, n: int) -> None:
    with pytest.raises(ValueError, match="0 <= events <= n"):
        Rate.of(events, n)
    with pytest.raises(ValueError, match="0 <= events <= n"):
        Rate(events, n)


# --- the difference of two --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "n_a", "b", "n_b", "low", "high"),
    [
        # Newcombe (1998), Table II, method 10 (hybrid score), examples (a)–(h).
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
        (10, 10, 0, 10, 0.6075, 1.0000),
    ],
)
def test_the_difference_matches_the_published_values(
    a: int, n_a: int, b: int, n_b: int, low: float, high: float
) -> None:
    found = difference(Rate.of(a, n_a), Rate.of(b, n_b))
    assert found is not None
    assert found.estimate == pytest.approx(a / n_a - b / n_b)
    assert found.ci_low == pytest.approx(low, abs=1e-4)
    assert found.ci_high == pytest.approx(high, abs=1e-4)


def test_the_interval_function_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError, match="successes"):
        newcombe_difference_interval(5, 4, 1, 10)


def test_when_a_difference_is_clear_and_when_there_is_none() -> None:
    promoters, detractors = Rate.of(6, 10), Rate.of(1, 10)
    found = difference(promoters, detractors)
    assert found is not None
    assert found.estimate == pytest.approx(0.5)
    assert found.clear and found.ci_low < 0.5 < found.ci_high
    same = difference(Rate.of(3, 10), Rate.of(3, 10))
    assert same is not None and same.estimate == 0 and not same.clear
    assert difference(Rate.of(0, 0), detractors) is None
    # Too few in one group for an interval of its own: no difference either.
    assert difference(Rate.of(3, MIN_N_FOR_INTERVAL - 1), detractors) is None


def _coverage(n1: int, n2: int, p1: float, p2: float, *, ours: bool) -> float:
    """Exact coverage: every pair of outcomes weighted by its binomial probability."""
    first = stats.binom.pmf(np.arange(n1 + 1), n1, p1)
    second = stats.binom.pmf(np.arange(n2 + 1), n2, p2)
    covered = 0.0
    for a in range(n1 + 1):
        for b in range(n2 + 1):
            if ours:
                found = difference(Rate(a, n1), Rate(b, n2))
                assert found is not None
                low, high = found.ci_low, found.ci_high
            else:
                q1, q2 = a / n1, b / n2
                half = 1.96 * math.sqrt(q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2)
                low, high = q1 - q2 - half, q1 - q2 + half
            covered += first[a] * second[b] * (low <= p1 - p2 <= high)
    return covered


def test_the_difference_interval_keeps_its_promise_where_the_plain_one_does_not() -> None:
    """Two groups of 10–40 (promoters and detractors, finished and unfinished runs), rates
    from 5 % to 60 %."""
    cells = [
        (n1, n2, p1, p2)
        for n1, n2 in ((10, 10), (10, 30), (20, 20), (40, 15))
        for p1 in (0.05, 0.2, 0.5)
        for p2 in (0.05, 0.3, 0.6)
    ]
    ours = [_coverage(*cell, ours=True) for cell in cells]
    plain = [_coverage(*cell, ours=False) for cell in cells]
    assert np.mean(ours) >= AVERAGE_FROM and min(ours) >= NO_CELL_BELOW
    assert min(plain) < NO_CELL_BELOW

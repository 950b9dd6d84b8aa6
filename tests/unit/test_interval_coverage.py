"""Do the 95 % intervals cover the true value about 95 % of the time, at the n CS teams read?

One account's NPS, CSAT or CES often rests on 5–20 answers. For realistic true
distributions and n from each metric's minimum up to 100, samples are drawn with a seeded
random generator, each sample's interval is computed by the shipped function, and we count
how often it contains the true NPS, CSAT share or CES mean. A method keeps its promise when
its coverage averages 0.93–0.99 over the distributions at every n and no distribution falls
below 0.89. The plain Wald NPS interval fails that test at small n, which shows the test
can fail (Rocks 2016, "Interval Estimation for the 'Net Promoter Score'", The American
Statistician 70(4)).

Samples with the same counts have the same interval, so each distinct count vector is
scored once: that keeps the file fast without approximating anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from metrics_core.surveys.nps import NPS_MIN_N, IntervalMethod, nps_from_counts
from metrics_core.surveys.scores import CES_MIN_N, CSAT_MIN_N, ces, csat

SAMPLES = 3000
SEED = 2016
AVERAGE_FROM, AVERAGE_TO = 0.93, 0.99
NO_CELL_BELOW = 0.89

# Promoter / passive / detractor shares: typical, unhappy, delighted, lukewarm ones.
NPS_MIXES = (
    (0.5, 0.3, 0.2),
    (0.2, 0.3, 0.5),
    (0.8, 0.15, 0.05),
    (0.35, 0.4, 0.25),
    (0.6, 0.3, 0.1),
    (0.1, 0.2, 0.7),
)
# Share of 4–5 answers, up to the near-100 % a happy account gives.
CSAT_SHARES = (0.6, 0.7, 0.8, 0.9, 0.95, 0.97)
# Shares of answers 1…7, centred from 3 to nearly 7; "tight" and "mostly 7" are where a
# small sample is often all one answer, "split" is a bimodal account.
CES_SCALE = np.arange(1, 8)
CES_DISTRIBUTIONS = {
    "centre 3": (0.15, 0.25, 0.25, 0.15, 0.1, 0.06, 0.04),
    "centre 4": (0.08, 0.12, 0.15, 0.3, 0.15, 0.12, 0.08),
    "centre 5": (0.03, 0.05, 0.08, 0.15, 0.3, 0.25, 0.14),
    "centre 6": (0.01, 0.02, 0.03, 0.08, 0.16, 0.35, 0.35),
    "tight 6": (0.0, 0.0, 0.0, 0.0, 0.1, 0.8, 0.1),
    "mostly 7": (0.0, 0.0, 0.0, 0.0, 0.05, 0.15, 0.8),
    "split": (0.15, 0.1, 0.05, 0.1, 0.15, 0.25, 0.2),
}

Bounds = tuple[float | None, float | None]


@dataclass(frozen=True)
class Coverage:
    """Share of samples whose interval held the truth, one cell per true distribution."""

    n: int
    cells: dict[str, float]

    @property
    def average(self) -> float:
        return float(np.mean(list(self.cells.values())))

    @property
    def worst(self) -> float:
        return min(self.cells.values())

    def keeps_promise(self) -> bool:
        return AVERAGE_FROM <= self.average <= AVERAGE_TO and self.worst >= NO_CELL_BELOW

    def __str__(self) -> str:
        cells = ", ".join(f"{name}: {share:.3f}" for name, share in self.cells.items())
        return f"n = {self.n}: average {self.average:.3f}, worst {self.worst:.3f} ({cells})"


def covered(
    draws: npt.NDArray[np.int64],
    truth: float,
    interval: Callable[[Sequence[int]], Bounds],
    *,
    never_zero_width: bool = True,
) -> float:
    """Share of `draws` (one row of counts per sample) whose interval contains `truth`."""
    rows, repeats = np.unique(draws, axis=0, return_counts=True)
    hits = 0
    for row, repeat in zip(rows, repeats, strict=True):
        low, high = interval([int(count) for count in row])
        assert low is not None and high is not None, f"no interval for counts {row}"
        if never_zero_width:
            assert high > low, f"zero-width interval {low}–{high} for counts {row}"
        if low <= truth <= high:
            hits += int(repeat)
    return hits / len(draws)


def nps_coverage(n: int, method: IntervalMethod) -> Coverage:
    rng = np.random.default_rng([SEED, n])

    def bounds(counts: Sequence[int]) -> Bounds:
        result = nps_from_counts(*counts, interval=method)
        return result.ci_low, result.ci_high

    cells = {}
    for mix in NPS_MIXES:
        promoters, _, detractors = mix
        draws = rng.multinomial(n, mix, size=SAMPLES)
        cells[str(mix)] = covered(
            draws,
            100 * (promoters - detractors),
            bounds,
            never_zero_width=method == "adjusted-wald",
        )
    return Coverage(n, cells)


def csat_coverage(n: int) -> Coverage:
    rng = np.random.default_rng([SEED, n])

    def bounds(counts: Sequence[int]) -> Bounds:
        (satisfied,) = counts
        result = csat([5] * satisfied + [2] * (n - satisfied))
        return result.ci_low, result.ci_high

    cells = {
        f"{share:.0%}": covered(rng.binomial(n, share, size=(SAMPLES, 1)), 100 * share, bounds)
        for share in CSAT_SHARES
    }
    return Coverage(n, cells)


def ces_coverage(n: int) -> Coverage:
    rng = np.random.default_rng([SEED, n])

    def bounds(counts: Sequence[int]) -> Bounds:
        result = ces(np.repeat(CES_SCALE, counts))
        return result.ci_low, result.ci_high

    cells = {}
    for name, shares in CES_DISTRIBUTIONS.items():
        probabilities = np.asarray(shares) / sum(shares)
        draws = rng.multinomial(n, probabilities, size=SAMPLES)
        cells[name] = covered(draws, float(probabilities @ CES_SCALE), bounds)
    return Coverage(n, cells)


@pytest.mark.parametrize("n", [NPS_MIN_N, 10, 20, 100])
def test_nps_default_interval_keeps_its_promise(n: int) -> None:
    coverage = nps_coverage(n, "adjusted-wald")
    assert coverage.keeps_promise(), str(coverage)


@pytest.mark.parametrize("n", [5, 10, 20])
def test_plain_wald_nps_interval_under_covers_at_small_n(n: int) -> None:
    # The same bounds, the same samples: the contract's plain Wald interval misses the
    # true NPS far more often than 1 time in 20 at the n one account gets.
    coverage = nps_coverage(n, "wald")
    assert not coverage.keeps_promise(), str(coverage)
    assert coverage.average < AVERAGE_FROM, str(coverage)


@pytest.mark.parametrize("n", [CSAT_MIN_N, 10, 20, 100])
def test_csat_interval_keeps_its_promise(n: int) -> None:
    coverage = csat_coverage(n)
    assert coverage.keeps_promise(), str(coverage)


@pytest.mark.parametrize("n", [CES_MIN_N, 10, 20, 100])
def test_ces_interval_keeps_its_promise(n: int) -> None:
    coverage = ces_coverage(n)
    assert coverage.keeps_promise(), str(coverage)

"""NPS and its 95 % interval, against answers a CS leader can count on paper.

The interval is the design contract's: score ± 1.96·sqrt(100²·((p + d) − (p − d)²)/n),
clipped to [−100, 100], where p and d are the promoter and detractor shares.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics_core.nps import NpsResult, nps, nps_from_counts

EXACT = 1e-9


def test_no_answers_is_no_score_not_zero() -> None:
    result = nps([])
    assert result == NpsResult(
        score=None, promoters=0, passives=0, detractors=0, n=0, ci_low=None, ci_high=None
    )
    assert result.promoter_share is None
    assert result.detractor_share is None
    assert nps([], interval="adjusted-wald").score is None
    assert nps([], interval="adjusted-wald").ci_low is None


def test_a_single_promoter_gives_the_formulas_zero_width_interval() -> None:
    # p = 1, d = 0: variance = 100²·((1 + 0) − (1 − 0)²)/1 = 0, so the interval is
    # [100, 100]. That is what the trinomial Wald formula gives, not certainty.
    result = nps([10])
    assert (result.score, result.n, result.promoters) == (100.0, 1, 1)
    assert (result.ci_low, result.ci_high) == (100.0, 100.0)


def test_a_single_passive_and_a_single_detractor() -> None:
    passive = nps([7])
    assert (passive.score, passive.passives, passive.ci_low, passive.ci_high) == (0.0, 1, 0.0, 0.0)
    detractor = nps([0])
    assert (detractor.score, detractor.ci_low, detractor.ci_high) == (-100.0, -100.0, -100.0)


def test_adjusted_wald_widens_the_single_answer_interval() -> None:
    # Rocks (2016) adjusted Wald: promoters + 0.75, detractors + 0.75, n + 3.
    # One promoter: P' = 1.75, D' = 0.75, n' = 4 → p' = 0.4375, d' = 0.1875.
    # centre = 100·(0.4375 − 0.1875) = 25
    # variance = ((0.4375 + 0.1875) − 0.25²)/4 = (0.625 − 0.0625)/4 = 0.140625 → sd 0.375
    # half width = 1.96 · 0.375 · 100 = 73.5 → [−48.5, 98.5]
    result = nps([10], interval="adjusted-wald")
    assert result.score == 100.0  # the score itself never changes with the interval
    assert result.interval == "adjusted-wald"
    assert result.ci_low == pytest.approx(-48.5, abs=EXACT)
    assert result.ci_high == pytest.approx(98.5, abs=EXACT)
    # A single detractor mirrors it.
    mirrored = nps([3], interval="adjusted-wald")
    assert mirrored.ci_low == pytest.approx(-98.5, abs=EXACT)
    assert mirrored.ci_high == pytest.approx(48.5, abs=EXACT)


def test_all_detractors() -> None:
    result = nps([0, 3, 6, 6])
    assert (result.score, result.promoters, result.passives, result.detractors, result.n) == (
        -100.0,
        0,
        0,
        4,
        4,
    )
    assert (result.ci_low, result.ci_high) == (-100.0, -100.0)
    assert result.detractor_share == 1.0


def test_all_promoters() -> None:
    result = nps([9, 10, 10])
    assert (result.score, result.promoters, result.n) == (100.0, 3, 3)
    assert (result.ci_low, result.ci_high) == (100.0, 100.0)


def test_a_mix_with_a_worked_interval() -> None:
    # 25 answers: 15 promoters, 5 passives, 5 detractors.
    # p = 15/25 = 0.6, d = 5/25 = 0.2 → NPS = 100·(0.6 − 0.2) = 40
    # variance = 100²·((0.6 + 0.2) − (0.6 − 0.2)²)/25 = 10000·(0.8 − 0.16)/25 = 256
    # sd = 16, half width = 1.96·16 = 31.36 → [8.64, 71.36]
    scores = [10] * 8 + [9] * 7 + [8] * 3 + [7] * 2 + [6, 5, 3, 1, 0]
    result = nps(scores)
    assert (result.promoters, result.passives, result.detractors, result.n) == (15, 5, 5, 25)
    assert result.score == pytest.approx(40.0, abs=EXACT)
    assert result.ci_low == pytest.approx(8.64, abs=EXACT)
    assert result.ci_high == pytest.approx(71.36, abs=EXACT)
    assert result.promoter_share == 0.6
    assert result.passive_share == 0.2
    assert result.detractor_share == 0.2


def test_the_interval_is_clipped_to_the_scores_range() -> None:
    # 3 promoters, 1 passive: p = 0.75, d = 0 → NPS 75
    # variance = 100²·(0.75 − 0.75²)/4 = 10000·0.1875/4 = 468.75, sd = 21.6506…
    # half width = 1.96·21.6506… = 42.4352… → [32.5648…, 117.4352…] → upper clipped to 100
    result = nps([10, 10, 9, 8])
    assert result.score == 75.0
    assert result.ci_low == pytest.approx(75 - 1.96 * math.sqrt(468.75), abs=EXACT)
    assert result.ci_low == pytest.approx(32.56475521456251, abs=EXACT)
    assert result.ci_high == 100.0


def test_class_boundaries() -> None:
    # 6 detracts, 7 and 8 are passive, 9 promotes: 1 − 1 = 0 out of 4.
    result = nps([6, 7, 8, 9])
    assert (result.detractors, result.passives, result.promoters, result.score) == (1, 2, 1, 0.0)


def test_accepts_arrays_series_generators_and_integral_floats() -> None:
    expected = nps([10, 9, 3])
    assert nps(np.array([10, 9, 3], dtype=np.int8)) == expected
    assert nps(pd.Series([10, 9, 3])) == expected
    assert nps(score for score in (10, 9, 3)) == expected
    # A join that leaves gaps turns the column into floats; 9.0 is still a 9.
    assert nps(pd.Series([10.0, 9.0, 3.0])) == expected


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ([9, 11], "NPS score 11 is outside 0–10"),
        ([-1], "NPS score -1 is outside 0–10"),
        ([9, 9.5], "NPS score 9.5 is not an integer"),
        ([float("nan")], "NPS score nan is not an integer"),
        (pd.Series([9, None], dtype="Int64"), "NPS score nan is not an integer"),
        ([10, None], "NPS score None is not an integer"),
        (["9"], "NPS score '9' is not an integer"),
        ([True], "NPS score True is not an integer"),
        (np.array([3, 12], dtype=np.uint8), "NPS score 12 is outside 0–10"),
    ],
)
def test_bad_answers_are_refused_by_value(scores: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        nps(scores)  # type: ignore[arg-type]


def test_a_bare_string_is_not_a_list_of_answers() -> None:
    with pytest.raises(TypeError, match="not str"):
        nps("9")


def test_counts_and_answers_agree() -> None:
    assert nps_from_counts(15, 5, 5) == nps([10] * 15 + [8] * 5 + [0] * 5)
    assert nps_from_counts(0, 0, 0).score is None
    with pytest.raises(ValueError, match="promoters must be a non-negative integer"):
        nps_from_counts(-1, 0, 0)
    with pytest.raises(ValueError, match="unknown interval method"):
        nps_from_counts(1, 0, 0, interval="bootstrap")  # type: ignore[arg-type]

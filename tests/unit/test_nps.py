"""NPS and its 95 % interval, against answers a CS leader can count on paper.

The default interval is Rocks's (2016) adjusted Wald: 3/4 of an answer added to promoters
and to detractors and 3 to n, then score ± 1.96·sqrt(100²·((p + d) − (p − d)²)/n) on the
adjusted shares, clipped to [−100, 100]. `interval="wald"` applies the same formula to the
raw shares. Below NPS_MIN_N answers there is no interval. Whether the intervals cover the
true score 95 % of the time is checked in test_interval_coverage.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics_core.surveys.nps import NPS_MIN_N, NpsResult, nps, nps_from_counts

EXACT = 1e-9


def test_no_answers_is_no_score_not_zero() -> None:
    result = nps([])
    assert result == NpsResult(
        score=None, promoters=0, passives=0, detractors=0, n=0, ci_low=None, ci_high=None
    )
    assert result.promoter_share is None
    assert result.detractor_share is None
    assert not result.too_few_for_interval
    assert nps([], interval="wald").score is None
    assert nps([], interval="wald").ci_low is None


@pytest.mark.parametrize("interval", ["adjusted-wald", "wald"])
def test_one_answer_is_a_score_with_too_few_answers_for_an_interval(interval: str) -> None:
    # A single detractor used to read "NPS −100 (95 % interval −100 to −100, n = 1)":
    # certainty out of one answer. Now the score stands alone and says why.
    result = nps([0], interval=interval)  # type: ignore[arg-type]
    assert (result.score, result.n, result.detractors) == (-100.0, 1, 1)
    assert (result.ci_low, result.ci_high) == (None, None)
    assert result.too_few_for_interval


def test_the_minimum_n_is_where_intervals_start() -> None:
    below = nps([10] * (NPS_MIN_N - 1))
    assert below.score == 100.0
    assert below.too_few_for_interval
    assert below.ci_low is None
    at = nps([10] * NPS_MIN_N)
    assert not at.too_few_for_interval
    assert at.ci_low is not None and at.ci_high is not None


def test_five_promoters_a_worked_adjusted_wald_interval() -> None:
    # Adjusted: P' = 5.75, D' = 0.75, n' = 8 → p' = 0.71875, d' = 0.09375
    # centre = 100·(0.71875 − 0.09375) = 62.5
    # variance = ((0.71875 + 0.09375) − 0.625²)/8 = (0.8125 − 0.390625)/8 = 0.052734375
    # half width = 1.96·100·sqrt(0.052734375) = 45.0094… → [17.4906…, 107.5094…] → upper 100
    result = nps([10, 10, 9, 9, 10])
    assert result.score == 100.0  # the score itself never changes with the interval
    assert result.interval == "adjusted-wald"
    assert result.ci_low == pytest.approx(62.5 - 196 * math.sqrt(0.052734375), abs=EXACT)
    assert result.ci_low == pytest.approx(17.490626, abs=1e-6)
    assert result.ci_high == 100.0


def test_every_answer_a_detractor_plain_wald_claims_certainty_the_default_does_not() -> None:
    answers = [0, 3, 6, 6, 5]
    assert nps(answers).detractor_share == 1.0
    wald = nps(answers, interval="wald")
    # p = 0, d = 1: variance 100²·((0 + 1) − (0 − 1)²)/5 = 0, so Wald says [−100, −100].
    assert (wald.score, wald.ci_low, wald.ci_high) == (-100.0, -100.0, -100.0)
    default = nps(answers)
    # Mirror of five promoters: [−100, −17.4906…].
    assert default.ci_low == -100.0
    assert default.ci_high == pytest.approx(-17.490626, abs=1e-6)


def test_a_mix_with_worked_intervals() -> None:
    # 25 answers: 15 promoters, 5 passives, 5 detractors.
    # p = 15/25 = 0.6, d = 5/25 = 0.2 → NPS = 100·(0.6 − 0.2) = 40
    scores = [10] * 8 + [9] * 7 + [8] * 3 + [7] * 2 + [6, 5, 3, 1, 0]
    result = nps(scores)
    assert (result.promoters, result.passives, result.detractors, result.n) == (15, 5, 5, 25)
    assert result.score == pytest.approx(40.0, abs=EXACT)
    assert result.promoter_share == 0.6
    assert result.passive_share == 0.2
    assert result.detractor_share == 0.2
    # Wald: variance = 100²·((0.6 + 0.2) − (0.6 − 0.2)²)/25 = 10000·(0.8 − 0.16)/25 = 256
    # sd = 16, half width = 1.96·16 = 31.36 → [8.64, 71.36]
    wald = nps(scores, interval="wald")
    assert wald.score == result.score
    assert wald.ci_low == pytest.approx(8.64, abs=EXACT)
    assert wald.ci_high == pytest.approx(71.36, abs=EXACT)
    # Adjusted: P' = 15.75, D' = 5.75, n' = 28 → p' = 0.5625, d' = 0.2053571…
    # centre = 100·(0.5625 − 0.2053571) = 35.714286
    # variance = ((0.5625 + 0.2053571) − 0.3571429²)/28 = 0.6403061/28 = 0.0228681
    # half width = 1.96·100·sqrt(0.0228681) = 29.6395… → [6.0748…, 65.3538…]
    p, d = 15.75 / 28, 5.75 / 28
    half = 196 * math.sqrt(((p + d) - (p - d) ** 2) / 28)
    assert result.ci_low == pytest.approx(100 * (p - d) - half, abs=EXACT)
    assert result.ci_low == pytest.approx(6.074785, abs=1e-6)
    assert result.ci_high == pytest.approx(65.353786, abs=1e-6)


def test_the_interval_is_clipped_to_the_scores_range() -> None:
    # 4 promoters, 1 passive, plain Wald: p = 0.8, d = 0 → NPS 80
    # variance = 100²·(0.8 − 0.8²)/5 = 10000·0.16/5 = 320, sd = 17.8885…
    # half width = 1.96·17.8885… = 35.0615… → [44.9385…, 115.0615…] → upper clipped to 100
    result = nps([10, 10, 9, 9, 8], interval="wald")
    assert result.score == 80.0
    assert result.ci_low == pytest.approx(80 - 1.96 * math.sqrt(320), abs=EXACT)
    assert result.ci_low == pytest.approx(44.938454, abs=1e-6)
    assert result.ci_high == 100.0


def test_every_possible_sample_gets_an_interval_around_its_score_never_zero_width() -> None:
    for n in range(NPS_MIN_N, 41):
        for promoters in range(n + 1):
            for detractors in range(n + 1 - promoters):
                result = nps_from_counts(promoters, n - promoters - detractors, detractors)
                assert result.score is not None
                assert result.ci_low is not None and result.ci_high is not None
                assert result.ci_low < result.ci_high, result
                assert result.ci_low <= result.score <= result.ci_high, result


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

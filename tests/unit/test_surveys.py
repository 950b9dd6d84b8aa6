"""CSAT, CES, monthly trends, breakdowns and verbatims, against hand-worked answers."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pandas as pd
import pytest

from metrics_core.store.models import SurveyKind
from metrics_core.surveys.nps import nps
from metrics_core.surveys.scores import (
    CES_MIN_N,
    CSAT_MIN_N,
    CesResult,
    CsatResult,
    GroupResult,
    TrendPoint,
    agresti_coull_interval,
    breakdown,
    ces,
    csat,
    latest_detractors,
    monthly_trend,
    wilson_interval,
)

EXACT = 1e-9
UTC = dt.UTC


def at(
    year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


# --- CSAT -------------------------------------------------------------------------------


def test_csat_without_answers() -> None:
    assert csat([]) == CsatResult(score=None, satisfied=0, n=0, ci_low=None, ci_high=None)
    assert csat([]).share is None
    assert not csat([]).too_few_for_interval


def test_csat_a_worked_agresti_coull_interval() -> None:
    # 10 answers, 8 of them 4 or 5 → CSAT 80 %.
    # Agresti–Coull: z² = 3.8416, ñ = 10 + 3.8416 = 13.8416
    # p̃ = (8 + 3.8416/2)/13.8416 = 9.9208/13.8416 = 0.716738
    # half = 1.96·sqrt(0.716738·0.283262/13.8416) = 1.96·0.121111 = 0.237376
    # → [0.479362, 0.954114], i.e. 47.94 % to 95.41 %.
    result = csat([5, 5, 4, 4, 5, 4, 5, 4, 3, 1])
    assert (result.n, result.satisfied, result.score, result.share) == (10, 8, 80.0, 0.8)
    assert result.ci_low == pytest.approx(47.93616684113086, abs=EXACT)
    assert result.ci_high == pytest.approx(95.41142303287213, abs=EXACT)


def test_csat_everyone_satisfied_is_not_certainty() -> None:
    # 5 of 5: ñ = 8.8416, p̃ = 6.9208/8.8416 = 0.782754,
    # half = 1.96·sqrt(0.782754·0.217246/8.8416) = 0.271818 → [0.510936, 1.0546] → [51.09 %, 100 %]
    result = csat([5, 4, 5, 5, 4])
    assert (result.score, result.n) == (100.0, CSAT_MIN_N)
    assert result.ci_low == pytest.approx(51.09357601385582, abs=EXACT)
    assert result.ci_high == 100.0


def test_csat_below_the_minimum_n_has_a_score_but_too_few_answers_for_an_interval() -> None:
    one = csat([5])
    assert (one.score, one.n, one.ci_low, one.ci_high) == (100.0, 1, None, None)
    assert one.too_few_for_interval
    four = csat([5, 4, 3, 5][: CSAT_MIN_N - 1])
    assert four.too_few_for_interval
    assert four.ci_low is None


def test_csat_three_is_not_satisfied_four_is() -> None:
    assert csat([3, 4]).satisfied == 1


def test_agresti_coull_and_wilson_intervals_directly() -> None:
    low, high = agresti_coull_interval(8, 10)
    assert low == pytest.approx(0.4793616684113086, abs=EXACT)
    assert high == pytest.approx(0.9541142303287213, abs=EXACT)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.49015684672072335, abs=EXACT)
    assert high == pytest.approx(0.9433190520193067, abs=EXACT)
    for interval in (agresti_coull_interval, wilson_interval):
        with pytest.raises(ValueError, match="successes"):
            interval(3, 2)


def test_every_possible_csat_sample_gets_an_interval_around_its_score_never_zero_width() -> None:
    for n in range(CSAT_MIN_N, 61):
        for satisfied in range(n + 1):
            result = csat([5] * satisfied + [1] * (n - satisfied))
            assert result.score is not None
            assert result.ci_low is not None and result.ci_high is not None
            assert result.ci_low < result.ci_high, result
            assert result.ci_low <= result.score <= result.ci_high, result


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ([0], "CSAT score 0 is outside 1–5"),
        ([6], "CSAT score 6 is outside 1–5"),
        ([4.5], "CSAT score 4.5 is not an integer"),
    ],
)
def test_csat_refuses_answers_off_the_scale(scores: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        csat(scores)


# --- CES --------------------------------------------------------------------------------


def test_ces_without_answers_and_with_one() -> None:
    assert ces([]) == CesResult(score=None, n=0, sd=None, ci_low=None, ci_high=None)
    # One answer has no spread to estimate: mean only, no interval.
    assert ces([5]) == CesResult(score=5.0, n=1, sd=None, ci_low=None, ci_high=None)
    assert ces([5]).too_few_for_interval


def test_ces_two_identical_answers_are_too_few_for_an_interval_not_a_zero_width_one() -> None:
    # Used to read "CES 4.0 of 7 (95 % CI 4.0–4.0, n = 2)".
    result = ces([4, 4])
    assert (result.score, result.n, result.sd) == (4.0, 2, 0.0)
    assert (result.ci_low, result.ci_high) == (None, None)
    assert result.too_few_for_interval
    assert ces([2, 6, 4, 5][: CES_MIN_N - 1]).ci_low is None


def test_ces_a_worked_interval_on_the_pooled_variance() -> None:
    # 3, 4, 5, 6, 7: mean 5; squared deviations 4, 1, 0, 1, 4 → s² = 10/4 = 2.5
    # pooled with one pseudo-answer of variance 1.5² = 2.25: (4·2.5 + 2.25)/5 = 2.45
    # se = sqrt(2.45/5) = 0.7; t(0.975, 4 df) = 2.776445 → half width 1.943512
    # → [3.056488, 6.943512]
    result = ces([3, 4, 5, 6, 7])
    assert (result.score, result.n) == (5.0, 5)
    assert result.sd == pytest.approx(1.5811388300841898, abs=EXACT)
    assert result.ci_low == pytest.approx(3.056488426361545, abs=EXACT)
    assert result.ci_high == pytest.approx(6.943511573638455, abs=EXACT)


def test_ces_identical_answers_still_get_an_honest_width() -> None:
    # 6, 6, 6, 6, 6: s² = 0, pooled (0 + 2.25)/5 = 0.45, se = sqrt(0.45/5) = 0.3
    # half width = 2.776445·0.3 = 0.832934 → [5.167066, 6.832934], not [6, 6].
    result = ces([6, 6, 6, 6, 6])
    assert (result.score, result.sd) == (6.0, 0.0)
    assert result.ci_low == pytest.approx(5.167066468440662, abs=EXACT)
    assert result.ci_high == pytest.approx(6.832933531559338, abs=EXACT)


def test_ces_interval_is_clipped_to_the_scale() -> None:
    # 7, 7, 7, 7, 6: mean 6.8, s² = (4·0.04 + 0.64)/4 = 0.2, pooled (0.8 + 2.25)/5 = 0.61
    # half width = 2.776445·sqrt(0.61/5) = 0.969771 → [5.830229, 7.769771] → upper 7.
    result = ces([7, 7, 7, 7, 6])
    assert result.ci_low == pytest.approx(5.830229416044409, abs=EXACT)
    assert result.ci_high == 7.0


def test_every_possible_ces_sample_of_the_minimum_size_gets_a_non_zero_width_interval() -> None:
    for n in (CES_MIN_N, CES_MIN_N + 1):
        for answers in itertools.combinations_with_replacement(range(1, 8), n):
            result = ces(answers)
            assert result.score is not None
            assert result.ci_low is not None and result.ci_high is not None
            assert result.ci_low < result.ci_high, (answers, result)
            assert result.ci_low <= result.score <= result.ci_high, (answers, result)


@pytest.mark.parametrize("bad", [0, 8])
def test_ces_refuses_answers_off_the_scale(bad: int) -> None:
    with pytest.raises(ValueError, match=f"^CES score {bad} is outside 1–7$"):
        ces([4, bad])


# --- monthly trend ----------------------------------------------------------------------


def test_month_boundaries_are_utc_calendar_months() -> None:
    plus_one = dt.timezone(dt.timedelta(hours=1))
    responses = frame(
        [
            # 23:59:59 UTC on 31 January is still January …
            {"kind": "nps", "score": 10, "submitted_at": at(2024, 1, 31, 23, 59, 59)},
            # … and so is 00:30 on 1 February in UTC+1 (= 23:30 UTC on 31 January).
            {
                "kind": "nps",
                "score": 9,
                "submitted_at": dt.datetime(2024, 2, 1, 0, 30, tzinfo=plus_one),
            },
            # Midnight UTC on 1 February is February.
            {"kind": "nps", "score": 0, "submitted_at": at(2024, 2, 1, 0, 0, 0)},
            # Leap day, last second: February.
            {"kind": "nps", "score": 8, "submitted_at": at(2024, 2, 29, 23, 59, 59)},
        ]
    )
    trend = monthly_trend(responses, "nps")
    assert [point.month for point in trend] == [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
    january, february = trend
    assert january.result == nps([10, 9])  # NPS 100 from 2 answers
    assert february.result == nps([0, 8])  # one detractor, one passive → −50
    assert (january.n, february.n, february.result.score) == (2, 2, -50.0)


def test_empty_months_are_shown_not_skipped_and_other_kinds_ignored() -> None:
    responses = frame(
        [
            {"kind": SurveyKind.NPS, "score": 9, "submitted_at": at(2025, 1, 10)},
            {"kind": "csat", "score": 1, "submitted_at": at(2025, 2, 10)},
            {"kind": "nps", "score": 3, "submitted_at": at(2025, 3, 10)},
        ]
    )
    trend = monthly_trend(responses, SurveyKind.NPS)
    assert [(p.month.month, p.n, p.result.score) for p in trend] == [
        (1, 1, 100.0),
        (2, 0, None),
        (3, 1, -100.0),
    ]


def test_a_window_lists_every_month_in_it() -> None:
    responses = frame(
        [
            {"kind": "csat", "score": 5, "submitted_at": at(2024, 12, 31, 23, 59, 59)},
            {"kind": "csat", "score": 5, "submitted_at": at(2025, 3, 1)},
            {"kind": "csat", "score": 2, "submitted_at": at(2025, 3, 2, 0, 0, 0)},
            {"kind": "csat", "score": 4, "submitted_at": at(2026, 1, 1, 0, 0, 0)},
        ]
    )
    trend = monthly_trend(responses, "csat", start=dt.date(2025, 1, 1), end=dt.date(2026, 1, 1))
    assert len(trend) == 12
    assert trend[0].month == dt.date(2025, 1, 1)
    assert trend[-1].month == dt.date(2025, 12, 1)
    # The answers on 31 Dec 2024 and 1 Jan 2026 fall outside [start, end).
    assert sum(point.n for point in trend) == 2
    march = trend[2]
    assert isinstance(march, TrendPoint)
    assert march.result == csat([5, 2])
    assert march.result.score == 50.0
    # A window ending mid-month keeps that month but only the answers before `end`:
    # the answer at 00:00 UTC on 2 March is already outside [.., 2 March).
    partial = monthly_trend(responses, "csat", start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 2))
    assert [(p.month.month, p.n) for p in partial] == [(1, 0), (2, 0), (3, 1)]
    assert partial[-1].result == csat([5])


def test_ces_trend_and_an_empty_frame() -> None:
    responses = frame([{"kind": "ces", "score": 6, "submitted_at": at(2025, 5, 5)}])
    (may,) = monthly_trend(responses, "ces")
    assert may.result == ces([6])
    empty = responses.iloc[:0]
    assert monthly_trend(empty, "ces") == ()
    window = monthly_trend(empty, "ces", start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 1))
    assert [(p.month, p.n) for p in window] == [(dt.date(2025, 1, 1), 0), (dt.date(2025, 2, 1), 0)]


def test_naive_timestamps_are_refused() -> None:
    responses = frame([{"kind": "nps", "score": 9, "submitted_at": dt.datetime(2025, 1, 31, 23)}])
    with pytest.raises(ValueError, match="timezone-naive"):
        monthly_trend(responses, "nps")


def test_missing_columns_and_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        monthly_trend(pd.DataFrame({"kind": ["nps"], "score": [9]}), "nps")
    with pytest.raises(ValueError, match="SurveyKind"):
        monthly_trend(frame([]), "sus")


# --- breakdown --------------------------------------------------------------------------


def _segment_responses() -> pd.DataFrame:
    when = at(2025, 6, 1)
    rows = [
        # Enterprise: 2 promoters, 1 detractor → (2 − 1)/3 = 33.3
        ("Enterprise", 10),
        ("Enterprise", 9),
        ("Enterprise", 2),
        # SMB: 1 promoter, 1 passive, 2 detractors → (1 − 2)/4 = −25
        ("SMB", 9),
        ("SMB", 7),
        ("SMB", 6),
        ("SMB", 0),
        # Mid-market: 1 promoter, 1 detractor → 0
        ("Mid-market", 10),
        ("Mid-market", 5),
        # No account matched: 1 passive → 0, a smaller group than Mid-market
        (None, 8),
    ]
    return frame(
        [{"kind": "nps", "score": s, "segment": g, "submitted_at": when} for g, s in rows]
        + [{"kind": "csat", "score": 5, "segment": "SMB", "submitted_at": when}]
    )


def test_breakdown_by_segment_worst_first() -> None:
    groups = breakdown(_segment_responses(), "nps", "segment")
    assert [(g.group, g.n, g.result.score) for g in groups] == [
        ("SMB", 4, -25.0),
        ("Mid-market", 2, 0.0),  # ties with the unmatched group on score; larger n first
        (None, 1, 0.0),
        ("Enterprise", 3, pytest.approx(100 / 3)),
    ]
    assert groups[0] == GroupResult("SMB", nps([9, 7, 6, 0]))
    assert sum(g.n for g in groups) == 10  # the CSAT row is not an NPS answer


def test_breakdown_of_ces_by_owner() -> None:
    when = at(2025, 6, 1)
    responses = frame(
        [
            {"kind": "ces", "score": 7, "owner": "U0CSM1", "submitted_at": when},
            {"kind": "ces", "score": 5, "owner": "U0CSM1", "submitted_at": when},
            {"kind": "ces", "score": 2, "owner": "U0CSM2", "submitted_at": when},
        ]
    )
    groups = breakdown(responses, SurveyKind.CES, "owner")
    assert [(g.group, g.result.score) for g in groups] == [("U0CSM2", 2.0), ("U0CSM1", 6.0)]
    with pytest.raises(ValueError, match="lacks column"):
        breakdown(responses, "ces", "segment")


# --- verbatims --------------------------------------------------------------------------


def _verbatim_responses() -> pd.DataFrame:
    return frame(
        [
            {
                "id": "r1",
                "kind": "nps",
                "score": 2,
                "comment": "Too slow",
                "submitted_at": at(2025, 3, 1),
            },
            {
                "id": "r2",
                "kind": "nps",
                "score": 6,
                "comment": "Support never answers",
                "submitted_at": at(2025, 3, 5),
            },
            {
                "id": "r3",
                "kind": "nps",
                "score": 0,
                "comment": "   ",
                "submitted_at": at(2025, 3, 9),
            },
            {
                "id": "r4",
                "kind": "nps",
                "score": 4,
                "comment": None,
                "submitted_at": at(2025, 3, 8),
            },
            {
                "id": "r5",
                "kind": "nps",
                "score": 7,
                "comment": "Fine I guess",
                "submitted_at": at(2025, 3, 7),
            },
            {
                "id": "r6",
                "kind": "csat",
                "score": 1,
                "comment": "Awful call",
                "submitted_at": at(2025, 3, 6),
            },
            {
                "id": "r7",
                "kind": "nps",
                "score": 3,
                "comment": "Billing is confusing",
                # 02:00 on 4 March in UTC+5 is 21:00 UTC on 3 March.
                "submitted_at": dt.datetime(
                    2025, 3, 4, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))
                ),
            },
        ]
    )


def test_latest_detractors_newest_first_with_text_only() -> None:
    verbatims = latest_detractors(_verbatim_responses(), limit=10)
    # r3 (blank), r4 (no comment), r5 (passive) and r6 (CSAT) are not detractor verbatims.
    assert verbatims["id"].tolist() == ["r2", "r7", "r1"]
    assert verbatims["comment"].tolist() == [
        "Support never answers",
        "Billing is confusing",
        "Too slow",
    ]
    assert verbatims["submitted_at"].tolist()[1] == pd.Timestamp("2025-03-03 21:00", tz="UTC")
    assert list(verbatims.index) == [0, 1, 2]


def test_latest_detractors_limit() -> None:
    assert latest_detractors(_verbatim_responses(), limit=1)["id"].tolist() == ["r2"]
    assert len(latest_detractors(_verbatim_responses(), limit=0)) == 0
    with pytest.raises(ValueError, match="limit"):
        latest_detractors(_verbatim_responses(), limit=-1)
